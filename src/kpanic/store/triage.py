"""Triage in the store: state changes with their audit trail, owners, links, regressions on
intake, notification rules and the outbox. The rules themselves are ``kpanic.triage``; this
module only keeps what they decide.

Every function takes an open session (the caller owns the transaction), except those taking
the :class:`~kpanic.store.repository.Repository`, which open their own write transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from kpanic.errors import KpanicError
from kpanic.store.db import write_session
from kpanic.store.models import CrashGroup, GroupOverride, Report
from kpanic.store.triage_models import (
    GroupEvent,
    GroupLink,
    GroupSubsystem,
    GroupTriage,
    NotifyEvent,
    NotifyRule,
)
from kpanic.triage.lifecycle import Change, GroupState, Status, apply, on_crash
from kpanic.triage.maintainers import Maintainers, Match
from kpanic.triage.rules import EVENT_KINDS, EventKind, Rule

if TYPE_CHECKING:
    from kpanic.store.repository import Repository

__all__ = [
    "AuditEntry",
    "IngestedCrash",
    "LinkInfo",
    "TriageInfo",
    "TriageNotFound",
    "add_link",
    "assign",
    "change_status",
    "DeliveryInfo",
    "RuleInfo",
    "create_rule",
    "delete_rule",
    "groups_needing_owners",
    "list_rules",
    "rule_deliveries",
    "rule_info",
    "link_kind",
    "on_ingested",
    "owners_of_report",
    "possible_duplicates",
    "remove_link",
    "rule_of",
    "set_owners",
    "triage_info",
]


class TriageNotFound(KpanicError):
    """No such group, link or rule."""


def _clean(*values: str | None) -> None:
    """Text a maintainer typed goes into the database: a NUL byte cannot (PostgreSQL refuses
    it, and no legitimate name, reason or URL has one)."""
    for v in values:
        if v is not None and "\x00" in v:
            raise KpanicError("the text contains a NUL byte")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class AuditEntry:
    at: dt.datetime
    who: str
    action: str
    summary: str
    why: str


@dataclass(frozen=True)
class LinkInfo:
    id: int
    kind: str
    url: str
    title: str
    added_by: str
    added_at: dt.datetime


@dataclass(frozen=True)
class TriageInfo:
    group_id: int
    state: GroupState
    assignee: str | None
    regressed_at: dt.datetime | None
    before_fix: int
    unplaced: int
    subsystems: tuple[str, ...]
    history: tuple[AuditEntry, ...] = ()
    links: tuple[LinkInfo, ...] = field(default_factory=tuple)


def _state(row: GroupTriage | None) -> GroupState:
    if row is None:
        return GroupState()
    return GroupState(
        status=row.status,  # type: ignore[arg-type]
        fix_commit=row.fix_commit,
        fix_release=row.fix_release,
        invalid_reason=row.invalid_reason,
        duplicate_of=row.duplicate_of,
        regressed=row.regressed,
    )


def _group_or_404(s: Session, group_id: int) -> CrashGroup:
    g = s.get(CrashGroup, group_id)
    if g is None:
        raise TriageNotFound(f"no such group: {group_id}")
    return g


def triage_info(s: Session, group_id: int, *, history: int = 200) -> TriageInfo:
    _group_or_404(s, group_id)
    row = s.get(GroupTriage, group_id)
    subs = tuple(
        s.scalars(
            select(GroupSubsystem.subsystem)
            .where(GroupSubsystem.group_id == group_id)
            .order_by(GroupSubsystem.rank, GroupSubsystem.subsystem)
        )
    )
    events = tuple(
        AuditEntry(e.at, e.who, e.action, e.summary, e.why)
        for e in s.scalars(
            select(GroupEvent)
            .where(GroupEvent.group_id == group_id)
            .order_by(GroupEvent.at.desc(), GroupEvent.id.desc())
            .limit(history)
        )
    )
    links = tuple(
        LinkInfo(x.id, x.kind, x.url, x.title, x.added_by, x.added_at)
        for x in s.scalars(
            select(GroupLink).where(GroupLink.group_id == group_id).order_by(GroupLink.id)
        )
    )
    return TriageInfo(
        group_id=group_id,
        state=_state(row),
        assignee=row.assignee if row else None,
        regressed_at=row.regressed_at if row else None,
        before_fix=row.before_fix if row else 0,
        unplaced=row.unplaced if row else 0,
        subsystems=subs,
        history=events,
        links=links,
    )


# ---------------------------------------------------------------------------------- writing


def _row(s: Session, group_id: int) -> GroupTriage:
    row = s.get(GroupTriage, group_id, with_for_update=_pg(s))
    if row is None:
        row = GroupTriage(
            group_id=group_id,
            status="open",
            regressed=False,
            before_fix=0,
            unplaced=0,
            updated_at=_now(),
        )
        s.add(row)
        s.flush()
    return row


def _pg(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def _audit(
    s: Session,
    group_id: int,
    who: str,
    action: str,
    summary: str,
    why: str = "",
    detail: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> None:
    s.add(
        GroupEvent(
            group_id=group_id,
            at=at or _now(),
            who=who[:128],
            action=action,
            summary=summary[:500],
            why=why,
            detail=detail,
        )
    )


def change_status(
    repo: Repository,
    group_id: int,
    status: Status,
    *,
    who: str,
    why: str = "",
    commit: str | None = None,
    release: str | None = None,
    reason: str | None = None,
    duplicate_of: int | None = None,
) -> Change:
    """Move a group to ``status`` (validated by :func:`kpanic.triage.lifecycle.apply`) and
    record it. ``duplicate`` moves the group's reports to the other group and sends its
    signature there (as a merge does); moving it out of ``duplicate`` brings them back."""
    _clean(who, why, commit, release, reason)
    with write_session(repo.engine) as s:
        _group_or_404(s, group_id)
        row = _row(s, group_id)
        before = _state(row)
        change = apply(
            before,
            status,
            who=who,
            why=why,
            group_id=group_id,
            commit=commit,
            release=release,
            reason=reason,
            duplicate_of=duplicate_of,
        )
        after = change.after
        if after.status == "duplicate":
            assert after.duplicate_of is not None
            target = _group_or_404(s, after.duplicate_of)
            if target.id == group_id:
                raise KpanicError("a group cannot be a duplicate of itself")
            tstate = _state(s.get(GroupTriage, target.id))
            if tstate.status == "duplicate":
                raise KpanicError(
                    f"group {target.id} is itself a duplicate of {tstate.duplicate_of}: "
                    "mark this one a duplicate of that group"
                )
        if before.status == "duplicate" and before.duplicate_of is not None:
            _undo_duplicate(repo, s, group_id, before.duplicate_of)
        if after.status == "duplicate" and after.duplicate_of is not None:
            _make_duplicate(repo, s, group_id, after.duplicate_of)
        row.status = after.status
        row.fix_commit = after.fix_commit
        row.fix_release = after.fix_release
        row.invalid_reason = after.invalid_reason
        row.duplicate_of = after.duplicate_of
        row.regressed = after.regressed
        if not after.regressed:
            row.regressed_at = None
        row.updated_at = change.at
        _audit(
            s,
            group_id,
            who,
            "status",
            change.summary(),
            change.why,
            {
                "status": after.status,
                "commit": after.fix_commit,
                "release": after.fix_release,
                "duplicate_of": after.duplicate_of,
            },
            at=change.at,
        )
        if before.status != after.status:
            _notify(s, "status", group_id, None, change.summary(), change.at)
    return change


def _make_duplicate(repo: Repository, s: Session, group_id: int, target_id: int) -> None:
    src = _group_or_404(s, group_id)
    existing = s.scalar(select(GroupOverride).where(GroupOverride.signature == src.signature))
    if existing is None:
        s.add(GroupOverride(signature=src.signature, group_id=target_id, kind="merge"))
    else:
        existing.group_id = target_id
    s.execute(update(Report).where(Report.group_id == group_id).values(group_id=target_id))
    repo._recompute_group(s, target_id)
    s.execute(
        update(CrashGroup)
        .where(CrashGroup.id == group_id)
        .values(report_count=0, full_count=0, last_report_id=None)
    )


def _undo_duplicate(repo: Repository, s: Session, group_id: int, target_id: int) -> None:
    src = _group_or_404(s, group_id)
    s.execute(
        delete(GroupOverride).where(
            GroupOverride.signature == src.signature, GroupOverride.group_id == target_id
        )
    )
    s.execute(
        update(Report)
        .where(Report.group_id == target_id, Report.signature == src.signature)
        .values(group_id=group_id)
    )
    repo._recompute_group(s, group_id)
    if s.get(CrashGroup, target_id) is not None:
        repo._recompute_group(s, target_id)


def assign(
    repo: Repository, group_id: int, assignee: str | None, *, who: str, why: str = ""
) -> None:
    _clean(assignee, who, why)
    name = (assignee or "").strip()[:128] or None
    with write_session(repo.engine) as s:
        _group_or_404(s, group_id)
        row = _row(s, group_id)
        if row.assignee == name:
            return
        row.assignee = name
        row.updated_at = _now()
        _audit(s, group_id, who, "assign", f"assigned to {name}" if name else "unassigned", why)


# (kind, URL pattern, why): the first match names the link; the kind decides the icon and
# whether the title is a commit subject.
_LINK_KINDS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (
        "commit",
        re.compile(r"/(?:commit|commits|-/commit)/[0-9a-f]{7,40}\b|[?&;]id=[0-9a-f]{7,40}"),
        "git web views: git.kernel.org cgit (?id=), GitHub and GitLab (/commit/)",
    ),
    ("lore", re.compile(r"^https?://(?:lore|lkml)\.kernel\.org/"), "mailing-list threads"),
    ("bugzilla", re.compile(r"/show_bug\.cgi\?id=\d+|bugzilla\."), "Bugzilla instances"),
    ("gitlab", re.compile(r"gitlab\.[^/]+/.+/-/issues/\d+|/-/issues/\d+"), "GitLab issues"),
    (
        "github",
        re.compile(r"^https?://github\.com/[^/]+/[^/]+/(?:issues|pull)/\d+"),
        "GitHub issues and pull requests",
    ),
)
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def link_kind(url: str) -> str:
    for kind, pattern, _why in _LINK_KINDS:
        if pattern.search(url):
            return kind
    return "other"


def add_link(repo: Repository, group_id: int, url: str, *, who: str, title: str = "") -> int:
    _clean(url, who, title)
    u = url.strip()
    if len(u) > 2000 or not _URL.match(u):
        raise KpanicError("a link must be an http(s) URL of at most 2,000 characters")
    kind = link_kind(u)
    with write_session(repo.engine) as s:
        _group_or_404(s, group_id)
        link = GroupLink(
            group_id=group_id,
            kind=kind,
            url=u,
            title=title.strip()[:500],
            added_by=who[:128],
            added_at=_now(),
        )
        s.add(link)
        s.flush()
        label = f"{kind} link added" + (f": {link.title}" if link.title else "")
        _audit(s, group_id, who, "link", label, "", {"url": u, "kind": kind})
        return link.id


def remove_link(repo: Repository, group_id: int, link_id: int, *, who: str) -> None:
    with write_session(repo.engine) as s:
        link = s.get(GroupLink, link_id)
        if link is None or link.group_id != group_id:
            raise TriageNotFound(f"no link {link_id} on group {group_id}")
        _audit(s, group_id, who, "link", f"{link.kind} link removed", "", {"url": link.url})
        s.delete(link)


# ---------------------------------------------------------------------------------- owners


def owners_of_report(maintainers: Maintainers, parse: dict[str, Any] | None) -> list[Match]:
    """Subsystems owning a stored report: its guilty file, then its frames' files, then its
    frame names for K: patterns."""
    reports = (parse or {}).get("reports") or []
    if not reports:
        return []
    rep = reports[0]
    files: list[str] = []
    if rep.get("guilty_file"):
        files.append(str(rep["guilty_file"]))
    frames = rep.get("frames") or []
    files += [str(f["file"]).split(":")[0] for f in frames if isinstance(f, dict) and f.get("file")]
    funcs = [str(f["function"]) for f in frames if isinstance(f, dict) and f.get("function")]
    if rep.get("guilty_frame"):
        funcs.insert(0, str(rep["guilty_frame"]))
    return maintainers.owners(files, funcs)


def set_owners(s: Session, group_id: int, matches: Sequence[Match]) -> None:
    s.execute(delete(GroupSubsystem).where(GroupSubsystem.group_id == group_id))
    seen: set[str] = set()
    for rank, m in enumerate(matches):
        if m.subsystem.name in seen:
            continue
        seen.add(m.subsystem.name)
        s.add(
            GroupSubsystem(
                group_id=group_id,
                subsystem=m.subsystem.name[:200],
                rank=rank,
                reason=m.reason[:500],
            )
        )


def assign_owners(
    repo: Repository, maintainers: Maintainers, group_ids: Iterable[int] | None = None
) -> int:
    """Recompute the subsystems of the given groups (all when None) from each group's newest
    report; returns how many groups have owners."""
    owned = 0
    with write_session(repo.engine) as s:
        q = select(CrashGroup.id, CrashGroup.last_report_id)
        if group_ids is not None:
            q = q.where(CrashGroup.id.in_(list(group_ids)))
        for gid, rid in s.execute(q).all():
            parse = s.scalar(select(Report.parse).where(Report.id == rid)) if rid else None
            matches = owners_of_report(maintainers, parse)
            set_owners(s, gid, matches)
            owned += bool(matches)
    return owned


def possible_duplicates(s: Session, group_id: int, *, limit: int = 10) -> list[tuple[int, str]]:
    """Other open groups that name the same function in their title (``... in func``): the
    candidates a maintainer checks before marking a duplicate."""
    g = _group_or_404(s, group_id)
    fn = _title_function(g.title)
    if fn is None:
        return []
    q = (
        select(CrashGroup.id, CrashGroup.title)
        .outerjoin(GroupTriage, GroupTriage.group_id == CrashGroup.id)
        .where(
            CrashGroup.id != group_id,
            CrashGroup.title.like(f"% in {fn}"),
            func.coalesce(GroupTriage.status, "open") == "open",
        )
        .order_by(CrashGroup.report_count.desc())
        .limit(limit)
    )
    return [(int(i), str(t)) for i, t in s.execute(q).all()]


_IN_FUNC = re.compile(r" in ([A-Za-z_][\w.]*)$")


def _title_function(title: str) -> str | None:
    m = _IN_FUNC.search(title or "")
    if m is None or m.group(1) == "corrupted":
        return None
    return m.group(1)


# ---------------------------------------------------------------------------------- intake


@dataclass(frozen=True)
class IngestedCrash:
    """What the intake tells triage about one stored crash (in the intake's transaction)."""

    group_id: int
    new_group: bool
    kernel: str | None
    received_at: dt.datetime
    report_id: int | None = None


Effect = Literal["counted", "regressed", "before-fix", "unplaced", "redirect"]


def _count_machines(s: Session, report_ids: list[int]) -> None:
    """Distinct machines per group, kept as a counter: a new report counts its machine when it
    is the group's earliest report from that machine (so two reports of one machine in one
    batch count once). One primary-key read; one indexed probe per report with a machine."""
    if not report_ids:
        return
    rows = s.execute(
        select(Report.id, Report.group_id, Report.machine).where(
            Report.id.in_(report_ids), Report.machine.is_not(None)
        )
    ).all()
    for rid, gid, machine in rows:
        earlier = (
            select(Report.id)
            .where(Report.group_id == gid, Report.machine == machine, Report.id < rid)
            .exists()
        )
        s.execute(
            update(CrashGroup)
            .where(CrashGroup.id == gid, ~earlier)
            .values(machine_count=CrashGroup.machine_count + 1)
        )


def recount_machines(s: Session, group_id: int) -> int:
    """A group's distinct machines from its reports (after merges, splits and deletions)."""
    n = s.scalar(
        select(func.count(func.distinct(Report.machine))).where(
            Report.group_id == group_id, Report.machine.is_not(None)
        )
    )
    s.execute(update(CrashGroup).where(CrashGroup.id == group_id).values(machine_count=n or 0))
    return int(n or 0)


def on_ingested(s: Session, crashes: Sequence[IngestedCrash]) -> dict[int, Effect]:
    """Apply regressions and queue notification events for crashes just stored, inside the
    intake's transaction. Costs two indexed reads when nothing is triaged and no rule is set."""
    if not crashes:
        return {}
    _count_machines(s, [c.report_id for c in crashes if c.report_id is not None])
    ids = sorted({c.group_id for c in crashes})
    found = s.scalars(select(GroupTriage).where(GroupTriage.group_id.in_(ids)))
    rows = {r.group_id: r for r in found}
    rules = _enabled_rules(s)
    effects: dict[int, Effect] = {}
    for c in crashes:
        row = rows.get(c.group_id)
        if c.new_group and rules:
            _notify(s, "new-group", c.group_id, c.kernel, "", c.received_at)
        if row is None:
            continue
        effect, after = on_crash(_state(row), c.kernel)
        effects[c.group_id] = effect
        if effect == "before-fix":
            row.before_fix += 1
        elif effect == "unplaced":
            row.unplaced += 1
        elif effect == "regressed":
            fix = row.fix_release
            row.status = after.status
            row.regressed = True
            row.regressed_at = c.received_at
            row.updated_at = c.received_at
            detail = f"fixed in {fix}, crashed again on {c.kernel}"
            _audit(
                s,
                c.group_id,
                "kpanic",
                "regressed",
                "regressed",
                detail,
                {"fix_release": fix, "kernel": c.kernel},
                at=c.received_at,
            )
            _notify(s, "regression", c.group_id, c.kernel, detail, c.received_at)
    escalating = [r for r in rules if r.threshold > 0 and "escalation" in r.events]
    for rule in escalating:
        for gid in ids:
            if _crossed(s, gid, rule, [c for c in crashes if c.group_id == gid]):
                _notify(
                    s,
                    "escalation",
                    gid,
                    None,
                    f"{rule.threshold} crashes within {rule.window_s // 60} min",
                    max(c.received_at for c in crashes if c.group_id == gid),
                )
    return effects


def _crossed(s: Session, gid: int, rule: NotifyRule, batch: Sequence[IngestedCrash]) -> bool:
    if not batch:
        return False
    newest = max(c.received_at for c in batch)
    since = newest - dt.timedelta(seconds=rule.window_s)
    count = (
        s.scalar(
            select(func.count())
            .select_from(Report)
            .where(Report.group_id == gid, Report.received_at > since)
        )
        or 0
    )
    before = count - len(batch)
    return before < rule.threshold <= count


def _enabled_rules(s: Session) -> list[NotifyRule]:
    return list(s.scalars(select(NotifyRule).where(NotifyRule.enabled.is_(True))))


def _notify(
    s: Session, kind: EventKind, group_id: int, kernel: str | None, detail: str, at: dt.datetime
) -> None:
    s.add(NotifyEvent(kind=kind, group_id=group_id, kernel=kernel, detail=detail[:500], at=at))


# ---------------------------------------------------------------------------------- rules


def create_rule(
    s: Session,
    *,
    name: str,
    channel: Literal["webhook", "email"],
    target: str,
    who: str,
    events: Iterable[str] = EVENT_KINDS,
    subsystem: str | None = None,
    bug_class: str | None = None,
    language: str | None = None,
    kernel_prefix: str | None = None,
    threshold: int = 0,
    window_s: int = 3600,
    secret: str | None = None,
) -> NotifyRule:
    _clean(name, target, who, subsystem, bug_class, language, kernel_prefix, secret)
    kinds = [e for e in events]
    bad = [e for e in kinds if e not in EVENT_KINDS]
    if bad or not kinds:
        raise KpanicError(f"unknown event kind(s) {bad}; choose from {', '.join(EVENT_KINDS)}")
    if channel == "webhook":
        if not _URL.match(target.strip()):
            raise KpanicError("a webhook target must be an http(s) URL")
        if not secret or len(secret) < 16:
            raise KpanicError("a webhook needs a secret of at least 16 characters")
    elif channel == "email":
        if not re.match(r"^[^@\s]+@[^@\s]+$", target.strip()):
            raise KpanicError("an e-mail target must be an address")
    else:
        raise KpanicError("channel must be webhook or email")
    if not 0 <= threshold <= 1_000_000 or not 60 <= window_s <= 30 * 86400:
        raise KpanicError("threshold 0..1,000,000; window 60 s .. 30 days")
    rule = NotifyRule(
        name=name.strip()[:128] or channel,
        events=",".join(kinds),
        subsystem=subsystem or None,
        bug_class=bug_class or None,
        language=language or None,
        kernel_prefix=kernel_prefix or None,
        threshold=threshold,
        window_s=window_s,
        channel=channel,
        target=target.strip(),
        secret=secret,
        enabled=True,
        created_by=who[:128],
        created_at=_now(),
    )
    s.add(rule)
    s.flush()
    return rule


def rule_of(row: NotifyRule) -> Rule:
    kinds = frozenset(k for k in row.events.split(",") if k in EVENT_KINDS)
    return Rule(
        id=row.id,
        name=row.name,
        events=kinds,  # type: ignore[arg-type]
        subsystem=row.subsystem,
        bug_class=row.bug_class,
        language=row.language,
        kernel_prefix=row.kernel_prefix,
        threshold=row.threshold,
        window=dt.timedelta(seconds=row.window_s),
    )


@dataclass(frozen=True)
class RuleInfo:
    """A rule as shown to an admin: never the webhook secret, only whether it has one."""

    id: int
    name: str
    events: tuple[str, ...]
    subsystem: str | None
    bug_class: str | None
    language: str | None
    kernel_prefix: str | None
    threshold: int
    window_s: int
    channel: str
    target: str
    has_secret: bool
    enabled: bool
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class DeliveryInfo:
    """One outbox message of a rule with its attempts (the delivery log)."""

    id: int
    created_at: dt.datetime
    state: str
    attempts: int
    subject: str
    last_status: int | None
    last_answer: str | None
    sent_at: dt.datetime | None
    log: tuple[tuple[dt.datetime, bool, int | None, str], ...] = ()


def rule_info(row: NotifyRule) -> RuleInfo:
    return RuleInfo(
        id=row.id,
        name=row.name,
        events=tuple(k for k in row.events.split(",") if k),
        subsystem=row.subsystem,
        bug_class=row.bug_class,
        language=row.language,
        kernel_prefix=row.kernel_prefix,
        threshold=row.threshold,
        window_s=row.window_s,
        channel=row.channel,
        target=row.target,
        has_secret=bool(row.secret),
        enabled=row.enabled,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def list_rules(s: Session) -> list[RuleInfo]:
    return [rule_info(r) for r in s.scalars(select(NotifyRule).order_by(NotifyRule.id))]


def delete_rule(s: Session, rule_id: int) -> None:
    """Delete a rule with its outbox messages and their delivery log."""
    from kpanic.store.triage_models import NotifyAttempt, NotifyOutbox

    if s.get(NotifyRule, rule_id) is None:
        raise TriageNotFound(f"no such rule: {rule_id}")
    outbox = select(NotifyOutbox.id).where(NotifyOutbox.rule_id == rule_id)
    s.execute(delete(NotifyAttempt).where(NotifyAttempt.outbox_id.in_(outbox)))
    s.execute(delete(NotifyOutbox).where(NotifyOutbox.rule_id == rule_id))
    s.execute(delete(NotifyRule).where(NotifyRule.id == rule_id))


def rule_deliveries(s: Session, rule_id: int, *, limit: int = 50) -> list[DeliveryInfo]:
    """The newest outbox messages of a rule, each with its attempts (newest first)."""
    from kpanic.store.triage_models import NotifyAttempt, NotifyOutbox

    if s.get(NotifyRule, rule_id) is None:
        raise TriageNotFound(f"no such rule: {rule_id}")
    msgs = list(
        s.scalars(
            select(NotifyOutbox)
            .where(NotifyOutbox.rule_id == rule_id)
            .order_by(NotifyOutbox.id.desc())
            .limit(limit)
        )
    )
    attempts: dict[int, list[tuple[dt.datetime, bool, int | None, str]]] = {}
    if msgs:
        for a in s.scalars(
            select(NotifyAttempt)
            .where(NotifyAttempt.outbox_id.in_([m.id for m in msgs]))
            .order_by(NotifyAttempt.id.desc())
        ):
            attempts.setdefault(a.outbox_id, []).append((a.at, a.ok, a.status, a.answer))
    return [
        DeliveryInfo(
            m.id,
            m.created_at,
            m.state,
            m.attempts,
            m.subject,
            m.last_status,
            m.last_answer,
            m.sent_at,
            tuple(attempts.get(m.id, ())),
        )
        for m in msgs
    ]


def groups_needing_owners(s: Session, since: dt.datetime | None, *, limit: int = 1000) -> list[int]:
    """Groups without subsystems that have pending notification events or were first seen
    at or after ``since``: what the dispatcher gives owners before it plans (rules filter on
    subsystems)."""
    owned = select(GroupSubsystem.group_id)
    pending = select(NotifyEvent.group_id)
    cond: ColumnElement[bool] = CrashGroup.id.in_(pending)
    if since is not None:
        cond = cond | (CrashGroup.first_seen >= since)
    q = select(CrashGroup.id).where(cond, CrashGroup.id.not_in(owned)).limit(limit)
    return [int(i) for i in s.scalars(q)]
