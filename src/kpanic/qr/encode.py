"""QR encoder that reproduces drivers/gpu/drm/drm_panic_qr.rs module for module.

What makes drm_panic's symbols special (and why a general QR library cannot be used): EC level
L only, mask 0 without penalty scoring, a byte segment for the URL prefix followed by a numeric
segment carrying the binary data as decimal digits (two packings, see ``digits``), the kernel's
own version selection (the 4-bit terminator is not counted), and for Linux 6.12-6.14 a defect
in the last digit group that must be reproduced, not fixed, to be bit-exact.

``encode`` is the Python API (raises DoesNotFit); ``drm_panic_qr_generate`` mirrors the C entry
point, including its argument checks and its width-0 result, but checks every length against
the buffer it indexes instead of trusting it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from kpanic.errors import DoesNotFit, QRError
from kpanic.qr import digits as dg
from kpanic.qr import layout, rs, tables

Encoding = Literal["fido2", "legacy"]
ENCODINGS: Final = ("fido2", "legacy")
TailDefect = Literal["none", "wrong_digits", "invalid_numeric"]

# drm_panic_qr_generate() refuses smaller buffers: a V40 image needs 177 * 23 bytes, the
# data and EC codewords of V40 take 3706 bytes.
MIN_DATA_SIZE: Final = 4071
MIN_TMP_SIZE: Final = 3706
_PADDING: Final = (0xEC, 0x11)
_DIGITS_PER_WIDTH: Final = {10: 3, 7: 2, 4: 1}
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Segment:
    mode: Literal["byte", "numeric"]
    char_count: int


@dataclass(frozen=True)
class QrCode:
    """One encoded symbol. ``matrix[y, x] == 1`` is a dark module; no quiet zone."""

    version: int
    matrix: npt.NDArray[np.uint8] = field(repr=False)
    codewords: bytes = field(repr=False)
    segments: tuple[Segment, ...]
    text: str | None  # what a conforming reader returns; None if a numeric group is invalid
    text_lenient: str  # out-of-range numeric groups printed as plain decimal numbers
    url_prefix: str | None
    data: bytes = field(repr=False)
    encoding: Encoding
    legacy_fixed: bool = False
    tail_defect: TailDefect | None = None  # legacy URL mode only

    @property
    def width(self) -> int:
        return int(self.matrix.shape[0])

    def image_buffer(self) -> bytes:
        """The kernel's output buffer: 1 bit per module, set bit = light, rows byte-aligned."""
        return np.packbits(1 - self.matrix, axis=1).tobytes()

    def rows(self) -> list[str]:
        """One string of '0'/'1' per row, '1' = dark (the vectors' ``matrix`` format)."""
        return [(row + 48).tobytes().decode("ascii") for row in self.matrix]


def max_data_size(version: int, url_len: int) -> int:
    """drm_panic_qr_max_data_size(): conservative data budget for ``version`` and a URL length."""
    if not isinstance(version, int) or not isinstance(url_len, int):
        raise TypeError("version and url_len must be integers")
    if url_len < 0:
        raise ValueError(f"url_len must be >= 0, got {url_len}")
    if not 1 <= version <= 40:
        return 0
    cap = tables.data_codewords(version)
    if url_len > 0:
        if url_len + 5 >= cap:
            return 0
        return (cap - url_len - 5) * 39 // 40
    return cap - 3


drm_panic_qr_max_data_size = max_data_size  # the kernel's name for it


# --------------------------------------------------------------------------- segments


@dataclass(frozen=True)
class _Numeric:
    values: IntArray
    widths: IntArray
    char_count: int
    digits: str | None  # None when the groups do not spell a clean digit string
    hit: bool = False  # legacy tail defect triggered


def _numeric(data: bytes, encoding: Encoding, legacy_fixed: bool) -> _Numeric:
    if encoding == "fido2":
        text = dg.fido2_digits(data)
        values, widths = dg.numeric_groups(text)
        return _Numeric(values, widths, len(text), text)
    if encoding != "legacy":
        raise ValueError(f"unknown encoding {encoding!r} (expected one of {ENCODINGS})")
    if legacy_fixed:
        text = dg.legacy_digits(data, fixed=True)
        values, widths = dg.numeric_groups(text)
        return _Numeric(values, widths, len(text), text)
    values, widths, hit = dg.legacy_kernel_groups(data)
    count = dg.legacy_digit_count(len(data))
    return _Numeric(
        values, widths, count, None if hit else dg.legacy_digits(data, fixed=False), hit
    )


