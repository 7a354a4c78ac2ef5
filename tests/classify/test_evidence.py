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


# --- the address and register tables (issue 10, item 8) --------------------------------------

from kpanic.classify.classifier import decide  # noqa: E402
from kpanic.classify.evidence import (  # noqa: E402
    ADDRESS_PATTERNS,
    ADDRESS_RANGES,
    is_canonical,
    register_evidence,
)


@pytest.mark.parametrize("row", ADDRESS_RANGES, ids=lambda r: r.id)
def test_every_address_range_row(row) -> None:  # type: ignore[no-untyped-def]
    for addr in (row.low, row.high - 1):
        guess = classify_address(addr)
        assert guess is not None and guess[0] == row.bug_class and guess[1] == row.confidence
        assert f"{addr:#x}" in guess[2] and row.reason and guess[1] < 1


@pytest.mark.parametrize("row", ADDRESS_PATTERNS, ids=lambda r: r.id)
def test_every_address_pattern_row(row) -> None:  # type: ignore[no-untyped-def]
    byte = row.pattern.pattern[:2]
    addr = int(byte * 8, 16)
    guess = classify_address(addr)
    assert guess is not None and guess[0] == row.bug_class and guess[1] < 1


def _gpf_14_with(register_value: str) -> list[str]:
    """Corpus file 14 (a GP fault without any KASAN hint line) with RBX holding a value."""
    report = header_report("14")
    assert report is not None
    text = report.text.replace("RBX: ffff880062097910", f"RBX: {register_value}")
    return text.splitlines()


def test_gpf_without_hint_stays_unknown_with_reason() -> None:
    report = header_report("14")
    assert report is not None
    d = decide(report)
    assert d.bug_class == "unknown" and d.reason.startswith("not enough evidence")
    assert register_evidence(report.text.splitlines()) is None  # RAX's KASAN base is no pointer


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("6b6b6b6b6b6b6b6b", "use-after-free"),  # POISON_FREE: a freed object's field
        ("dead000000000122", "use-after-free"),  # LIST_POISON2: after list_del()
        ("cccccccccccccccc", "out-of-bounds"),  # SLUB red zone
    ],
)
def test_gpf_register_holds_poison(value: str, expected: str) -> None:
    lines = _gpf_14_with(value)
    d = invalid_access(lines)
    assert d is not None and d.bug_class == expected and d.confidence <= 0.5
    assert d.evidence and value in d.evidence[0] and "register RBX" in d.why


def test_non_canonical_address_reason() -> None:
    line = "general protection fault, probably for non-canonical address 0x1234567812345678: 0000"
    d = invalid_access([line])
    assert d is not None and d.bug_class == "unknown" and "non-canonical" in d.why
    assert d.evidence == [line]
    assert not is_canonical(0x1234567812345678) and is_canonical(0xFFFF888000000000)
