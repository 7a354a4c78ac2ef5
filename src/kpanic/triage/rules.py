"""Notification rules: which group events a maintainer wants to hear about, and the digests.

An **event** is something that happened to a group: ``new-group`` (its first crash),
``regression`` (a crash on a release at or after the fix), ``escalation`` (the group crossed
``threshold`` crashes within ``window``), ``status`` (a maintainer changed its state).

A **rule** selects events by kind and by the group's subsystem, bug class, language and kernel
release prefix (every filter that is set must match; an unset filter matches everything).

No storms: ``plan()`` turns the events of one interval into at most one delivery per rule. A
rule that matches one event sends that event; a rule that matches several sends one digest
that lists them all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

__all__ = [
    "EVENT_KINDS",
    "Delivery",
    "Event",
    "EventKind",
    "GroupFacts",
    "Rule",
    "crossed_threshold",
    "plan",
]

EventKind = Literal["new-group", "regression", "escalation", "status"]
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)


@dataclass(frozen=True)
class GroupFacts:
    """What rules filter on and what a notification says about a group."""

    group_id: int
    title: str
    subsystems: tuple[str, ...] = ()
    bug_class: str | None = None
    language: str | None = None
    kernel: str | None = None  # the release of the crash that caused the event
    status: str = "open"
    report_count: int = 0
    url: str | None = None


@dataclass(frozen=True)
class Event:
    kind: EventKind
    group: GroupFacts
    at: dt.datetime
    detail: str = ""  # e.g. "fixed in 6.15.3, crashed on 6.15.4" or "12 crashes in 1 h"


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    events: frozenset[EventKind] = frozenset(EVENT_KINDS)
    subsystem: str | None = None
    bug_class: str | None = None
    language: str | None = None
    kernel_prefix: str | None = None
    threshold: int = 0  # escalation: crashes within window; 0 = no escalation events
    window: dt.timedelta = dt.timedelta(hours=1)

    def matches(self, event: Event) -> bool:
        g = event.group
        if event.kind not in self.events:
            return False
        if self.subsystem is not None and self.subsystem not in g.subsystems:
            return False
        if self.bug_class is not None and g.bug_class != self.bug_class:
            return False
        if self.language is not None and g.language != self.language:
            return False
        if self.kernel_prefix is not None:
            if g.kernel is None or not _release_has_prefix(g.kernel, self.kernel_prefix):
                return False
        return True


def _release_has_prefix(release: str, prefix: str) -> bool:
    """``6.12`` matches 6.12, 6.12.9, 6.12.0-rc3 but not 6.120; ``6.12.*`` is the same."""
    p = prefix.strip().removesuffix("*").removesuffix(".")
    if not release.startswith(p):
        return False
    rest = release[len(p) :]
    return not rest or not rest[0].isdigit()


@dataclass(frozen=True)
class Delivery:
    """One message for one rule: a single event, or a digest of several."""

    rule: Rule
    events: tuple[Event, ...] = field(default_factory=tuple)

    @property
    def is_digest(self) -> bool:
        return len(self.events) > 1

    def subject(self) -> str:
        if not self.is_digest:
            e = self.events[0]
            label = {
                "new-group": "New crash",
                "regression": "Regression",
                "escalation": "Escalating",
                "status": "Status",
            }[e.kind]
            return f"[kpanic] {label}: {e.group.title}"[:200]
        kinds = sorted({e.kind for e in self.events})
        return f"[kpanic] {self.rule.name}: {len(self.events)} events ({', '.join(kinds)})"

    def payload(self) -> dict[str, object]:
        return {
            "rule": {"id": self.rule.id, "name": self.rule.name},
            "digest": self.is_digest,
            "events": [
                {
                    "kind": e.kind,
                    "at": e.at.isoformat(),
                    "detail": e.detail,
                    "group": {
                        "id": e.group.group_id,
                        "title": e.group.title,
                        "subsystems": list(e.group.subsystems),
                        "class": e.group.bug_class,
                        "language": e.group.language,
                        "kernel": e.group.kernel,
                        "status": e.group.status,
                        "reports": e.group.report_count,
                        "url": e.group.url,
                    },
                }
                for e in self.events
            ],
        }

    def text(self) -> str:
        lines = [self.subject(), ""]
        for e in self.events:
            g = e.group
            lines.append(f"* {e.kind}: {g.title}")
            facts = [f"group {g.group_id}", f"{g.report_count} reports", f"status {g.status}"]
            if g.bug_class:
                facts.append(f"class {g.bug_class}")
            if g.kernel:
                facts.append(f"kernel {g.kernel}")
            if g.subsystems:
                facts.append("subsystems " + ", ".join(g.subsystems))
            lines.append("  " + "; ".join(facts))
            if e.detail:
                lines.append("  " + e.detail)
            if g.url:
                lines.append("  " + g.url)
        return "\n".join(lines) + "\n"


def plan(events: Iterable[Event], rules: Sequence[Rule]) -> list[Delivery]:
    """At most one delivery per rule for the events of one interval (a digest when several
    match); events keep their order."""
    evs = list(events)
    out: list[Delivery] = []
    for rule in rules:
        matched = tuple(e for e in evs if rule.matches(e))
        if matched:
            out.append(Delivery(rule, matched))
    return out


def crossed_threshold(
    crash_times: Sequence[dt.datetime], threshold: int, window: dt.timedelta
) -> bool:
    """Whether the newest crash made the count within ``window`` reach ``threshold`` (it fires
    once, on the crash that crosses the threshold, not on every crash after it)."""
    if threshold <= 0 or len(crash_times) < threshold:
        return False
    times = sorted(crash_times)
    newest = times[-1]
    within = [t for t in times if newest - t <= window]
    return len(within) == threshold
