"""CrashReports built from the syzkaller corpus without the parser: TITLE/TYPE/FRAME headers
plus the log text, and the call-trace frames found by a small regex. Used where a test must not
depend on the parser's accuracy; tests of the whole pipeline use kpanic.report.parse."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from kpanic.classify.corpus import read_log
from kpanic.report.demangle import demangle
from kpanic.report.model import CrashReport, Frame
from tests.conftest import SYZKALLER

REPORT_DIR = SYZKALLER / "report"
_FRAME = re.compile(
    r"^(?:\S*\s*)?(?:\[[^\]]*\]\s*)*(\? )?(?:\[<[0-9a-f]+>\] (?:\? )?)?"
    r"([A-Za-z_][\w.$]*)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(\w+)\])?\s*$"
)


def corpus_files() -> list[Path]:
    return sorted(REPORT_DIR.iterdir(), key=lambda p: int(p.name))


def frames_of(text: str) -> list[Frame]:
    out = []
    for line in text.splitlines():
        m = _FRAME.match(line)
        if m:
            raw = m.group(2)
            out.append(
                Frame(
                    function=demangle(raw),
                    raw_function=raw,
                    unreliable=bool(m.group(1)),
                    module=m.group(3),
                )
            )
    return out


@cache
def header_report(name: str) -> CrashReport | None:
    """The report syzkaller expects for corpus file ``name`` (None: no crash expected)."""
    lf = read_log(REPORT_DIR / name)
    title = (lf.headers.get("TITLE") or [""])[0]
    if not title:
        return None
    return CrashReport(
        title=title,
        type=(lf.headers.get("TYPE") or [""])[0],
        guilty_frame=(lf.headers.get("FRAME") or [None])[0],
        text=lf.log,
        frames=frames_of(lf.log),
    )


def header_reports() -> list[tuple[str, CrashReport]]:
    out = []
    for p in corpus_files():
        r = header_report(p.name)
        if r is not None:
            out.append((p.name, r))
    return out
