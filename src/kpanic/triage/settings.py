"""Triage settings from the environment: the MAINTAINERS file, SMTP, links in notifications.

- ``KPANIC_MAINTAINERS``: path of a kernel ``MAINTAINERS`` file; subsystems of groups are
  computed from it (``POST /api/v1/owners/refresh``, ``kpanic owners refresh``, and the
  dispatcher for groups that have none yet). Unset: no subsystems.
- ``KPANIC_BASE_URL``: the service's public URL, used for group links in notifications, mails
  and feeds (default ``http://localhost:8000``; the web pages use the request's own URL).
- ``KPANIC_SMTP_HOST`` (unset: no e-mail), ``KPANIC_SMTP_PORT`` (25), ``KPANIC_SMTP_FROM``
  (``kpanic@localhost``), ``KPANIC_SMTP_STARTTLS`` (``1`` to upgrade the connection),
  ``KPANIC_SMTP_USER`` and ``KPANIC_SMTP_PASSWORD_FILE`` (a file holding the password, so it
  never appears in the environment or in a process listing).
- ``KPANIC_NOTIFY_INTERVAL``: seconds between dispatcher rounds (default 60): the digest
  interval. ``KPANIC_NOTIFY_IN_SERVICE=1`` runs the dispatcher in each service process.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from kpanic.errors import KpanicError
from kpanic.triage.deliver import MailSettings
from kpanic.triage.maintainers import Maintainers, load_maintainers

__all__ = ["TriageSettings", "maintainers_at"]

DEFAULT_BASE_URL = "http://localhost:8000"


def _int(name: str, default: int, lo: int, hi: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise KpanicError(f"{name} must be an integer, not {raw!r}") from None
    if not lo <= value <= hi:
        raise KpanicError(f"{name} must be between {lo} and {hi}, not {value}")
    return value


@dataclass(frozen=True)
class TriageSettings:
    maintainers_path: Path | None = None
    base_url: str = DEFAULT_BASE_URL
    mail: MailSettings | None = None
    notify_interval: int = 60

    @classmethod
    def from_env(cls) -> TriageSettings:
        path = os.environ.get("KPANIC_MAINTAINERS", "").strip()
        return cls(
            maintainers_path=Path(path).expanduser() if path else None,
            base_url=os.environ.get("KPANIC_BASE_URL", "").strip() or DEFAULT_BASE_URL,
            mail=mail_from_env(),
            notify_interval=_int("KPANIC_NOTIFY_INTERVAL", 60, 1, 86400),
        )

    def maintainers(self) -> Maintainers | None:
        """The parsed MAINTAINERS file (re-read when it changes), or None when unset."""
        if self.maintainers_path is None:
            return None
        return maintainers_at(self.maintainers_path)


def mail_from_env() -> MailSettings | None:
    host = os.environ.get("KPANIC_SMTP_HOST", "").strip()
    if not host:
        return None
    password = None
    pw_file = os.environ.get("KPANIC_SMTP_PASSWORD_FILE", "").strip()
    if pw_file:
        try:
            password = Path(pw_file).expanduser().read_text().strip()
        except OSError as exc:
            raise KpanicError(f"KPANIC_SMTP_PASSWORD_FILE: cannot read {pw_file}: {exc}") from None
    starttls = os.environ.get("KPANIC_SMTP_STARTTLS", "").strip().lower() in ("1", "true", "yes")
    return MailSettings(
        host=host,
        port=_int("KPANIC_SMTP_PORT", 25, 1, 65535),
        sender=os.environ.get("KPANIC_SMTP_FROM", "").strip() or "kpanic@localhost",
        starttls=starttls,
        username=os.environ.get("KPANIC_SMTP_USER", "").strip() or None,
        password=password,
    )


_CACHE: dict[Path, tuple[float, int, Maintainers]] = {}
_LOCK = threading.Lock()


def maintainers_at(path: Path) -> Maintainers:
    """Load ``path`` once per modification (a clear KpanicError when it cannot be read)."""
    try:
        st = path.stat()
    except OSError as exc:
        raise KpanicError(f"MAINTAINERS file {path}: {exc.strerror or exc}") from None
    with _LOCK:
        hit = _CACHE.get(path)
        if hit is not None and hit[0] == st.st_mtime and hit[1] == st.st_size:
            return hit[2]
    try:
        parsed = load_maintainers(path)
    except (OSError, ValueError) as exc:
        raise KpanicError(f"MAINTAINERS file {path}: {exc}") from None
    with _LOCK:
        _CACHE[path] = (st.st_mtime, st.st_size, parsed)
    return parsed
