"""QR Code Model 2 tables, as needed by drm_panic (error correction level L only).

Every table cites the clause of ISO/IEC 18004:2015 it implements. Values that can be
derived (total codewords, remainder bits, format and version words) are computed from the
spec's formulas rather than typed in, and tests check them against the published numbers.
"""

from __future__ import annotations

from typing import Final

MIN_VERSION: Final = 1
MAX_VERSION: Final = 40

# ISO/IEC 18004:2015, 7.4.1 and Table 2: mode indicators (4 bits).
MODE_NUMERIC: Final = 0b0001
MODE_BYTE: Final = 0b0100

# Table 9, level L only: (EC codewords per block, [(blocks, data codewords per block), ...]).
EC_BLOCKS_L: Final[dict[int, tuple[int, tuple[tuple[int, int], ...]]]] = {
    1: (7, ((1, 19),)),
    2: (10, ((1, 34),)),
    3: (15, ((1, 55),)),
    4: (20, ((1, 80),)),
    5: (26, ((1, 108),)),
    6: (18, ((2, 68),)),
    7: (20, ((2, 78),)),
    8: (24, ((2, 97),)),
    9: (30, ((2, 116),)),
    10: (18, ((2, 68), (2, 69))),
    11: (20, ((4, 81),)),
    12: (24, ((2, 92), (2, 93))),
    13: (26, ((4, 107),)),
    14: (30, ((3, 115), (1, 116))),
    15: (22, ((5, 87), (1, 88))),
    16: (24, ((5, 98), (1, 99))),
    17: (28, ((1, 107), (5, 108))),
    18: (30, ((5, 120), (1, 121))),
    19: (28, ((3, 113), (4, 114))),
    20: (28, ((3, 107), (5, 108))),
    21: (28, ((4, 116), (4, 117))),
    22: (28, ((2, 111), (7, 112))),
    23: (30, ((4, 121), (5, 122))),
    24: (30, ((6, 117), (4, 118))),
    25: (26, ((8, 106), (4, 107))),
    26: (28, ((10, 114), (2, 115))),
    27: (30, ((8, 122), (4, 123))),
    28: (30, ((3, 117), (10, 118))),
    29: (30, ((7, 116), (7, 117))),
    30: (30, ((5, 115), (10, 116))),
    31: (30, ((13, 115), (3, 116))),
    32: (30, ((17, 115),)),
    33: (30, ((17, 115), (1, 116))),
    34: (30, ((13, 115), (6, 116))),
    35: (30, ((12, 121), (7, 122))),
    36: (30, ((6, 121), (14, 122))),
    37: (30, ((17, 122), (4, 123))),
    38: (30, ((4, 122), (18, 123))),
    39: (30, ((20, 117), (4, 118))),
    40: (30, ((19, 118), (6, 119))),
}

# Annex E, Table E.1: row/column coordinates of alignment pattern centres.
ALIGNMENT_POSITIONS: Final[dict[int, tuple[int, ...]]] = {
    1: (),
    2: (6, 18),
    3: (6, 22),
    4: (6, 26),
    5: (6, 30),
    6: (6, 34),
    7: (6, 22, 38),
    8: (6, 24, 42),
    9: (6, 26, 46),
    10: (6, 28, 50),
    11: (6, 30, 54),
    12: (6, 32, 58),
    13: (6, 34, 62),
    14: (6, 26, 46, 66),
    15: (6, 26, 48, 70),
    16: (6, 26, 50, 74),
    17: (6, 30, 54, 78),
    18: (6, 30, 56, 82),
    19: (6, 30, 58, 86),
    20: (6, 34, 62, 90),
    21: (6, 28, 50, 72, 94),
    22: (6, 26, 50, 74, 98),
    23: (6, 30, 54, 78, 102),
    24: (6, 28, 54, 80, 106),
    25: (6, 32, 58, 84, 110),
    26: (6, 30, 58, 86, 114),
    27: (6, 34, 62, 90, 118),
    28: (6, 26, 50, 74, 98, 122),
    29: (6, 30, 54, 78, 102, 126),
    30: (6, 26, 52, 78, 104, 130),
    31: (6, 30, 56, 82, 108, 134),
    32: (6, 34, 60, 86, 112, 138),
    33: (6, 30, 58, 86, 114, 142),
    34: (6, 34, 62, 90, 118, 146),
    35: (6, 30, 54, 78, 102, 126, 150),
    36: (6, 24, 50, 76, 102, 128, 154),
    37: (6, 28, 54, 80, 106, 132, 158),
    38: (6, 32, 58, 84, 110, 136, 162),
    39: (6, 26, 54, 82, 110, 138, 166),
    40: (6, 30, 58, 86, 114, 142, 170),
}


# 7.4.2, Table 3: character count indicator widths, by version range.
def count_bits(mode: int, version: int) -> int:
    """Width of the character count field for ``mode`` in ``version`` (Table 3)."""
    _check_version(version)
    small, medium = version <= 9, version <= 26
    if mode == MODE_NUMERIC:
        return 10 if small else 12 if medium else 14
    if mode == MODE_BYTE:
        return 8 if small else 16
    raise ValueError(f"unsupported mode {mode:#06b}")


def _check_version(version: int) -> None:
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise ValueError(f"QR version must be 1..40, got {version}")


def size(version: int) -> int:
    """Modules per side (6.3.1): 17 + 4 * version."""
    _check_version(version)
    return 17 + 4 * version


def data_codewords(version: int) -> int:
    """Number of data codewords at level L (Table 7 / Table 9)."""
    _, groups = EC_BLOCKS_L[version]
    return sum(n * k for n, k in groups)


def ec_codewords(version: int) -> int:
    """Total error-correction codewords at level L."""
    ec, groups = EC_BLOCKS_L[version]
    return ec * sum(n for n, _ in groups)


def data_capacity_bits(version: int) -> int:
    return 8 * data_codewords(version)


def block_layout(version: int) -> list[tuple[int, int]]:
    """Per block, in order: (data codewords, EC codewords) (6.6, Table 9)."""
    ec, groups = EC_BLOCKS_L[version]
    return [(k, ec) for n, k in groups for _ in range(n)]


# 7.9.1: format information, BCH(15,5) with generator 0x537, masked with 0x5412.
EC_LEVEL_BITS_L: Final = 0b01


def _bch_remainder(value: int, poly: int) -> int:
    degree = poly.bit_length() - 1
    value <<= degree
    while value.bit_length() > degree:
        value ^= poly << (value.bit_length() - poly.bit_length())
    return value


def format_word(mask: int, ec_bits: int = EC_LEVEL_BITS_L) -> int:
    """15-bit format information word for (EC level, mask), after the XOR mask (7.9.1)."""
    data = (ec_bits << 3) | mask
    return ((data << 10) | _bch_remainder(data, 0b10100110111)) ^ 0b101010000010010


# 7.10: version information, BCH(18,6) with generator 0x1F25, versions 7 and up.
def version_word(version: int) -> int:
    _check_version(version)
    if version < 7:
        raise ValueError("version information exists only for versions 7..40")
    return (version << 12) | _bch_remainder(version, 0b1111100100101)
