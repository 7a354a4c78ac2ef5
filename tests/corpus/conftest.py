"""Corpus figures: accuracy per source and kind, invariance per form, printed at the end of the run.

The tests fill :data:`ACCURACY` and :data:`INVARIANCE`; :func:`pytest_terminal_summary` prints
them with every exception and its reason, so a run shows where the parser stands.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pytest

MAX_SHOWN = 200  # exceptions printed per table (the rest are counted)


@dataclass
class Tally:
    ok: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, ok: bool, why: str = "") -> None:
        self.total += 1
        self.ok += int(ok)
        if not ok and why:
            self.misses.append(why)

    @property
    def rate(self) -> float:
        return self.ok / self.total if self.total else 1.0


# source -> key ("all", "KIND=...") -> tally
ACCURACY: dict[str, dict[str, Tally]] = defaultdict(lambda: defaultdict(Tally))
# form -> tally (full-text forms: same identity; qr-vNN-report / qr-vNN-group: tails)
INVARIANCE: dict[str, Tally] = defaultdict(Tally)


def _table(tr: pytest.TerminalReporter, title: str, rows: dict[str, Tally]) -> None:
    tr.section(title)
    for key in sorted(rows):
        t = rows[key]
        tr.write_line(f"{key:<26} {t.ok:>5}/{t.total:<5} {100.0 * t.rate:6.2f}%")
    for key in sorted(rows):
        misses = rows[key].misses
        for why in misses[:MAX_SHOWN]:
            tr.write_line(f"  {key}: {why}")
        if len(misses) > MAX_SHOWN:
            tr.write_line(f"  {key}: ... {len(misses) - MAX_SHOWN} more")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for source, rows in sorted(ACCURACY.items()):
        _table(terminalreporter, f"corpus accuracy: {source}", rows)
    if INVARIANCE:
        _table(
            terminalreporter,
            "corpus invariance: crashes whose forms share one identity",
            INVARIANCE,
        )