def _numeric_bits(char_count: int) -> int:
    return 10 * (char_count // 3) + dg.NUM_BITS[char_count % 3]


def _select_version(byte_len: int, numeric: _Numeric | None) -> int | None:
    """Version::from_segments: smallest version whose capacity holds all segments."""
    for version in range(1, 41):
        bits = 4 + tables.count_bits(tables.MODE_BYTE, version) + 8 * byte_len
        if numeric is not None:
            bits += 4 + tables.count_bits(tables.MODE_NUMERIC, version)
            bits += _numeric_bits(numeric.char_count)
        if bits <= tables.data_capacity_bits(version):
            return version
    return None


def _bitstream(values: IntArray, widths: IntArray, capacity: int) -> npt.NDArray[np.uint8]:
    """Bits of the pushed (value, width) items, written like EncodedMsg::push, cut to capacity.

    A value wider than its field keeps its low bits in place and ORs its excess into the
    bits before it, but only within the byte where the field starts (the kernel's ``|=`` on
    that byte, then ``as u8``); that is how the legacy tail defect spills.
    """
    total = int(widths.sum())
    starts = np.concatenate(([0], np.cumsum(widths)[:-1]))
    rep_values = np.repeat(values, widths)
    shift = np.repeat(starts + widths - 1, widths) - np.arange(total)
    bits = ((rep_values >> shift) & 1).astype(np.uint8)
    for i in np.nonzero(values >= (1 << widths))[0].tolist():
        excess = int(values[i]) >> int(widths[i])
        start = int(starts[i])
        for j in range(excess.bit_length()):
            pos = start - 1 - j
            if pos < start - start % 8:
                break
            bits[pos] |= (excess >> j) & 1
    if total < capacity:
        bits = np.concatenate((bits, np.zeros(capacity - total, dtype=np.uint8)))
    return bits[:capacity]


def _data_codewords(bits: npt.NDArray[np.uint8], used_bits: int, n_bytes: int) -> bytes:
    """Pack the bits; after the terminator and the zero bits to a byte boundary, 0xEC/0x11."""
    packed = bytearray(np.packbits(bits).tobytes())
    pad_from = min(-(-used_bits // 8), n_bytes)
    for i in range(pad_from, n_bytes):
        packed[i] = _PADDING[(i - pad_from) & 1]
    return bytes(packed)


def _numeric_text(
    bits: npt.NDArray[np.uint8], start: int, numeric: _Numeric
) -> tuple[str | None, str]:
    """What a reader gets from the numeric groups actually written (strict, lenient)."""
    if numeric.digits is not None:
        return numeric.digits, numeric.digits
    widths = numeric.widths.tolist()
    n_tail = min(len(widths), 4)  # only the last groups can be out of range or spilled into
    head = len(widths) - n_tail
    head_values = numeric.values[:head]
    strict: list[str] = []
    if head:
        d = (head_values[:, None] // np.array([100, 10, 1])[None, :]) % 10
        strict.append((d.astype(np.uint8) + 48).tobytes().decode("ascii"))
    lenient = list(strict)
    pos = start + 10 * head
    valid = True
    for w in widths[head:]:
        value = int("".join("1" if b else "0" for b in bits[pos : pos + w].tolist()), 2)
        pos += w
        n_digits = _DIGITS_PER_WIDTH[w]
        if value < 10**n_digits:
            strict.append(f"{value:0{n_digits}d}")
            lenient.append(f"{value:0{n_digits}d}")
        else:
            valid = False
            lenient.append(str(value))
    return ("".join(strict) if valid else None), "".join(lenient)


# --------------------------------------------------------------------------- codewords


@lru_cache(maxsize=64)
def _block_plan(version: int) -> tuple[int, int, int, int]:
    """(ec per block, blocks in group 1, group-1 block size, blocks in group 2)."""
    ec, groups = tables.EC_BLOCKS_L[version]
    g1_blocks, g1_size = groups[0]
    g2_blocks = groups[1][0] if len(groups) > 1 else 0
    return ec, g1_blocks, g1_size, g2_blocks


def _interleave(version: int, data: bytes) -> bytes:
    """Data codewords + EC codewords in the order they are placed (EncodedMsgIterator)."""
    ec_len, n1, k1, n2 = _block_plan(version)
    blocks = n1 + n2
    arr = np.frombuffer(data, dtype=np.uint8)
    # Right-aligned copy for the division (a leading zero does not change the remainder),
    # left-aligned copy for interleaving.
    rs_in = np.zeros((blocks, k1 + 1), dtype=np.uint8)
    left = np.zeros((blocks, k1 + 1), dtype=np.uint8)
    g1 = arr[: n1 * k1].reshape(n1, k1)
    rs_in[:n1, 1:] = g1
    left[:n1, :k1] = g1
    if n2:
        g2 = arr[n1 * k1 :].reshape(n2, k1 + 1)
        rs_in[n1:] = g2
        left[n1:] = g2
    ec = rs.ec_codewords(rs_in if n2 else rs_in[:, 1:], ec_len)
    interleaved = left[:, :k1].T.ravel()
    if n2:
        interleaved = np.concatenate((interleaved, left[n1:, k1]))
    return interleaved.tobytes() + ec.T.ravel().tobytes()


def _ec_in_block_order(version: int, data: bytes) -> bytes:
    """EC codewords block after block, as EncodedMsg leaves them in its buffer."""
    n_data = tables.data_codewords(version)
    ec_len, n1, k1, n2 = _block_plan(version)
    inter = _interleave(version, data)
    ec = np.frombuffer(inter[n_data:], dtype=np.uint8).reshape(ec_len, n1 + n2)
    return ec.T.ravel().tobytes()


# --------------------------------------------------------------------------- matrix


@lru_cache(maxsize=64)
def _template(
    version: int,
) -> tuple[
    npt.NDArray[np.uint8], npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.uint8]
]:
    """(fixed modules incl. format/version info, data rows, data cols, mask-0 at data modules)."""
    values, _ = layout.function_modules(version)
    base = values.copy()
    fmt = tables.format_word(0)
    for copy in layout.format_positions(version):
        for i, (r, c) in enumerate(copy):
            base[r, c] = (fmt >> (14 - i)) & 1
    n = tables.size(version)
    base[n - 8, 8] = 1  # the dark module
    if version >= 7:
        word = tables.version_word(version)
        for copy in layout.version_positions(version):
            for i, (r, c) in enumerate(copy):
                base[r, c] = (word >> i) & 1
    pos = np.array(layout.data_positions(version), dtype=np.intp)
    rows, cols = pos[:, 0].copy(), pos[:, 1].copy()
    mask = layout.mask0_array(version)[rows, cols].astype(np.uint8)
    for a in (base, rows, cols, mask):
        a.setflags(write=False)
    return base, rows, cols, mask


def _draw(version: int, codewords: bytes) -> npt.NDArray[np.uint8]:
    base, rows, cols, mask = _template(version)
    bits = np.zeros(len(rows), dtype=np.uint8)
    payload = np.unpackbits(np.frombuffer(codewords, dtype=np.uint8))
    bits[: len(payload)] = payload  # remainder modules stay light before masking
    matrix = base.copy()
    matrix[rows, cols] = bits ^ mask
    return matrix


# --------------------------------------------------------------------------- API


def _as_prefix(url_prefix: str | bytes | None) -> tuple[bytes | None, str | None]:
    if url_prefix is None:
        return None, None
    raw = url_prefix.encode("utf-8") if isinstance(url_prefix, str) else bytes(url_prefix)
    if b"\x00" in raw:
        raise QRError("the URL prefix contains a NUL byte (the kernel passes a C string)")
    return raw, raw.decode("utf-8", "replace")


def encode(
    data: bytes,
    url_prefix: str | bytes | None = None,
    *,
    encoding: Encoding = "fido2",
    legacy_fixed: bool = False,
    max_version: int = 40,
) -> QrCode:
    """Encode like drm_panic_qr_generate(): URL mode when ``url_prefix`` is given, else raw.

    Raises DoesNotFit when the data does not fit version ``max_version`` (the kernel's width 0
    for 40). ``legacy_fixed`` gives the v6.12 packing with correct tail digits instead of the
    kernel's defective ones.
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r} (expected one of {ENCODINGS})")
    if not 1 <= max_version <= 40:
        raise ValueError(f"max_version must be 1..40, got {max_version}")
    data = bytes(data)
    prefix, prefix_text = _as_prefix(url_prefix)
    numeric = _numeric(data, encoding, legacy_fixed) if prefix is not None else None
    byte_payload = prefix if prefix is not None else data
    version = _select_version(len(byte_payload), numeric)
    if version is None or version > max_version:
        limit = f"version {max_version}" if max_version < 40 else "a version 40 QR code"
        raise DoesNotFit(f"{len(data)} bytes of data do not fit in {limit}")

    mode_b, mode_n = tables.MODE_BYTE, tables.MODE_NUMERIC
    head = [mode_b, len(byte_payload)]
    head_w = [4, tables.count_bits(mode_b, version)]
    segments = [Segment("byte", len(byte_payload))]
    parts_v: list[IntArray] = [np.array(head, dtype=np.int64)]
    parts_w: list[IntArray] = [np.array(head_w, dtype=np.int64)]
    parts_v.append(np.frombuffer(byte_payload, dtype=np.uint8).astype(np.int64))
    parts_w.append(np.full(len(byte_payload), 8, dtype=np.int64))
    numeric_start = 0
    if numeric is not None:
        count_w = tables.count_bits(mode_n, version)
        parts_v.append(np.array([mode_n, numeric.char_count], dtype=np.int64))
        parts_w.append(np.array([4, count_w], dtype=np.int64))
        numeric_start = 4 + head_w[1] + 8 * len(byte_payload) + 4 + count_w
        parts_v.append(numeric.values)
        parts_w.append(numeric.widths)
        segments.append(Segment("numeric", numeric.char_count))
    parts_v.append(np.zeros(1, dtype=np.int64))  # terminator
    parts_w.append(np.array([4], dtype=np.int64))
    values, widths = np.concatenate(parts_v), np.concatenate(parts_w)

    n_data = tables.data_codewords(version)
    # Defensive: version selection guarantees both, but a count that overflowed its field or
    # a payload cut short would silently corrupt the symbol.
    counts = [(len(byte_payload), head_w[1])]
    if numeric is not None:
        counts.append((numeric.char_count, tables.count_bits(mode_n, version)))
    for count, field_bits in counts:
        if count >= 1 << field_bits:
            raise QRError(f"character count {count} overflows its {field_bits}-bit field")
    if int(widths[:-1].sum()) > 8 * n_data:
        raise QRError("internal error: the segments overflow the chosen version")
    bits = _bitstream(values, widths, 8 * n_data)
    data_cw = _data_codewords(bits, int(widths.sum()), n_data)
    codewords = _interleave(version, data_cw)
    matrix = _draw(version, codewords)
    matrix.setflags(write=False)

    defect: TailDefect | None = None
    if numeric is None:
        lenient = data.decode("latin-1")
        text: str | None = lenient
    else:
        digits_strict, digits_lenient = _numeric_text(bits, numeric_start, numeric)
        assert prefix_text is not None
        text = None if digits_strict is None else prefix_text + digits_strict
        lenient = prefix_text + digits_lenient
        if encoding == "legacy" and not legacy_fixed:
            defect = (
                "none" if not numeric.hit else "invalid_numeric" if text is None else "wrong_digits"
            )
    return QrCode(
        version=version,
        matrix=matrix,
        codewords=codewords,
        segments=tuple(segments),
        text=text,
        text_lenient=lenient,
        url_prefix=prefix_text,
        data=data,
        encoding=encoding,
        legacy_fixed=legacy_fixed,
        tail_defect=defect,
    )


def drm_panic_qr_generate(
    url: str | bytes | None,
    data: bytearray,
    data_len: int,
    data_size: int,
    tmp: bytearray,
    tmp_size: int,
    *,
    encoding: Encoding = "fido2",
) -> int:
    """The C entry point: returns the width (0 if refused or too big) and writes like it.

    On success ``data[:data_size]`` holds the image buffer (then zeros) and ``tmp[:tmp_size]``
    the data codewords followed by the EC codewords block by block (then zeros). Unlike the C
    caller's contract, the sizes are not trusted: a ``data_size``/``tmp_size`` larger than the
    buffer, or a negative length, raises QRError instead of touching memory it does not own.
    """
    for name, value in (("data_len", data_len), ("data_size", data_size), ("tmp_size", tmp_size)):
        if not isinstance(value, int) or value < 0:
            raise QRError(f"{name} must be a non-negative integer, got {value!r}")
    if data_size > len(data):
        raise QRError(f"data_size {data_size} is larger than the data buffer ({len(data)} bytes)")
    if tmp_size > len(tmp):
        raise QRError(f"tmp_size {tmp_size} is larger than the tmp buffer ({len(tmp)} bytes)")
    if data_size < MIN_DATA_SIZE or tmp_size < MIN_TMP_SIZE or data_len > data_size:
        return 0
    try:
        code = encode(bytes(data[:data_len]), url, encoding=encoding)
    except DoesNotFit:
        return 0
    n_data = tables.data_codewords(code.version)
    data_cw = _deinterleave_data(code.version, code.codewords)
    tmp[:tmp_size] = bytes(tmp_size)
    tmp[:n_data] = data_cw
    ec = _ec_in_block_order(code.version, data_cw)
    tmp[n_data : n_data + len(ec)] = ec
    image = code.image_buffer()
    data[:data_size] = bytes(data_size)
    data[: len(image)] = image
    return code.width


def _deinterleave_data(version: int, codewords: bytes) -> bytes:
    _, n1, k1, n2 = _block_plan(version)
    blocks = n1 + n2
    left = np.zeros((blocks, k1 + 1), dtype=np.uint8)
    inter = np.frombuffer(codewords, dtype=np.uint8)
    left[:, :k1] = inter[: blocks * k1].reshape(k1, blocks).T
    if n2:
        left[n1:, k1] = inter[blocks * k1 : blocks * k1 + n2]
    out = left[:n1, :k1].ravel().tobytes()
    return out + (left[n1:].ravel().tobytes() if n2 else b"")
