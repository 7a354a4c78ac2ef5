"""Group keys, merges/splits between versions (what `kpanic reprocess` prints), and the group a
partial report joins."""

from __future__ import annotations

from kpanic.classify.grouping import compare, group_key, join_key, reprocess_diff, version_label
from kpanic.classify.signature import compute_signature
from tests.classify.golden_inputs import golden_inputs


def test_group_key_depends_on_version_and_value() -> None:
    a = group_key("2026-11-22", "WARNING in foo")
    assert len(a) == 16 and int(a, 16) >= 0
    assert a == group_key("2026-11-22", "WARNING in foo")
    assert a != group_key("2026-12-03", "WARNING in foo")  # same text, other version: other group
    assert a != group_key("2026-11-22", "WARNING in bar")


def test_compare_merges_and_splits() -> None:
    pairs = [(1, "a", "x"), (2, "b", "x"), (3, "c", "y"), (4, "c", "z")]
    diff = compare(pairs)
    assert (diff.old_groups, diff.new_groups) == (3, 3)
    assert [(m.key, m.into, m.members) for m in diff.merges] == [("x", ["a", "b"], ["1", "2"])]
    assert [(s.key, s.into, s.members) for s in diff.splits] == [("c", ["y", "z"], ["3", "4"])]


def test_reprocess_diff_between_real_versions() -> None:
    """2026-11-15 (title only) -> 2026-11-22 (one frame when the title names no function):
    the generic titles split, nothing merges."""
    rows = []
    for source, report in golden_inputs():
        old = compute_signature(report, "2026-11-15")
        new = compute_signature(report, "2026-11-22")
        rows.append((source, old.version, old.value, new.version, new.value))
    diff = reprocess_diff(rows)
    assert diff.merges == []
    assert diff.splits, "the generic titles must split"
    rcu = version_label("2026-11-15", "WARNING: suspicious RCU usage")
    split = {s.key: s for s in diff.splits}
    assert rcu in split and len(split[rcu].into) >= 2
    assert all(k.startswith("[2026-11-22] ") for s in diff.splits for k in s.into)
    assert diff.to_dict()["splits"][0]["members"]


def test_reprocess_diff_keeps_versions_apart() -> None:
    # two stored reports with the same text under different versions are two old groups
    rows = [(1, "2026-11-15", "WARNING in f", "2026-12-03", "WARNING in f")]
    rows.append((2, "2026-11-22", "WARNING in f", "2026-12-03", "WARNING in f"))
    diff = reprocess_diff(rows)
    assert diff.old_groups == 2 and diff.new_groups == 1 and len(diff.merges) == 1


def test_join_key() -> None:
    own, read, write = "k-own", "k-read", "k-write"
    assert join_key(own, [read, write], {own, read}) == own  # its own group exists
    assert join_key(own, [read, write], {read}) == read  # exactly one alternative exists
    assert join_key(own, [read, write], {read, write}) == own  # ambiguous: never guess
    assert join_key(own, [read, write], set()) == own  # none: a new group
    assert join_key(own, [read, read], {read}) == read  # duplicates are one alternative
