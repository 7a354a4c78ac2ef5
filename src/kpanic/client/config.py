"""The client's configuration: ``/etc/kpanic/client.toml`` (or ``--config``/
``KPANIC_CLIENT_CONFIG``), command-line options override it.

Keys (all optional): ``server`` (URL), ``token_file``, ``send`` (consent: true lets
``kpanic collect`` send without ``--send``), ``scrub`` (default true), ``sources`` (a list of
source names), ``state_dir``, ``journal_boots``, ``since``, ``timeout`` (seconds),
``machine_id`` (default true: send an app-specific machine id, see kpanic.client.machine).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final

from kpanic.errors import KpanicError

SYSTEM_CONFIG: Final = Path("/etc/kpanic/client.toml")
ALL_SOURCES: Final = ("pstore", "systemd-pstore", "journal", "kdump", "syslog")


@dataclass(frozen=True, slots=True)
class ClientConfig:
    server: str | None = None
    token_file: str | None = None
    send: bool = False
    scrub: bool = True
    sources: tuple[str, ...] = ALL_SOURCES
    state_dir: str | None = None
    journal_boots: int = 3
    since: str | None = None
    timeout: float = 30.0
    journalctl: str = "journalctl"
    machine_id: bool = True
    origin: str = field(default="(defaults)", compare=False)

    def with_(self, **changes: Any) -> ClientConfig:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "server": (str,),
    "token_file": (str,),
    "send": (bool,),
    "scrub": (bool,),
    "sources": (list,),
    "state_dir": (str,),
    "journal_boots": (int,),
    "since": (str,),
    "timeout": (int, float),
    "journalctl": (str,),
    "machine_id": (bool,),
}


def check_sources(names: list[str] | tuple[str, ...], where: str) -> tuple[str, ...]:
    unknown = [n for n in names if n not in ALL_SOURCES]
    if unknown:
        raise KpanicError(
            f"{where}: unknown source(s) {', '.join(unknown)} (known: {', '.join(ALL_SOURCES)})"
        )
    return tuple(names)


def load(path: str | Path | None = None) -> ClientConfig:
    """The configuration in ``path``; without one, ``KPANIC_CLIENT_CONFIG`` or the system file
    when it exists, else the defaults."""
    explicit = path is not None or bool(os.environ.get("KPANIC_CLIENT_CONFIG"))
    target = Path(path or os.environ.get("KPANIC_CLIENT_CONFIG") or SYSTEM_CONFIG)
    if not explicit and not target.exists():
        return ClientConfig()
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KpanicError(f"{target}: no such file") from None
    except IsADirectoryError:
        raise KpanicError(f"{target}: is a directory") from None
    except OSError as exc:
        raise KpanicError(f"{target}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KpanicError(f"{target}: not valid TOML: {exc}") from None
    known = {f.name for f in fields(ClientConfig)} - {"origin"}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            names = ", ".join(sorted(known))
            raise KpanicError(f"{target}: unknown setting {key!r} (known: {names})")
        types = _TYPES[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            want = " or ".join(t.__name__ for t in types)
            raise KpanicError(f"{target}: {key} must be a {want}, not {value!r}")
        values[key] = value
    if "sources" in values:
        if not all(isinstance(s, str) for s in values["sources"]):
            raise KpanicError(f"{target}: sources must be a list of names")
        values["sources"] = check_sources(values["sources"], str(target))
    if "journal_boots" in values and not 0 <= values["journal_boots"] <= 100:
        raise KpanicError(f"{target}: journal_boots must be 0..100")
    return ClientConfig(**values, origin=str(target))


def state_dir(config: ClientConfig) -> Path:
    """Where the state file and the spool live (not created here)."""
    if config.state_dir:
        return Path(config.state_dir)
    env = os.environ.get("KPANIC_CLIENT_STATE_DIR")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/lib/kpanic")
    import platformdirs

    return Path(platformdirs.user_state_dir("kpanic", appauthor=False))


def read_token(config: ClientConfig, token: str | None) -> str | None:
    """The API token: ``--token``, else ``KPANIC_TOKEN``, else the configured token file."""
    if token:
        return token.strip()
    env = os.environ.get("KPANIC_TOKEN")
    if env:
        return env.strip()
    if config.token_file:
        p = Path(config.token_file)
        try:
            return p.read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise KpanicError(f"{p}: {exc.strerror or exc}") from None
    return None
