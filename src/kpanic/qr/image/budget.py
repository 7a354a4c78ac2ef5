"""The decode time budget, kept inside the work.

Every stage asks the budget before it starts something it cannot interrupt (a zxing call, a
contour pass, a grid fit) and stops when it is spent, so a miss costs at most the budget plus
the longest single step. Elapsed time is the larger of wall-clock and this process's CPU time:
OpenCV may use several threads, and the budget is a promise about CPU as much as about latency.
"""

from __future__ import annotations

import time


class OutOfTime(Exception):
    """Raised inside the decoder when the budget is spent; ``decode_photo`` turns it into a
    PhotoDecodeError, it never escapes."""


class Budget:
    def __init__(self, seconds: float) -> None:
        self.seconds = max(0.05, float(seconds))
        self._wall0 = time.monotonic()
        self._cpu0 = time.process_time()
        self.ran_out = False

    def elapsed(self) -> float:
        return max(time.monotonic() - self._wall0, time.process_time() - self._cpu0)

    def left(self) -> float:
        return self.seconds - self.elapsed()

    def expired(self) -> bool:
        if self.left() <= 0:
            self.ran_out = True
        return self.ran_out

    def affords(self, cost: float) -> bool:
        """True when a step estimated to take ``cost`` seconds still fits."""
        if self.left() < cost:
            self.ran_out = True
            return False
        return True

    def check(self) -> None:
        if self.expired():
            raise OutOfTime
