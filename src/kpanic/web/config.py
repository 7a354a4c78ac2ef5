"""Limits and switches of the web service, kept in one place so tests can tighten them.

SECURITY.md has the table of every limit (name, value, environment variable, where enforced);
keep it in step with this file (tests/security/test_limits_doc.py compares them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from kpanic.qr.sniff import MAX_PHOTO_PIXELS


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return int(value)


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return float(value)


def _env_list(name: str) -> tuple[str, ...]:
    value = os.environ.get(name) or ""
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(slots=True)
class WebConfig:
    """Every number that protects the service from hostile or accidental huge input."""

    # Request body sizes, raw-log and URL lengths come from kpanic.settings.Settings
    # (max_photo_bytes, max_log_bytes, max_url_chars), shared with the store and the CLI.
    # A panic URL or QR payload: a V40 code holds at most 7089 digits plus a URL of at most
    # 255 characters; the web intake is stricter than settings.max_url_chars (the CLI's).
    max_url_chars: int = 16 * 1024
    # Decoded photos larger than this many pixels are refused before decoding (bigger JPEGs
    # are decoded at reduced size): the one limit of the CLI, import and web.
    max_photo_pixels: int = MAX_PHOTO_PIXELS
    # The decompressed kernel log of a panic URL (zip-bomb guard). A raw log is limited by
    # settings.max_log_bytes (2 MiB) instead: this one only ever applies to decompressed data.
    max_kmsg_bytes: int = 1024 * 1024
    # Wall-clock limit for decoding + parsing + classifying one submission (the URL preview).
    processing_timeout_s: float = 20.0
    # CPU time one photo may use in its worker (the decoding process is killed at the limit).
    photo_cpu_s: float = 10.0
    # How long the browser forms wait for the analysis before showing the "analysing" page.
    page_wait_s: float = 3.0
    # Run the workers as threads of the web process (tests; `kpanic serve` starts processes).
    embedded_workers: bool = False
    # Flood control for public intake: ``rate_limit`` submissions per ``rate_window_s``
    # seconds per client address, counted in the database so it holds across processes.
    rate_limit: int = 600
    rate_window_s: int = 60
    # The client address behind reverse proxies. X-Forwarded-For is read only when the peer
    # is a trusted proxy; the client is then the address the nearest trusted proxy appended,
    # walking the header from the right (never the client-chosen leftmost entry).
    # ``trusted_proxy_hops``: how many proxies in front of the service append to the header
    # (KPANIC_TRUST_FORWARDED_FOR=1 means 1); ``trusted_proxies``: their addresses or
    # networks (then the header is walked past every trusted address instead of counting).
    trusted_proxy_hops: int = 0
    trusted_proxies: tuple[str, ...] = ()
    # Browser submission routes refuse cross-site posts (Origin / Sec-Fetch-Site); these extra
    # origins (scheme://host[:port]) are accepted too, e.g. the public name behind a proxy.
    allowed_origins: tuple[str, ...] = ()
    # The per-installation secret keying the HMAC of client addresses (rate-limit counters).
    # Empty: read or create ``<data dir>/secret.key`` (KPANIC_SECRET_KEY overrides).
    secret_key: str = ""
    # Mark cookies Secure (set when served over HTTPS).
    secure_cookies: bool = False
    # An admin session made by the login form lasts this long (the cookie and its token).
    session_max_age_s: int = 8 * 3600
    page_size: int = 50
    max_page_size: int = 500
    server: ServerLimits = field(default_factory=lambda: ServerLimits())

    @property
    def trust_forwarded_for(self) -> bool:
        return self.trusted_proxy_hops > 0 or bool(self.trusted_proxies)

    @classmethod
    def from_env(cls) -> WebConfig:
        """Read overrides from KPANIC_* environment variables (used by ``kpanic serve``)."""
        cfg = cls()
        cfg.max_photo_pixels = _env_int("KPANIC_MAX_PHOTO_PIXELS", cfg.max_photo_pixels)
        cfg.max_kmsg_bytes = _env_int("KPANIC_MAX_KMSG_BYTES", cfg.max_kmsg_bytes)
        cfg.processing_timeout_s = _env_float("KPANIC_PROCESSING_TIMEOUT", cfg.processing_timeout_s)
        cfg.photo_cpu_s = _env_float("KPANIC_PHOTO_CPU_S", cfg.photo_cpu_s)
        cfg.page_wait_s = _env_float("KPANIC_PAGE_WAIT_S", cfg.page_wait_s)
        cfg.rate_limit = _env_int("KPANIC_RATE_LIMIT", cfg.rate_limit)
        cfg.rate_window_s = _env_int("KPANIC_RATE_WINDOW", cfg.rate_window_s)
        hops = 1 if os.environ.get("KPANIC_TRUST_FORWARDED_FOR") == "1" else 0
        cfg.trusted_proxy_hops = _env_int("KPANIC_TRUSTED_PROXY_HOPS", hops)
        cfg.trusted_proxies = _env_list("KPANIC_TRUSTED_PROXIES")
        cfg.allowed_origins = _env_list("KPANIC_ALLOWED_ORIGINS")
        cfg.secret_key = os.environ.get("KPANIC_SECRET_KEY", "")
        cfg.secure_cookies = os.environ.get("KPANIC_SECURE_COOKIES") == "1"
        cfg.session_max_age_s = _env_int("KPANIC_SESSION_MAX_AGE", cfg.session_max_age_s)
        cfg.server = ServerLimits.from_env()
        return cfg


@dataclass(slots=True)
class ServerLimits:
    """Limits of the HTTP server itself (enforced by kpanic.web.protocol inside uvicorn)."""

    # The request line plus all headers; more is answered 431.
    max_header_bytes: int = 16 * 1024
    # Header fields per request; more is answered 431.
    max_headers: int = 100
    # Time from connection (or the previous response) to the end of the request headers;
    # a slower client (slowloris) is answered 408 and disconnected.
    header_timeout_s: float = 10.0
    # Idle time allowed between requests on a keep-alive connection.
    keep_alive_s: int = 5
    # Open connections per server process: in total and from one client address.
    max_connections: int = 1000
    max_connections_per_client: int = 50
    # Whether the access log names the client address (off: it is a personal datum).
    access_log_client: bool = False

    @classmethod
    def from_env(cls) -> ServerLimits:
        lim = cls()
        lim.max_header_bytes = _env_int("KPANIC_MAX_HEADER_BYTES", lim.max_header_bytes)
        lim.max_headers = _env_int("KPANIC_MAX_HEADERS", lim.max_headers)
        lim.header_timeout_s = _env_float("KPANIC_HEADER_TIMEOUT", lim.header_timeout_s)
        lim.keep_alive_s = _env_int("KPANIC_KEEP_ALIVE", lim.keep_alive_s)
        lim.max_connections = _env_int("KPANIC_MAX_CONNECTIONS", lim.max_connections)
        lim.max_connections_per_client = _env_int(
            "KPANIC_MAX_CONNECTIONS_PER_CLIENT", lim.max_connections_per_client
        )
        lim.access_log_client = os.environ.get("KPANIC_ACCESS_LOG_CLIENT") == "1"
        return lim
