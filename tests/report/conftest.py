"""Report-parser test support: the syzkaller corpus reader and per-field match-rate summary.

The corpus file layout (headers, log, optional REPORT section) is described in
tests/data/syzkaller/README.md-equivalent /work/shared/corpus/syzkaller/README.md; this reader
follows upstream's report_test.go parseReport exactly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import SYZKALLER

REPORT_DIR = SYZKALLER / "report"
GUILTY_DIR = SYZKALLER / "guilty"
XFAIL_FILE = Path(__file__).with_name("syzkaller_xfail.txt")

# field -> [matches, compared]; filled by the corpus tests, printed at the end of the run.
FIELD_STATS: dict[str, list[int]] = defaultdict(lambda: [0, 0])


@dataclass
class CorpusCase:
    """One linux/report/N file: the log and what upstream expects from it."""

    name: str
    log: str
    title: str = ""
    alt_titles: list[str] = field(default_factory=list)
    type: str = "unknown"
    frame: str = ""
    corrupted: bool = False
    suppressed: bool = False
    panicked: bool = False
    executor: str = ""
    start_line: str = ""
    end_line: str = ""
    report: str | None = None


def _flag(value: str) -> bool:
    if value not in ("Y", "N"):
        raise ValueError(f"bad Y/N value {value!r}")
    return value == "Y"


def read_corpus_case(path: Path) -> CorpusCase:
    data = path.read_bytes().replace(b"\r", b"").decode("utf-8", errors="replace")
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # bufio.Scanner yields no empty token after a final newline
    case = CorpusCase(name=path.name, log="")
    log: list[str] = []
    report: list[str] = []
    phase = "headers"
    prev_empty = False
    for ln in lines:
        if phase == "headers":
            if ln == "":
                phase = "log"
                continue
            _header(case, ln)
        elif phase == "log":
            if prev_empty and ln == "REPORT:":
                phase = "report"
            else:
                log.append(ln + "\n")
        else:
            report.append(ln + "\n")
        prev_empty = ln == ""
    case.log = "".join(log)
    if phase == "report":
        case.report = "".join(report)
    case.alt_titles.sort()
    return case


def _header(case: CorpusCase, ln: str) -> None:
    key, sep, value = ln.partition(": ")
    if ln.startswith("#"):
        return
    if not sep and ln.endswith(":"):
        key, value = ln[:-1], ""
    if key == "TITLE":
        case.title = value
    elif key == "ALT":
        case.alt_titles.append(value)
    elif key == "TYPE":
        case.type = value
    elif key == "FRAME":
        case.frame = value
    elif key == "START":
        case.start_line = value
    elif key == "END":
        case.end_line = value
    elif key == "CORRUPTED":
        case.corrupted = _flag(value)
    elif key == "SUPPRESSED":
        case.suppressed = _flag(value)
    elif key == "PANICKED":
        case.panicked = _flag(value)
    elif key == "EXECUTOR":
        case.executor = value
    else:
        raise ValueError(f"unknown header line {ln!r}")


def corpus_files(directory: Path) -> list[Path]:
    return sorted((p for p in directory.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))


def read_xfails() -> dict[str, str]:
    """``dir/N -> reason`` for corpus files kpanic does not match yet (strict xfail)."""
    out: dict[str, str] = {}
    if not XFAIL_FILE.exists():
        return out
    for line in XFAIL_FILE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        out[name] = reason.strip()
    return out


def record(field_name: str, ok: bool) -> None:
    stats = FIELD_STATS[field_name]
    stats[0] += int(ok)
    stats[1] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIELD_STATS:
        return
    tr = terminalreporter
    tr.section("syzkaller corpus: per-field match rate")
    for name in sorted(FIELD_STATS):
        ok, total = FIELD_STATS[name]
        tr.write_line(f"{name:<12} {ok:>4}/{total:<4} {100.0 * ok / total:6.2f}%")
