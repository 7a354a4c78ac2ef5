"""A located (but maybe unread) symbol: where its corners are and what we know about it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass
class Candidate:
    """Outer symbol corners in image pixels, order: top-left finder, top-right finder,
    the corner without a finder, bottom-left finder (zxing's and the sidecars' order).

    ``inverted`` is True when light modules are the darker ones (black_on_white theme);
    ``None`` when unknown. ``version`` is known when zxing or the version info told us.
    """

    corners: npt.NDArray[np.float64]
    version: int | None
    inverted: bool | None
    source: str

    def side(self) -> float:
        c = self.corners
        return float(np.mean([np.linalg.norm(c[i] - c[(i + 1) % 4]) for i in range(4)]))

    def same_place(self, other: Candidate) -> bool:
        return bool(np.max(np.abs(self.corners - other.corners)) < 0.05 * self.side())
