"""Progress for long jobs: on standard error, only when it is a terminal, and only once the job
has run for about a second (short jobs print nothing; pipes and files never get bars)."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, Final

SHOW_AFTER_S: Final = 1.0


class Progress:
    """``with Progress(total, "decoding") as p: ... p.advance()``."""

    def __init__(self, total: int | None, description: str, *, stream: Any = None) -> None:
        self.total = total
        self.description = description
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self.started = time.monotonic()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        return self

    def advance(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        if self._bar is None and time.monotonic() - self.started >= SHOW_AFTER_S:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total)
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, total=self.total)

    def set_total(self, total: int) -> None:
        self.total = total

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
