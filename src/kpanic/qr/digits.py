"""Bytes <-> decimal digits, the two ways drm_panic packs binary data into a numeric segment.

* ``fido2`` (Linux 6.15+, URL parameter ``z=``): 7 bytes, read little-endian, become 17 digits;
  a last chunk of 1..6 bytes becomes 3, 5, 8, 10, 13 or 15 digits.
* ``legacy`` (Linux 6.12-6.14, ``zl=``): 13 bits, most significant first, become 4 digits; a last
  group of k bits becomes 1 digit (k <= 4), 2 (k <= 7), 3 (k <= 10) or 4 digits. Those widths
  are one digit short for k = 4, 7 and 10 (the "tail defect", see ``legacy_kernel_groups``);
  ``fixed=True`` uses the corrected widths (as many digits as 2**k - 1 needs).

Decoding validates everything and raises PayloadError naming the offending digit position;
``legacy_repair_candidates`` inverts the kernel's defective tail so that codes hit by the bug can
still be recovered (the zlib checksum then picks the right candidate).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from kpanic.errors import PayloadError

FIDO2_DIGITS = (0, 3, 5, 8, 10, 13, 15, 17)  # digits for a chunk of 0..7 bytes
_FIDO2_LEN_OF = {d: n for n, d in enumerate(FIDO2_DIGITS)}
NUM_BITS = (0, 4, 7, 10)  # numeric-mode bits for a group of 0..3 digits
_POW10_U64 = np.array([10**i for i in range(16, -1, -1)], dtype=np.uint64)
_BITS13 = np.array([1 << i for i in range(12, -1, -1)], dtype=np.int64)

IntArray = npt.NDArray[np.int64]


# --------------------------------------------------------------------------- fido2


def fido2_digits(data: bytes) -> str:
    """The 6.15+ digit string of ``data``."""
    n_full, rest = divmod(len(data), 7)
    parts: list[str] = []
    if n_full:
        arr = np.frombuffer(data, dtype=np.uint8, count=7 * n_full).reshape(n_full, 7)
        padded = np.zeros((n_full, 8), dtype=np.uint8)
        padded[:, :7] = arr
        values = padded.view("<u8").ravel()
        digits = (values[:, None] // _POW10_U64[None, :]) % np.uint64(10)
        parts.append((digits.astype(np.uint8) + 48).tobytes().decode("ascii"))
    if rest:
        tail = int.from_bytes(data[7 * n_full :], "little")
        parts.append(f"{tail:0{FIDO2_DIGITS[rest]}d}")
    return "".join(parts)


def fido2_bytes(digits: str, *, offset: int = 0) -> bytes:
    """Inverse of ``fido2_digits``; ``offset`` is added to positions in error messages."""
    d = _digit_array(digits, offset)
    n_full, rest = divmod(len(d), 17)
    if rest not in _FIDO2_LEN_OF:
        raise PayloadError(
            f"{len(d)} digits cannot be a z= payload: the last group has {rest} digits "
            f"(valid: {', '.join(str(x) for x in FIDO2_DIGITS[:-1])})",
            position=offset + 17 * n_full,
        )
    out = bytearray()
    if n_full:
        block = d[: 17 * n_full].reshape(n_full, 17).astype(np.uint64)
        values = block @ _POW10_U64
        big = np.nonzero(values >= np.uint64(1 << 56))[0]
        if big.size:
            i = int(big[0])
            raise PayloadError(
                f"z= group {i + 1} is {digits[17 * i : 17 * i + 17]}, more than 7 bytes can hold",
                position=offset + 17 * i,
            )
        out += values.astype("<u8").view(np.uint8).reshape(n_full, 8)[:, :7].tobytes()
    if rest:
        n_bytes = _FIDO2_LEN_OF[rest]
        value = int(digits[17 * n_full :])
        if value >= 1 << (8 * n_bytes):
            raise PayloadError(
                f"final z= group {digits[17 * n_full :]} is more than {n_bytes} bytes can hold",
                position=offset + 17 * n_full,
            )
        out += value.to_bytes(n_bytes, "little")
    return bytes(out)


# --------------------------------------------------------------------------- legacy


def legacy_tail_digits(k: int, *, fixed: bool = False) -> int:
    """Digits used for a final group of ``k`` bits (0..12)."""
    if k == 0:
        return 0
    if fixed:
        return len(str((1 << k) - 1))
    return 1 if k == 1 else (k + 1) // 3  # the kernel's formula: 1,1,1,1,2,2,2,3,3,3,4,4


def legacy_digit_count(n_bytes: int, *, fixed: bool = False) -> int:
    q, k = divmod(8 * n_bytes, 13)
    return 4 * q + legacy_tail_digits(k, fixed=fixed)


def legacy_length(n_digits: int, *, fixed: bool = False) -> int | None:
    """The byte count whose legacy encoding has ``n_digits`` digits, or None."""
    guess = (n_digits * 13) // 32
    for n in range(max(0, guess - 3), guess + 4):
        if legacy_digit_count(n, fixed=fixed) == n_digits:
            return n
    return None


def _chunks13(data: bytes) -> tuple[IntArray, int, int]:
    """(values of the full 13-bit chunks, value of the last partial chunk, its bit count)."""
    q, k = divmod(8 * len(data), 13)
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    full = bits[: 13 * q].reshape(q, 13).astype(np.int64) @ _BITS13
    tail = 0
    for b in bits[13 * q :].tolist():
        tail = (tail << 1) | b
    return full, tail, k


def _format4(values: IntArray) -> str:
    if not len(values):
        return ""
    d = (values[:, None] // np.array([1000, 100, 10, 1], dtype=np.int64)[None, :]) % 10
    return (d.astype(np.uint8) + 48).tobytes().decode("ascii")


def legacy_digits(data: bytes, *, fixed: bool = True) -> str:
    """The legacy digit string of ``data`` with a correct tail.

    With ``fixed=False`` the kernel's tail width is used and a tail value too big for it raises
    ValueError: the kernel's real (defective) output is what ``legacy_kernel_groups`` gives.
    """
    full, tail, k = _chunks13(data)
    width = legacy_tail_digits(k, fixed=fixed)
    if k and tail >= 10**width:
        raise ValueError(f"tail value {tail} does not fit {width} digits (kernel tail defect)")
    return _format4(full) + (f"{tail:0{width}d}" if k else "")


def numeric_groups(digits: str) -> tuple[IntArray, IntArray]:
    """Numeric-mode groups (value, bit width) of a digit string: 3 digits per 10 bits."""
    d = np.frombuffer(digits.encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
    n_full, rest = divmod(len(d), 3)
    values = d[: 3 * n_full].reshape(n_full, 3) @ np.array([100, 10, 1], dtype=np.int64)
    widths = np.full(n_full, 10, dtype=np.int64)
    if rest:
        tail = int(digits[3 * n_full :])
        values = np.append(values, tail)
        widths = np.append(widths, NUM_BITS[rest])
    return values, widths


def legacy_kernel_groups(data: bytes) -> tuple[IntArray, IntArray, bool]:
    """The numeric groups exactly as the v6.12 encoder emits them, and whether the tail is hit.

    The kernel carries up to two digits between 13-bit chunks. For the final partial chunk of
    k bits it allots ``legacy_tail_digits(k)`` digits; when the value needs one more digit
    (k = 4, 7, 10) it still does the same arithmetic, so a group may exceed its range (an
    invalid numeric group) or spill into the previous digits (wrong digits). A 10-bit group
    may even reach 1027; its 11th bit is ORed into the byte before it by the bit writer, which
    the caller reproduces.
    """
    full, tail, k = _chunks13(data)
    digit_str = _format4(full)
    n_groups, carry_len = divmod(len(digit_str), 3)
    values, widths = numeric_groups(digit_str[: 3 * n_groups])
    extra: list[tuple[int, int]] = []
    carry = int(digit_str[3 * n_groups :]) if carry_len else 0
    hit = False
    if k:
        new = legacy_tail_digits(k)
        hit = tail >= 10**new
        if carry_len + new > 3:
            carry_len2 = carry_len + new - 3
            extra.append((carry * 10 ** (3 - carry_len) + tail // 10**carry_len2, 10))
            extra.append((tail % 10**carry_len2, NUM_BITS[carry_len2]))
        else:
            extra.append((carry * 10**new + tail, NUM_BITS[carry_len + new]))
    elif carry_len:
        extra.append((carry, NUM_BITS[carry_len]))
    if extra:
        values = np.append(values, [v for v, _ in extra])
        widths = np.append(widths, [w for _, w in extra])
    return values, widths, hit


def _digit_array(digits: str, offset: int) -> npt.NDArray[np.uint8]:
    raw = digits.encode("ascii", "replace")
    d = np.frombuffer(raw, dtype=np.uint8)
    bad = np.nonzero((d < 48) | (d > 57))[0]
    if bad.size:
        i = int(bad[0])
        raise PayloadError(
            f"non-digit character {digits[i]!r} in the numeric data", position=i + offset
        )
    return d - 48


def _bits_to_bytes(chunks: IntArray, tail: int, k: int) -> bytes:
    bits = ((chunks[:, None] >> np.arange(12, -1, -1, dtype=np.int64)[None, :]) & 1).ravel()
    if k:
        bits = np.append(bits, [(tail >> (k - 1 - i)) & 1 for i in range(k)])
    return np.packbits(bits.astype(np.uint8)).tobytes()


def legacy_bytes(digits: str, *, fixed: bool = False, offset: int = 0) -> bytes:
    """Decode a legacy digit string (kernel or fixed tail widths); strict about every group."""
    d = _digit_array(digits, offset)
    n = legacy_length(len(d), fixed=fixed)
    if n is None:
        raise PayloadError(
            f"{len(d)} digits cannot be a zl= payload (no byte length gives that digit count)",
            position=offset + len(d),
        )
    q, k = divmod(8 * n, 13)
    chunks = d[: 4 * q].reshape(q, 4).astype(np.int64) @ np.array([1000, 100, 10, 1])
    big = np.nonzero(chunks >= 8192)[0]
    if big.size:
        i = int(big[0])
        raise PayloadError(
            f"zl= group {digits[4 * i : 4 * i + 4]} is more than 13 bits can hold",
            position=offset + 4 * i,
        )
    tail = int(digits[4 * q :]) if k else 0
    if k and tail >= 1 << k:
        raise PayloadError(
            f"final zl= group {digits[4 * q :]} is more than its {k} bits can hold"
            " (the v6.12 tail defect?)",
            position=offset + 4 * q,
        )
    return _bits_to_bytes(chunks, tail, k)


def legacy_repair_candidates(text: str) -> list[bytes]:
    """Every input whose v6.12 encoding a scanner would read as ``text``.

    ``text`` is the digit part of a ``zl=`` URL as read from the symbol: either valid digits
    (the ``wrong_digits`` case) or the lenient reading where an out-of-range group is printed
    as a plain decimal number (``invalid_numeric``). The final groups mix up to two carried
    digits ``c`` of the last full chunk with the tail value ``t``; every (c, t) consistent with
    the groups read is returned, and the caller keeps the one whose zlib Adler-32 checks out.
    """
    if not text.isascii() or not text.isdigit():
        return []
    found: list[bytes] = []
    for n_digits in (len(text), len(text) - 1):
        n = legacy_length(n_digits)
        if n is None:
            continue
        q, k = divmod(8 * n, 13)
        if k == 0:
            continue
        new = legacy_tail_digits(k)
        n_groups, carry_len = divmod(4 * q, 3)
        prefix, rest = text[: 3 * n_groups], text[3 * n_groups :]
        for c, t, spill in _tail_solutions(rest, carry_len, new, k):
            prefixes = [prefix]
            if spill and prefix and int(prefix[-3:]) % 2 == 1:
                prefixes.append(prefix[:-3] + f"{int(prefix[-3:]) - 1:03d}")
            for pre in prefixes:
                full = pre + (f"{c:0{carry_len}d}" if carry_len else "")
                if len(full) != 4 * q:
                    continue
                chunks = np.frombuffer(full.encode(), dtype=np.uint8).astype(np.int64) - 48
                values = chunks.reshape(q, 4) @ np.array([1000, 100, 10, 1], dtype=np.int64)
                if (values >= 8192).any():
                    continue
                cand = _bits_to_bytes(values, t, k)
                if cand not in found:
                    found.append(cand)
    return found


def _group_fits(text: str, n_digits: int) -> bool:
    """A group of ``n_digits`` digits, or its lenient reading (an out-of-range plain number)."""
    if len(text) == n_digits:
        return True
    return len(text) == n_digits + 1 and text[0] != "0" and int(text) >= 10**n_digits


def _tail_solutions(rest: str, carry_len: int, new: int, k: int) -> list[tuple[int, int, bool]]:
    """(carry digits c, tail value t, spilled) pairs that the kernel turns into ``rest``."""
    out: list[tuple[int, int, bool]] = []
    fits = _group_fits
    if carry_len + new > 3:
        carry_len2 = carry_len + new - 3
        g1s, g2s = rest[:-carry_len2], rest[-carry_len2:]
        if not (fits(g1s, 3) and len(g2s) == carry_len2):
            return out
        g1, g2 = int(g1s), int(g2s)
        for c in range(10**carry_len):
            hi = g1 - c * 10 ** (3 - carry_len)
            t = hi * 10**carry_len2 + g2
            if hi >= 0 and t < 1 << k:
                out.append((c, t, False))
        return out
    width = carry_len + new
    if not fits(rest, width):
        return out
    g = int(rest)
    options = [(g, False)]
    if width == 3 and g + 1024 <= 1027:
        options.append((g + 1024, True))  # the 11th bit went into the previous byte
    for value, spill in options:
        for c in range(10**carry_len):
            t = value - c * 10**new
            if 0 <= t < 1 << k:
                out.append((c, t, spill))
    return out
