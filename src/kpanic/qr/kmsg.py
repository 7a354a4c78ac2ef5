"""What drm_panic.c does between the kernel log and the QR encoder.

URL mode (``CONFIG_DRM_PANIC_SCREEN_QR_CODE_URL`` set): build the URL prefix, take the newest
kmsg records that fit ``min(3 * max_qr_data_size, 8868)`` bytes, deflate them (level 6, window
4 KiB, memLevel 4) and, while the result is too big, drop the oldest line and deflate again.
Raw mode: the newest records that fit ``min(max_data_size(version, 0), 8868)`` bytes go into
one byte segment as they are. Reproducing this exactly lets kpanic regenerate the very symbol a
given kernel drew, and tests check it against the ``kmsg`` vectors byte for byte.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from kpanic.errors import DoesNotFit, InputTooLarge, QRError
from kpanic.qr.encode import Encoding, QrCode, encode, max_data_size

QR_BUFFER_SIZE: Final = 8868  # drm_panic.c's second buffer (kmsg dump / scratch)
URL_BUFFER_SIZE: Final = 256  # char url[256] in drm_panic_get_qr_code_url()
DEFAULT_QR_VERSION: Final = 40  # CONFIG_DRM_PANIC_SCREEN_QR_VERSION
MAX_LOG_BYTES: Final = 16 * 1024 * 1024  # refuse absurd inputs before splitting them
URL_PARAM: Final[dict[str, str]] = {"fido2": "z", "legacy": "zl"}


@dataclass(frozen=True)
class KmsgQr:
    """A symbol built from a log the way drm_panic.c does, with how it got there."""

    code: QrCode
    url_prefix: str | None
    data: bytes  # what was handed to the encoder (zlib stream, or the kmsg itself)
    kmsg: bytes  # the text that was finally compressed (URL mode) or encoded (raw mode)
    max_qr_data_size: int | None
    max_kmsg_size: int
    kmsg_dumped_len: int
    skipped_lines: int


def _as_bytes(log: str | bytes) -> bytes:
    raw = log.encode("utf-8", "surrogateescape") if isinstance(log, str) else bytes(log)
    if len(raw) > MAX_LOG_BYTES:
        raise InputTooLarge(f"log of {len(raw)} bytes is over the {MAX_LOG_BYTES}-byte limit")
    return raw


def kmsg_dump_get_buffer(log: str | bytes, size: int) -> bytes:
    """The newest whole records (lines) of ``log`` whose total length is at most ``size - 1``."""
    if size < 1:
        return b""
    raw = _as_bytes(log)
    parts = raw.split(b"\n")  # records end in '\n' only; a stray '\r' stays inside its line
    records = [p + b"\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    budget = size - 1
    taken = 0
    first = len(records)
    for i in range(len(records) - 1, -1, -1):
        if taken + len(records[i]) > budget:
            break
        taken += len(records[i])
        first = i
    return b"".join(records[first:])


def deflate(text: bytes, *, wbits: int = 12, mem_level: int = 4) -> bytes:
    """zlib stream with the kernel's settings: level 6, window 2**wbits, memLevel 4.

    ``wbits=15, mem_level=8`` gives Python's ``zlib.compress()`` defaults instead.
    """
    comp = zlib.compressobj(6, zlib.DEFLATED, wbits, mem_level, zlib.Z_DEFAULT_STRATEGY)
    return comp.compress(text) + comp.flush()


def build_url(
    base: str,
    *,
    arch: str,
    kernel: str,
    encoding: Encoding = "fido2",
    distro: str | None = None,
) -> str:
    """``base?a=<arch>&v=<release>[&d=<distro>]&z=`` (``&zl=`` for the legacy packing).

    The kernel pastes utsname fields unescaped; kpanic percent-escapes only characters that
    would break the URL, so ordinary values come out identical. ``d=`` sits before the data
    parameter so that the digits stay last, as the numeric segment requires.
    """
    if encoding not in URL_PARAM:
        raise ValueError(f"unknown encoding {encoding!r}")
    safe = "-._~+:,@!$()*/"
    url = f"{base}?a={quote(arch, safe=safe)}&v={quote(kernel, safe=safe)}"
    if distro:
        url += f"&d={quote(distro, safe=safe)}"
    url += f"&{URL_PARAM[encoding]}="
    if len(url.encode("utf-8")) >= URL_BUFFER_SIZE:
        raise InputTooLarge(
            f"the URL prefix is {len(url.encode('utf-8'))} bytes; drm_panic builds it in a "
            f"{URL_BUFFER_SIZE}-byte buffer (at most {URL_BUFFER_SIZE - 1} characters)"
        )
    return url


def url_mode(
    log: str | bytes,
    url_prefix: str,
    *,
    encoding: Encoding = "fido2",
    qr_version: int = DEFAULT_QR_VERSION,
    wbits: int = 12,
    mem_level: int = 4,
    legacy_fixed: bool = False,
) -> KmsgQr:
    """drm_panic_get_qr_code_url(): dump, compress, drop oldest lines until it fits, encode."""
    prefix_len = len(url_prefix.encode("utf-8"))
    if prefix_len >= URL_BUFFER_SIZE:
        raise InputTooLarge(f"URL prefix of {prefix_len} bytes does not fit drm_panic's buffer")
    max_qr = max_data_size(qr_version, prefix_len)
    if max_qr <= 0:
        raise DoesNotFit(f"a {prefix_len}-byte URL leaves no room for data in version {qr_version}")
    max_kmsg = min(3 * max_qr, QR_BUFFER_SIZE)
    dumped = kmsg_dump_get_buffer(log, max_kmsg)
    text = dumped
    skipped = 0
    while True:
        compressed = deflate(text, wbits=wbits, mem_level=mem_level)
        if len(compressed) <= max_qr:
            break
        cut = text.find(b"\n")
        if cut < 0:
            raise DoesNotFit("the last log line alone does not fit the QR code once compressed")
        text = text[cut + 1 :]
        skipped += 1
    code = encode(compressed, url_prefix, encoding=encoding, legacy_fixed=legacy_fixed)
    return KmsgQr(code, url_prefix, compressed, text, max_qr, max_kmsg, len(dumped), skipped)


def raw_mode(log: str | bytes, *, qr_version: int = DEFAULT_QR_VERSION) -> KmsgQr:
    """drm_panic_get_qr_code_raw(): the newest records, uncompressed, in one byte segment."""
    max_kmsg = min(max_data_size(qr_version, 0), QR_BUFFER_SIZE)
    if max_kmsg <= 0:
        raise QRError(f"QR version {qr_version} is outside 1..40")
    dumped = kmsg_dump_get_buffer(log, max_kmsg)
    code = encode(dumped, None)
    return KmsgQr(code, None, dumped, dumped, None, max_kmsg, len(dumped), 0)
