"""Service configuration: where the data lives, which database, size limits, scrub default.

Everything comes from the environment (so several ``kpanic serve`` processes configured the same
way agree) with explicit arguments taking precedence. The store and the web layer both read it.

Environment variables:

- ``KPANIC_DATA_DIR``: data directory (default: the per-user data dir from platformdirs).
- ``KPANIC_DATABASE_URL``: SQLAlchemy URL; default ``sqlite:///<data dir>/kpanic.db``.
  PostgreSQL: ``postgresql+psycopg://user@host/db`` (``postgresql://`` is accepted and mapped
  to psycopg 3).
- ``KPANIC_SCRUB``: ``1``/``0`` - scrub personal data from public intake (default on).
- ``KPANIC_SAMPLE_LIMIT``: full reports kept per group besides the latest (default 20).
- ``KPANIC_MAX_LOG_BYTES``, ``KPANIC_MAX_URL_CHARS``, ``KPANIC_MAX_PHOTO_BYTES``: input limits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import platformdirs

from kpanic.errors import KpanicError

APP_NAME = "kpanic"

DEFAULT_SAMPLE_LIMIT = 20
DEFAULT_MAX_LOG_BYTES = 2 * 1024 * 1024  # a full dmesg with a few oopses fits easily
DEFAULT_MAX_URL_CHARS = 64 * 1024  # the largest QR (version 40) payload URL is ~7 KB
DEFAULT_MAX_PHOTO_BYTES = 25 * 1024 * 1024  # a 48 MP phone JPEG/HEIC
# Pieces of one crash (a QR tail, then the full log) are joined when they arrive within this
# many hours of each other (kpanic.store.join); 0 turns joining off.
DEFAULT_JOIN_WINDOW_HOURS = 7 * 24


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise KpanicError(f"{name} must be 1 or 0, not {raw!r}")


def _env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise KpanicError(f"{name} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise KpanicError(f"{name} must be at least {minimum}, not {value}")
    return value


def data_dir() -> Path:
    """The data directory (``KPANIC_DATA_DIR`` or the per-user data dir); not created here."""
    env = os.environ.get("KPANIC_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def normalize_database_url(url: str) -> str:
    """Map plain ``postgresql://`` / ``postgres://`` URLs to the psycopg 3 driver."""
    url = url.strip()
    if not url:
        raise KpanicError("the database URL is empty")
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if not (url.startswith("sqlite") or url.startswith("postgresql+")):
        raise KpanicError(
            f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql+psycopg://..."
        )
    return url


def resolve_database_url(url: str | None = None) -> str:
    """The database to use: explicit ``url`` (``--db``), else the env, else SQLite in data_dir."""
    if url:
        return normalize_database_url(url)
    env = os.environ.get("KPANIC_DATABASE_URL")
    if env:
        return normalize_database_url(env)
    return f"sqlite:///{data_dir() / 'kpanic.db'}"


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved configuration; build it with :func:`get_settings`."""

    data_dir: Path
    database_url: str
    scrub: bool = True  # scrub personal data from public intake by default
    sample_limit: int = DEFAULT_SAMPLE_LIMIT
    max_log_bytes: int = DEFAULT_MAX_LOG_BYTES
    max_url_chars: int = DEFAULT_MAX_URL_CHARS
    max_photo_bytes: int = DEFAULT_MAX_PHOTO_BYTES
    join_window_hours: int = DEFAULT_JOIN_WINDOW_HOURS

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests, CLI flags)."""
        return replace(self, **changes)


def get_settings(database_url: str | None = None, **overrides: Any) -> Settings:
    """Resolve the settings from the environment; keyword arguments override single fields."""
    settings = Settings(
        data_dir=data_dir(),
        database_url=resolve_database_url(database_url),
        scrub=_env_bool("KPANIC_SCRUB", True),
        sample_limit=_env_int("KPANIC_SAMPLE_LIMIT", DEFAULT_SAMPLE_LIMIT),
        max_log_bytes=_env_int("KPANIC_MAX_LOG_BYTES", DEFAULT_MAX_LOG_BYTES, 1),
        max_url_chars=_env_int("KPANIC_MAX_URL_CHARS", DEFAULT_MAX_URL_CHARS, 1),
        max_photo_bytes=_env_int("KPANIC_MAX_PHOTO_BYTES", DEFAULT_MAX_PHOTO_BYTES, 1),
        join_window_hours=_env_int("KPANIC_JOIN_WINDOW_HOURS", DEFAULT_JOIN_WINDOW_HOURS),
    )
    return replace(settings, **overrides) if overrides else settings
