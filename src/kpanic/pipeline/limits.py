"""Every content limit of intake, under one name each, read once from the environment.

Bytes on the wire are refused at the HTTP edge (the request body limit, upload sizes); what
the content decodes to is checked here, in the pipeline, by the stage that decodes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kpanic.errors import InputTooLarge
from kpanic.settings import Settings, get_settings


@dataclass(frozen=True, slots=True)
class Limits:
    max_url_chars: int  # a panic URL or QR payload, as text
    max_log_bytes: int  # a raw kernel log (text or uploaded file)
    max_photo_bytes: int  # a photo upload
    max_photo_pixels: int  # a photo's decoded size, read from its header before decoding
    max_kmsg_bytes: int  # the kernel log a URL or photo decompresses to (zip-bomb guard)
    photo_cpu_s: float  # CPU time one photo may use (its process is killed at the limit)
    scrub: bool  # scrub personal data before storing

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        max_photo_pixels: int = 40_000_000,
        max_kmsg_bytes: int = 1024 * 1024,
        photo_cpu_s: float = 10.0,
    ) -> Limits:
        settings = settings or get_settings()
        return cls(
            max_url_chars=settings.max_url_chars,
            max_log_bytes=settings.max_log_bytes,
            max_photo_bytes=settings.max_photo_bytes,
            max_photo_pixels=max_photo_pixels,
            max_kmsg_bytes=max_kmsg_bytes,
            photo_cpu_s=photo_cpu_s,
            scrub=settings.scrub,
        )

    def check_input_size(self, kind: str, data: str | bytes) -> None:
        """Refuse a submission's raw input over its limit (InputTooLarge, a 413): at the HTTP
        edge before it is queued, and again by the decode stage for inputs from elsewhere."""
        if kind == "url":
            n = len(data.strip()) if isinstance(data, str) else len(data)
            if n > self.max_url_chars:
                raise InputTooLarge(
                    f"the panic URL is {n} characters; the limit is {self.max_url_chars}"
                    " (KPANIC_MAX_URL_CHARS)"
                )
        elif kind == "photo":
            if len(data) > self.max_photo_bytes:
                raise InputTooLarge(
                    f"the photo is {len(data)} bytes; the limit is {self.max_photo_bytes}"
                    " (KPANIC_MAX_PHOTO_BYTES)"
                )
        else:
            size = (
                len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
            )
            if size > self.max_log_bytes:
                raise InputTooLarge(
                    f"the log is {size} bytes; the limit is {self.max_log_bytes} bytes"
                    " (KPANIC_MAX_LOG_BYTES)"
                )

    def settings(self, base: Settings | None = None) -> Settings:
        """These limits as store settings (for the store's ingest helpers)."""
        import dataclasses

        base = base or get_settings()
        return dataclasses.replace(
            base,
            max_url_chars=self.max_url_chars,
            max_log_bytes=self.max_log_bytes,
            max_photo_bytes=self.max_photo_bytes,
            scrub=self.scrub,
        )
