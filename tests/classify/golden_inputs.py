"""Frozen signature inputs for the golden files: one CrashReport per corpus file, built from the
file's own expectation headers (title, type, guilty frame, corrupted) plus the frames a small
regex finds in its log, never from the parser.

A signature version is a function of its input; freezing the input here means a golden-file
failure says "the rules changed", never "the parser changed". Sources:

- ``syzkaller/<n>``: tests/data/syzkaller/linux/report (syzkaller's TITLE/TYPE/FRAME/CORRUPTED);
- ``fixtures/<name>``: tests/report/fixtures (hand-written TITLE/TYPE/GUILTY_FRAME/CORRUPTED);
- ``corpus/<path>``: tests/data/corpus/** when present (either header layout).

Files without a TITLE header (or with an empty one: no crash expected) are not inputs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from kpanic.classify.corpus import read_log
from kpanic.report.model import CrashReport
from tests.classify.corpus_reports import corpus_files, frames_of
from tests.conftest import DATA, ROOT

FIXTURES = ROOT / "tests" / "report" / "fixtures"
CORPUS = DATA / "corpus"
_KEY = re.compile(r"^([A-Z][A-Z_]*): ?(.*)$")


def read_headers(text: str) -> tuple[dict[str, str], str] | None:
    """(first value per KEY, log) for a ``# comment`` / ``KEY: value`` block ended by a blank
    line; None when the file does not start with such a block."""
    head, sep, log = text.replace("\r\n", "\n").partition("\n\n")
    if not sep:
        return None
    fields: dict[str, str] = {}
    for line in head.split("\n"):
        if line.startswith("#"):
            continue
        m = _KEY.match(line)
        if not m:
            return None
        fields.setdefault(m.group(1), m.group(2).strip())
    return fields, log


def report_from_headers(fields: dict[str, str], log: str) -> CrashReport | None:
    title = fields.get("TITLE", "")
    if not title:
        return None
    guilty = fields.get("GUILTY_FRAME") or fields.get("FRAME") or None
    return CrashReport(
        title=title,
        type=fields.get("TYPE", ""),
        corrupted=fields.get("CORRUPTED", "N").upper().startswith("Y"),
        guilty_frame=guilty,
        text=log,
        frames=frames_of(log),
    )


def _header_file(path: Path) -> CrashReport | None:
    parsed = read_headers(path.read_bytes().decode("utf-8", errors="replace"))
    return report_from_headers(*parsed) if parsed else None


def golden_inputs() -> Iterator[tuple[str, CrashReport]]:
    """(source name, frozen input report), in a fixed order."""
    for p in corpus_files():
        lf = read_log(p)
        fields = {k: v[0] for k, v in lf.headers.items() if v}
        r = report_from_headers(fields, lf.log)
        if r is not None:
            yield f"syzkaller/{p.name}", r
    for p in sorted(FIXTURES.glob("*.txt")):
        r = _header_file(p)
        if r is not None:
            yield f"fixtures/{p.name}", r
    if CORPUS.is_dir():
        for p in sorted(q for q in CORPUS.rglob("*") if q.is_file()):
            r = _header_file(p)
            if r is not None:
                yield f"corpus/{p.relative_to(CORPUS).as_posix()}", r
