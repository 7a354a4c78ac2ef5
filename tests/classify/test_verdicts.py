"""The "would safe Rust have prevented it?" table: one test per row, and the docs agree."""

from __future__ import annotations

import re

import pytest

from kpanic.classify import classify
from kpanic.classify.model import BUG_CLASSES, VERDICTS
from kpanic.classify.verdicts import ALREADY_RUST_NOTE, RUST_VERDICTS, verdict_for
from kpanic.report.model import CrashReport, Frame
from tests.conftest import ROOT

# The verdicts the design settled on, and a word each reason must mention (the mechanism).
EXPECTED = {
    "out-of-bounds": ("partly", "bounds-checked"),
    "use-after-free": ("yes", "lifetimes"),
    "invalid-free": ("yes", "exactly once"),
    "leak": ("partly", "Drop"),
    "uninit": ("yes", "initialisation"),
    "null-deref": ("yes", "Option"),
    "lock-misuse": ("partly", "Guard"),
    "deadlock": ("no", "lock ordering"),
    "refcount": ("partly", "ARef"),
    "data-race": ("partly", "Send and Sync"),
    "assertion": ("no", "logic"),
    "hang": ("no", "loops"),
    "arithmetic": ("partly", "overflow"),
    "rust-panic": ("no", "Rust already"),
    "unknown": ("no", "claims nothing"),
}


@pytest.mark.parametrize("bug_class", BUG_CLASSES)
def test_row(bug_class: str) -> None:
    verdict, word = EXPECTED[bug_class]
    row = RUST_VERDICTS[bug_class]
    assert row.verdict == verdict and row.verdict in VERDICTS
    assert word in row.reason
    # one sentence: ends with a full stop, no sentence break inside
    assert row.reason.endswith(".") and not re.search(r"[a-z]\. [A-Z]", row.reason)


def test_table_covers_vocabulary_in_order() -> None:
    assert tuple(RUST_VERDICTS) == BUG_CLASSES
    assert verdict_for("no-such-class") == RUST_VERDICTS["unknown"]


def test_docs_show_the_same_table() -> None:
    doc = (ROOT / "docs" / "classification.md").read_text()
    for bug_class, row in RUST_VERDICTS.items():
        assert f"| `{bug_class}` | {row.verdict} | {row.reason} |" in doc, bug_class


def test_crash_in_rust_code_says_so() -> None:
    frame = Frame(
        function="<rust_binder::process::Process>::update_ref",
        raw_function="_RNvMs3_NtCshgDM7dBCdno_11rust_binder7processNtB5_7Process10update_ref",
        language="rust",
    )
    report = CrashReport(
        title="KASAN: slab-use-after-free Read in <rust_binder::process::Process>::update_ref",
        type="KASAN-USE-AFTER-FREE-READ",
        frames=[frame],
        guilty_frame=frame.function,
    )
    c = classify(report)
    assert (c.bug_class, c.language, c.rust_location) == ("use-after-free", "rust", "driver")
    assert c.rust_prevents == "yes" and c.rust_reason.endswith(ALREADY_RUST_NOTE)
