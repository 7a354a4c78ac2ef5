"""Plausibility checks on a payload read by our own sampler.

RS decoding near its limit (many erasures) can land on a wrong codeword. drm_panic payloads
have a rigid shape: one byte segment with an http(s) URL ending in ``z=``/``zl=`` followed by
one numeric segment, or one byte segment of printable ASCII and newlines, then 0xEC/0x11
padding. In URL mode the digits unpack to a zlib stream whose Adler-32 must match.
"""

from __future__ import annotations

import re
import zlib

from kpanic.errors import QRError
from kpanic.qr.image.segments import parse_segments

_URL = re.compile(r"https?://[\x21-\x7e]*z[l]?=\Z")
_PRINTABLE = re.compile(r"[\x20-\x7e\n]*\Z")
MAX_INFLATE = 1 << 20


def _legacy_width(k: int) -> int:
    return 0 if k == 0 else 1 if k <= 4 else 2 if k <= 7 else 3 if k <= 10 else 4


def digits_to_bytes(digits: str, legacy: bool) -> bytes | None:
    """Undo the kernel's digit packing (vectors' README); None if the digits cannot be it."""
    if legacy:
        guess = len(digits) * 13 // 32
        for n in range(max(0, guess - 3), guess + 4):
            full, k = divmod(8 * n, 13)
            if 4 * full + _legacy_width(k) != len(digits):
                continue
            value = 0
            for i in range(full):
                value = (value << 13) | int(digits[4 * i : 4 * i + 4])
            if k:
                tail = int(digits[4 * full :])
                if tail >= 1 << k:
                    return None
                value = (value << k) | tail
            return value.to_bytes(n, "big") if value < 1 << (8 * n) else None
        return None
    widths = {3: 1, 5: 2, 8: 3, 10: 4, 13: 5, 15: 6}
    out = bytearray()
    for i in range(0, len(digits), 17):
        piece = digits[i : i + 17]
        nbytes = 7 if len(piece) == 17 else widths.get(len(piece))
        if nbytes is None:
            return None
        try:
            out += int(piece).to_bytes(nbytes, "little")
        except OverflowError:
            return None
    return bytes(out)


def zlib_ok(data: bytes) -> bool:
    d = zlib.decompressobj()
    try:
        d.decompress(data, MAX_INFLATE)
    except zlib.error:
        return False
    return d.eof


def _padding_ok(data: bytes, version: int, text_bits: int) -> bool:
    start = (text_bits + 4 + 7) // 8
    pad = data[start:]
    if pad[:1] == b"\x00":  # segno adds a whole zero byte when the terminator ends a byte
        pad = pad[1:]
    return all(b == (0xEC, 0x11)[i % 2] for i, b in enumerate(pad))


def payload_checks(data: bytes, version: int) -> tuple[str, bool]:
    """(text, zlib verified) for a drm_panic-shaped payload; QRError when it is not one."""
    text, segs = parse_segments(data, version)
    modes = [m for m, _ in segs]
    if modes == ["byte"]:
        if not _PRINTABLE.match(text):
            raise QRError("raw payload holds bytes that are not printable ASCII")
        bits = 4 + (8 if version <= 9 else 16) + 8 * segs[0][1]
        if not _padding_ok(data, version, bits):
            raise QRError("padding after the data is not 0xEC/0x11")
        return text, False
    if modes == ["byte", "numeric"]:
        url, digits = text[: segs[0][1]], text[segs[0][1] :]
        if not _URL.match(url):
            raise QRError("byte segment is not a panic URL ending in z= or zl=")
        n = segs[1][1]
        nbits = 10 * (n // 3) + (0, 4, 7)[n % 3]
        cbits = 12 if version <= 26 else 14
        if version <= 9:
            cbits = 10
        bits = 4 + (8 if version <= 9 else 16) + 8 * segs[0][1] + 4 + cbits + nbits
        if not _padding_ok(data, version, bits):
            raise QRError("padding after the data is not 0xEC/0x11")
        raw = digits_to_bytes(digits, legacy=url.endswith("zl=")) if digits.isdigit() else None
        return text, raw is not None and zlib_ok(raw)
    raise QRError(f"segments {modes} are not what drm_panic writes")
