"""kpanic's parser against syzkaller's own Linux corpus: every field upstream's test compares.

One test per corpus file. Files listed in syzkaller_xfail.txt are strict xfails (a fix shows up
as XPASS -> failure, so the list must shrink with it). Run this module as a script for a quick
per-field failure count: ``python -m tests.report.test_syzkaller_corpus [-v]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kpanic.report import contains_crash, parse
from tests.report.conftest import (
    GUILTY_DIR,
    REPORT_DIR,
    CorpusCase,
    corpus_files,
    read_corpus_case,
    read_xfails,
    record,
)

XFAILS = read_xfails()


def compare(case: CorpusCase) -> dict[str, tuple[object, object]]:
    """field -> (expected, got) for every field that differs; every compared field recorded."""
    got_crash = contains_crash(case.log)
    result = parse(case.log, syzkaller=True)
    rep = result.primary
    checks: dict[str, tuple[object, object]] = {
        "crash": (bool(case.title), got_crash),
        "parsed": (bool(case.title), rep is not None),
        "title": (case.title, rep.title if rep else ""),
        "alt": (case.alt_titles, sorted(rep.alt_titles) if rep else []),
        "type": (case.type if case.title else "unknown", rep.type if rep else "unknown"),
        "corrupted": (case.corrupted, rep.corrupted if rep else False),
        "suppressed": (case.suppressed, rep.suppressed if rep else False),
        "panicked": (case.panicked, rep.panicked if rep else False),
        "executor": (case.executor, (rep.executor or "") if rep else ""),
    }
    if case.frame:
        checks["frame"] = (case.frame, rep.guilty_frame if rep else None)
    if case.start_line and rep is not None:
        end_line = case.end_line or case.start_line
        start = case.log.find(case.start_line)
        end = case.log.find(end_line) + len(end_line)
        checks["start_end"] = ((start, end), (rep.start, rep.end))
    if case.report is not None and rep is not None:
        checks["report"] = (case.report, rep.text)
    if rep is not None:
        sane = 0 <= rep.start < rep.end <= len(case.log) and bool(rep.title) and bool(rep.text)
        checks["positions"] = (True, sane)
        # Upstream: parsing again from the start offset finds the same title at that offset.
        if rep.start:
            again = parse(case.log[rep.start :], syzkaller=True).primary
            checks["reparse"] = ((rep.title, 0), (again.title, again.start) if again else None)
    mismatches = {}
    for name, (want, got) in checks.items():
        ok = want == got
        record(name, ok)
        if not ok:
            mismatches[name] = (want, got)
    return mismatches


def _params() -> list[object]:
    out = []
    for path in corpus_files(REPORT_DIR):
        key = f"report/{path.name}"
        marks = []
        if key in XFAILS:
            marks.append(pytest.mark.xfail(reason=XFAILS[key], strict=True))
        out.append(pytest.param(path, id=path.name, marks=marks))
    return out


@pytest.mark.parametrize("path", _params())
def test_report_file(path: Path) -> None:
    mismatches = compare(read_corpus_case(path))
    assert not mismatches, "\n".join(
        f"{name}: want {want!r}\n{' ' * len(name)}   got {got!r}"
        for name, (want, got) in mismatches.items()
    )


def main(argv: list[str]) -> int:
    """Print failure counts per field (and the failing files with -v)."""
    from collections import Counter

    verbose = "-v" in argv
    fails: Counter[str] = Counter()
    files = corpus_files(REPORT_DIR)
    for path in files:
        mism = compare(read_corpus_case(path))
        for name, (want, got) in mism.items():
            fails[name] += 1
            if verbose:
                print(f"{path.name:>5} {name}: want {want!r} got {got!r}"[:600])
    print(f"{len(files)} files; guilty dir {GUILTY_DIR}")
    for name, count in fails.most_common():
        print(f"{name:<12} {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
