"""Limits and switches of the web service, kept in one place so tests can tighten them."""

from __future__ import annotations

import os
from dataclasses import dataclass


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


@dataclass(slots=True)
class WebConfig:
    """Every number that protects the service from hostile or accidental huge input."""

    # Request body sizes, raw-log and URL lengths come from kpanic.settings.Settings
    # (max_photo_bytes, max_log_bytes, max_url_chars), shared with the store and the CLI.
    # A panic URL or QR payload: a V40 code holds at most 7089 digits plus a URL of at most
    # 255 characters; the web intake is stricter than settings.max_url_chars (the CLI's).
    max_url_chars: int = 16 * 1024
    # Decoded photos larger than this many pixels are refused before decoding.
    max_photo_pixels: int = 40_000_000
    # The decompressed kernel log (zip-bomb guard).
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
    # Use the first X-Forwarded-For address as the client (only behind a trusted proxy).
    trust_forwarded_for: bool = False
    # Mark cookies Secure (set when served over HTTPS).
    secure_cookies: bool = False
    page_size: int = 50
    max_page_size: int = 500

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
        cfg.trust_forwarded_for = os.environ.get("KPANIC_TRUST_FORWARDED_FOR") == "1"
        cfg.secure_cookies = os.environ.get("KPANIC_SECURE_COOKIES") == "1"
        return cfg
