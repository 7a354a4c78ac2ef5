"""Parse QR data codewords into text, leniently where drm_panic needs it.

A conforming reader rejects a numeric group whose value is out of range (a 3-digit group
worth 1023), but v6.12-6.14 kernels draw exactly that when the legacy tail defect hits
(see the vectors' README). We print such a group as a plain decimal number, which is the
vectors' ``url_lenient`` form; the URL decoder repairs the tail from it.
"""

from __future__ import annotations

from kpanic.errors import QRError
from kpanic.qr import tables

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


class _Bits:
    """Most-significant-bit-first reader over a byte string."""

    def __init__(self, data: bytes) -> None:
        self.value = int.from_bytes(data, "big") if data else 0
        self.total = 8 * len(data)
        self.pos = 0

    def left(self) -> int:
        return self.total - self.pos

    def take(self, n: int) -> int:
        if n > self.left():
            raise QRError(f"segment runs past the end of the data ({n} bits wanted)")
        self.pos += n
        return (self.value >> (self.total - self.pos)) & ((1 << n) - 1)


def _count_bits(mode: int, version: int) -> int:
    if mode == 0b0010:  # alphanumeric (Table 3)
        return 9 if version <= 9 else 11 if version <= 26 else 13
    if mode == 0b1000:  # kanji
        return 8 if version <= 9 else 10 if version <= 26 else 12
    return tables.count_bits(mode, version)


def _numeric(bits: _Bits, count: int) -> str:
    out: list[str] = []
    while count >= 3:
        out.append(f"{bits.take(10):03d}")  # > 999 is printed as is (legacy tail defect)
        count -= 3
    if count == 2:
        out.append(f"{bits.take(7):02d}")
    elif count == 1:
        out.append(str(bits.take(4)))
    return "".join(out)


def parse_segments(data: bytes, version: int) -> tuple[str, list[tuple[str, int]]]:
    """Decode the data codewords of a symbol to (text, [(mode name, char count), ...]).

    Byte segments map bytes 1:1 to characters (latin-1), so the text round-trips the bytes.
    Raises QRError on a structure no encoder writes (unknown mode, overlong count).
    """
    bits = _Bits(data)
    text: list[str] = []
    segs: list[tuple[str, int]] = []
    while bits.left() >= 4:
        mode = bits.take(4)
        if mode == 0:
            break
        if mode == tables.MODE_BYTE:
            count = bits.take(_count_bits(mode, version))
            if 8 * count > bits.left():
                raise QRError(f"byte segment of {count} bytes is longer than the data")
            text.append(bytes(bits.take(8) for _ in range(count)).decode("latin-1"))
            segs.append(("byte", count))
        elif mode == tables.MODE_NUMERIC:
            count = bits.take(_count_bits(mode, version))
            need = 10 * (count // 3) + (0, 4, 7)[count % 3]
            if need > bits.left():
                raise QRError(f"numeric segment of {count} digits is longer than the data")
            text.append(_numeric(bits, count))
            segs.append(("numeric", count))
        elif mode == 0b0010:
            count = bits.take(_count_bits(mode, version))
            chars: list[str] = []
            for _ in range(count // 2):
                v = bits.take(11)
                if v >= 45 * 45:
                    raise QRError("invalid alphanumeric pair")
                chars += [_ALNUM[v // 45], _ALNUM[v % 45]]
            if count % 2:
                v = bits.take(6)
                if v >= 45:
                    raise QRError("invalid alphanumeric character")
                chars.append(_ALNUM[v])
            text.append("".join(chars))
            segs.append(("alphanumeric", count))
        elif mode == 0b0111:  # ECI designator: drm_panic never writes one, skip its value
            first = bits.take(8)
            if first & 0x80:
                bits.take(8 if not first & 0x40 else 16)
        else:
            raise QRError(f"unsupported segment mode {mode:04b}")
    return "".join(text), segs
