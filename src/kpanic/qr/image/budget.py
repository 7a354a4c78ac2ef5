"""The decode time budget, kept inside the work.

Every stage asks the budget before it starts something it cannot interrupt (a zxing call, a
contour pass, a grid fit) and stops when it is spent, so a miss costs at most the budget plus
the longest single step. Elapsed time is this process's CPU time (all its threads: OpenCV may
use several), so the result does not depend on how busy the machine is; wall-clock time is a
backstop at ``WALL_FACTOR`` times the budget for a starved process (a service that needs a
hard wall-clock limit runs the decoder in a worker it can kill).
"""

from __future__ import annotations

import time

WALL_FACTOR = 3.0


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
        cpu = time.process_time() - self._cpu0
        return max(cpu, (time.monotonic() - self._wall0) / WALL_FACTOR)

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
