"""Errors shared by every layer. Each carries a message meant for the person who gave the input."""

from __future__ import annotations


class KpanicError(Exception):
    """Base class: a clear, user-facing error about bad input or an impossible request."""


class InputTooLarge(KpanicError):
    """An input (URL, upload, decompressed text, image) is over its configured limit."""


class QRError(KpanicError):
    """Anything that goes wrong encoding or decoding a QR code."""


class DoesNotFit(QRError):
    """The data does not fit in the largest allowed QR version (the kernel returns width 0)."""


class PayloadError(QRError):
    """A panic URL or its numeric payload is malformed, truncated or corrupt."""

    def __init__(self, message: str, *, position: int | None = None) -> None:
        self.position = position
        if position is not None:
            message = f"{message} (at character {position})"
        super().__init__(message)


class PhotoDecodeError(QRError):
    """No QR payload could be read from an image; ``reason`` is one of a few fixed words."""

    REASONS = (
        "not-an-image",
        "no-code-found",
        "too-damaged",
        "checksum-failed",
        "too-large",
        "foreign-code",  # only QR codes that are not a panic were read (``foreign`` = texts)
    )

    def __init__(self, reason: str, message: str) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        self.reason = reason
        self.foreign: list[str] = []
        super().__init__(message)
