"""Group states, the audit record of a change, and regressions decided by kernel release."""

from __future__ import annotations

import pytest

from kpanic.triage.lifecycle import GroupState, LifecycleError, apply, on_crash


def fixed(release: str | None = "6.15.3", commit: str | None = None) -> GroupState:
    return apply(
        GroupState(), "fixed", who="alice", why="patch merged", release=release, commit=commit
    ).after


def test_change_records_who_why_and_before() -> None:
    ch = apply(
        GroupState(), "fixed", who="alice", why="merged", commit="0123abcd", release="6.15.3"
    )
    assert ch.who == "alice" and ch.why == "merged"
    assert ch.before.status == "open"
    assert ch.after.status == "fixed" and ch.after.fix_release == "6.15.3"
    assert ch.summary() == "fixed in commit 0123abcd and release 6.15.3"


@pytest.mark.parametrize(
    ("status", "kwargs", "message"),
    [
        ("fixed", {}, "fix commit or the first release"),
        ("fixed", {"release": "soon"}, "not a kernel release"),
        ("fixed", {"commit": "not-a-sha"}, "not a commit id"),
        ("invalid", {}, "needs a reason"),
        ("duplicate", {}, "needs the group"),
        ("duplicate", {"duplicate_of": 7, "group_id": 7}, "itself"),
        ("closed", {}, "unknown status"),
    ],
)
def test_incomplete_changes_are_refused(status, kwargs, message) -> None:
    with pytest.raises(LifecycleError, match=message):
        apply(GroupState(), status, who="alice", **kwargs)


def test_needs_a_user() -> None:
    with pytest.raises(LifecycleError, match="user"):
        apply(GroupState(), "open", who="  ")


@pytest.mark.parametrize(
    ("release", "effect"),
    [
        ("6.15.3", "regressed"),  # the fix's own release
        ("6.15.4-200.fc42.x86_64", "regressed"),  # a distro build after it
        ("6.16.0-rc1", "regressed"),
        ("6.15.2", "before-fix"),
        ("6.15.0-rc3", "before-fix"),
        ("6.12.9-200.fc41.x86_64", "before-fix"),
        (None, "unplaced"),  # no release in the report
        ("6.15.0-28-amd64", "unplaced"),  # Debian: the sublevel is unknown
    ],
)
def test_crash_in_fixed_group(release, effect) -> None:
    got, after = on_crash(fixed(), release)
    assert got == effect
    if effect == "regressed":
        assert after.status == "open" and after.regressed
    else:
        assert after == fixed()


def test_fix_without_release_cannot_regress() -> None:
    assert on_crash(fixed(release=None, commit="deadbeef"), "6.20.0")[0] == "unplaced"


def test_other_states() -> None:
    assert on_crash(GroupState(), "6.1.0")[0] == "counted"
    inv = apply(GroupState(), "invalid", who="a", reason="bad hardware").after
    assert on_crash(inv, "6.1.0") == ("counted", inv)
    dup = apply(GroupState(), "duplicate", who="a", duplicate_of=3).after
    assert on_crash(dup, "6.1.0")[0] == "redirect"


def test_reopen_after_regression_summary() -> None:
    _, regressed = on_crash(fixed(), "6.16.0")
    ch = apply(regressed, "open", who="bob", why="looking")
    assert ch.summary() == "reopened"
    assert not ch.after.regressed
