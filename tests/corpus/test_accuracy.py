"""Accuracy on the real corpora (issue 10, item 4): syzbot subjects and hand-labelled pastes.

syzbot: a file is matched when the primary report's title or one of its alternative titles is
the expected ``TITLE``. pastes: right when the titles of the reports, in order, are the
``TITLE`` list and their classes (kpanic.classify.classify) are the ``CLASS`` list. Figures per
source and per ``KIND`` are printed at the end of the run; the targets (95% / 90%) are enforced
once a source holds enough files (300 / 60). An empty folder is skipped visibly.
"""

from __future__ import annotations

import pytest

from kpanic.classify import classify
from kpanic.report import parse
from tests.corpus.conftest import ACCURACY
from tests.corpus.corpus import FLOORS, MIN_FILES, TARGETS, Entry, corpus_entries

SYZBOT = corpus_entries("syzbot")
PASTES = corpus_entries("pastes")


def _ids(entry: Entry) -> str:
    return entry.name


@pytest.mark.parametrize("entry", SYZBOT or [None], ids=_ids if SYZBOT else None)
def test_syzbot_subject(entry: Entry | None) -> None:
    if entry is None:
        pytest.skip("tests/data/corpus/syzbot holds no reports yet")
    want = entry.first("TITLE")
    rep = parse(entry.text).primary
    titles = [rep.title, *rep.alt_titles] if rep is not None else []
    ok = want in titles
    why = f"{entry.name}: want {want!r}, got {titles[0] if titles else None!r}"
    ACCURACY["syzbot"]["all"].add(ok, why)
    ACCURACY["syzbot"][f"KIND={entry.first('KIND', '?')}"].add(ok, why)
    ACCURACY["syzbot"][f"FORM={entry.first('FORM', '?')}"].add(ok)


@pytest.mark.parametrize("entry", PASTES or [None], ids=_ids if PASTES else None)
def test_paste_titles_and_classes(entry: Entry | None) -> None:
    if entry is None:
        pytest.skip("tests/data/corpus/pastes holds no reports yet")
    want_titles = entry.fields.get("TITLE", [])
    want_classes = entry.fields.get("CLASS", [])
    reports = parse(entry.text).reports
    titles = [r.title for r in reports]
    classes = [classify(r).bug_class for r in reports]
    ok = titles == want_titles and classes == want_classes
    why = f"{entry.name}: want {list(zip(want_titles, want_classes, strict=False))}, got " + (
        f"{list(zip(titles, classes, strict=False))}"
    )
    ACCURACY["pastes"]["all"].add(ok, why)
    ACCURACY["pastes"][f"LANGUAGE={entry.first('LANGUAGE', '?')}"].add(ok)
    ACCURACY["pastes"][f"ARCH={entry.first('ARCH', '?')}"].add(ok)


@pytest.mark.parametrize("source", ["syzbot", "pastes"])
def test_accuracy_targets(source: str) -> None:
    """Runs after the per-file tests of this module and enforces the target per source."""
    count = len(SYZBOT if source == "syzbot" else PASTES)
    if count < MIN_FILES[source]:
        pytest.skip(f"{source}: {count} files, targets apply from {MIN_FILES[source]}")
    tally = ACCURACY[source]["all"]
    figure = f"{source} accuracy {tally.rate:.1%} ({tally.ok}/{tally.total})"
    # The floor is what the parser reached when the corpus landed: falling below it fails;
    # between the floor and the target the gap is reported, not hidden.
    assert tally.rate >= FLOORS[source], f"{figure}: regressed below {FLOORS[source]:.0%}"
    if tally.rate < TARGETS[source]:
        pytest.xfail(f"{figure}: target {TARGETS[source]:.0%} not met yet (issue 10)")
