"""``decode_matrix``: a clean module matrix (1 = dark) to the payload text."""

from __future__ import annotations

from collections.abc import Sequence

import numpy.typing as npt

from kpanic.qr.image.segments import parse_segments
from kpanic.qr.image.symbol import as_matrix, decode_codewords, matrix_codewords


def decode_matrix(matrix: Sequence[str] | npt.ArrayLike) -> str:
    """Read a module matrix (the vectors' ``matrix`` strings or a 0/1 array) to its text.

    Out-of-range numeric groups (the legacy tail defect) come out as plain decimal numbers.
    Raises ``kpanic.errors.QRError`` when the matrix is not a readable level-L symbol.
    """
    arr = as_matrix(matrix)
    version, codewords = matrix_codewords(arr)
    data, _ = decode_codewords(codewords, version)
    return parse_segments(data, version)[0]
