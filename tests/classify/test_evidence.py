"""Ambiguous reports: the class comes from the evidence in the text, with confidence < 1."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpanic.classify import classify
from kpanic.classify.evidence import NULL_LIMIT, classify_address, invalid_access
from tests.classify.corpus_reports import header_report

# corpus file, expected class, a substring of the evidence line that decided it
CASES = [
    ("510", "null-deref", "KASAN: null-ptr-deref in range"),
    ("734", "null-deref", "KASAN: probably user-memory-access in range [0x0000000000001370"),
    ("664", "unknown", "KASAN: maybe wild-memory-access in range"),
    ("536", "null-deref", "dfffa00000000003"),  # arm64 KASAN shadow of a NULL pointer
    ("548", "null-deref", "Unhandled fault: page domain fault (0x01b) at 0x00000e30"),
    ("173", "use-after-free", "ODEBUG: free active"),
    ("168", "assertion", "ODEBUG: activate active"),
    ("568", "use-after-free", "Freed by task"),
    ("569", "out-of-bounds", "BUG: KASAN: invalid-access in enqueue_timer"),
    ("40", "arithmetic", "shift exponent"),
    ("329", "unknown", "paging request at ffffc90001935030"),
]


@pytest.mark.parametrize(("name", "expected", "line"), CASES)
def test_ambiguous_report(name: str, expected: str, line: str) -> None:
    report = header_report(name)
    assert report is not None
    c = classify(report)
    assert c.bug_class == expected
    assert c.confidence < 1
    assert any(line in ev for ev in c.evidence), c.evidence
    assert all(ev in report.text.splitlines() for ev in c.evidence)


def test_found_cases_exist_in_corpus() -> None:
    # the first case must really be a GPF whose class came from KASAN's hint line
    report = header_report("510")
    assert report is not None and report.title.startswith("general protection fault")


def test_page_fault_at_small_address() -> None:
    line = "BUG: unable to handle page fault for address: 0000000000000010"
    d = invalid_access([line, "#PF: supervisor read access in kernel mode"])
    assert d is not None and d.bug_class == "null-deref" and d.confidence >= 0.9
    assert d.evidence == [line]


def test_gpf_ignores_stale_cr2() -> None:
    lines = ["general protection fault: 0000 [#1] PREEMPT SMP KASAN", "CR2: 0000000000000010"]
    assert invalid_access(lines) is None


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        (0xDEAD000000000100, "use-after-free"),  # LIST_POISON1
        (0xDEAD000000000122, "use-after-free"),  # LIST_POISON2
        (0x6B6B6B6B6B6B6B6B, "use-after-free"),  # POISON_FREE
        (0x5A5A5A5A5A5A5A5A, "uninit"),  # POISON_INUSE
        (0xFFFFFFFFFFFFFFF4, "null-deref"),  # ERR_PTR(-ENOMEM)
        (0xDFFFFC0000000002, "null-deref"),  # KASAN shadow of NULL + 0x10
    ],
)
def test_address_patterns(addr: int, expected: str) -> None:
    guess = classify_address(addr)
    assert guess is not None and guess[0] == expected and guess[1] < 1


@given(st.integers(0, NULL_LIMIT - 1))
def test_every_small_address_is_null(addr: int) -> None:
    guess = classify_address(addr)
    assert guess is not None and guess[0] == "null-deref"


@given(st.integers(0xFFFF888000000000, 0xFFFF888FFFFFFFFF))
def test_direct_map_addresses_claim_nothing(addr: int) -> None:
    guess = classify_address(addr)
    assert guess is None or "6b6b6b6b" in f"{addr:x}" or "5a5a5a5a" in f"{addr:x}"
