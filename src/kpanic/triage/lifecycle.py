"""A crash group's life: open, fixed, invalid, duplicate; and what a new crash does to it.

The rules, as syzbot and Sentry keep them (each row of ``RULES`` says why):

- A maintainer moves a group between states; every move records who, when and why
  (``Change``), and ``apply()`` refuses a move that is missing what the state needs.
- A crash that arrives in a **fixed** group on a release at or after the fix's release reopens
  it as **regressed**; on an older release it is counted as *before the fix* and changes
  nothing (machines in the field run old kernels for months). A fix recorded as a commit
  without a release cannot be placed against a crash's release, and neither can a crash whose
  release is unknown or not comparable (``kver.compare`` is None): those are counted as
  *unplaced* and do not reopen the group by themselves.
- **invalid** groups stay invalid: new crashes are counted, nobody is notified.
- **duplicate** groups send their crashes to the group they duplicate (the store does the
  redirect; ``on_crash`` says so).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Literal, get_args

from kpanic.triage.kver import compare, parse_release

__all__ = [
    "STATUSES",
    "Change",
    "CrashEffect",
    "GroupState",
    "LifecycleError",
    "Status",
    "apply",
    "on_crash",
]

Status = Literal["open", "fixed", "invalid", "duplicate"]
STATUSES: tuple[Status, ...] = get_args(Status)
CrashEffect = Literal["counted", "regressed", "before-fix", "unplaced", "redirect"]

# (state, what a change into it needs, why)
RULES: tuple[tuple[Status, str, str], ...] = (
    ("open", "nothing", "reopening is always allowed; it clears the fix and the regression"),
    (
        "fixed",
        "a commit or a release",
        "without either nobody can tell a regression from an "
        "old kernel; a release is what regression detection compares against",
    ),
    ("invalid", "a reason", "an invalid group hides its crashes; the reason is the audit"),
    (
        "duplicate",
        "another group's id",
        "its crashes then count in that group; undoing it is a change back to open",
    ),
)


class LifecycleError(ValueError):
    """A state change that is missing what the new state needs."""


@dataclass(frozen=True)
class GroupState:
    status: Status = "open"
    fix_commit: str | None = None
    fix_release: str | None = None
    invalid_reason: str | None = None
    duplicate_of: int | None = None
    regressed: bool = False


@dataclass(frozen=True)
class Change:
    """One audited state change."""

    who: str
    why: str
    at: dt.datetime
    before: GroupState
    after: GroupState

    def summary(self) -> str:
        a = self.after
        if a.status == "fixed":
            parts = [
                p
                for p in (
                    a.fix_commit and f"commit {a.fix_commit}",
                    a.fix_release and f"release {a.fix_release}",
                )
                if p
            ]
            what = "fixed in " + " and ".join(parts)
        elif a.status == "invalid":
            what = f"invalid: {a.invalid_reason}"
        elif a.status == "duplicate":
            what = f"duplicate of group {a.duplicate_of}"
        elif self.before.status != "open" or self.before.regressed:
            what = "reopened"
        else:
            what = "open"
        if a.regressed and not self.before.regressed:
            what = "regressed"
        return what


def apply(
    state: GroupState,
    status: Status,
    *,
    who: str,
    why: str = "",
    group_id: int | None = None,
    commit: str | None = None,
    release: str | None = None,
    reason: str | None = None,
    duplicate_of: int | None = None,
    now: dt.datetime | None = None,
) -> Change:
    """The change of ``state`` into ``status``; raises LifecycleError when it is incomplete."""
    if status not in STATUSES:
        raise LifecycleError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    if not who.strip():
        raise LifecycleError("a state change needs the user who makes it")
    commit = (commit or "").strip() or None
    release = (release or "").strip() or None
    reason = (reason or "").strip() or None
    if status == "fixed":
        if commit is None and release is None:
            raise LifecycleError("fixed needs the fix commit or the first release with the fix")
        if release is not None and parse_release(release) is None:
            raise LifecycleError(f"{release!r} is not a kernel release (e.g. 6.15.3)")
        if commit is not None and not _looks_like_commit(commit):
            raise LifecycleError(f"{commit!r} is not a commit id (7 to 40 hex digits)")
        after = GroupState(status="fixed", fix_commit=commit, fix_release=release)
    elif status == "invalid":
        if reason is None:
            raise LifecycleError("invalid needs a reason")
        after = GroupState(status="invalid", invalid_reason=reason[:500])
    elif status == "duplicate":
        if duplicate_of is None:
            raise LifecycleError("duplicate needs the group it duplicates")
        if group_id is not None and duplicate_of == group_id:
            raise LifecycleError("a group cannot be a duplicate of itself")
        after = GroupState(status="duplicate", duplicate_of=duplicate_of)
    else:
        after = GroupState(status="open")
    return Change(
        who=who,
        why=why.strip()[:1000],
        at=now or dt.datetime.now(dt.UTC),
        before=state,
        after=after,
    )


def _looks_like_commit(text: str) -> bool:
    head = text.split()[0]
    return 7 <= len(head) <= 40 and all(c in "0123456789abcdefABCDEF" for c in head)


def on_crash(state: GroupState, release: str | None) -> tuple[CrashEffect, GroupState]:
    """What a new crash from ``release`` does to a group in ``state``: the effect and the
    state after it (changed only for a regression)."""
    if state.status == "duplicate":
        return "redirect", state
    if state.status != "fixed":
        return "counted", state
    if state.fix_release is None or not release:
        return "unplaced", state
    order = compare(release, state.fix_release)
    if order is None:
        return "unplaced", state
    if order < 0:
        return "before-fix", state
    return "regressed", replace(state, status="open", regressed=True)
