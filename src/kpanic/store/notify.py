"""The notification dispatcher: pending events -> one outbox message per rule -> deliveries.

``dispatch()`` runs every digest interval (``kpanic notify run``, or the service's background
loop). It works in short transactions so that a slow webhook never holds the database:

1. **plan**: the pending events become at most one outbox message per rule (a digest when
   several events match one rule), and the events are deleted, in one transaction;
2. **claim**: due messages are leased (``due_at`` moved a lease ahead, ``attempts + 1``) and
   committed, with ``SKIP LOCKED`` on PostgreSQL so several dispatchers never take one message;
3. **send** outside any transaction; **record** each attempt in the delivery log and either
   mark the message sent, reschedule it with backoff, or mark it failed.

A dispatcher killed between claim and record leaves the lease to expire: the message is sent
again later (receivers deduplicate by ``X-Kpanic-Delivery``). Nothing acknowledged is lost.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from kpanic.store.db import write_session
from kpanic.store.models import CrashGroup
from kpanic.store.triage import rule_of
from kpanic.store.triage_models import (
    GroupSubsystem,
    GroupTriage,
    NotifyAttempt,
    NotifyEvent,
    NotifyOutbox,
    NotifyRule,
)
from kpanic.triage.deliver import (
    AttemptResult,
    MailSettings,
    body_of,
    due_at,
    send_mail,
    send_webhook,
)
from kpanic.triage.rules import Event, GroupFacts, plan

__all__ = ["DispatchResult", "dispatch"]

LEASE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class DispatchResult:
    planned: int  # outbox messages written
    sent: int
    retrying: int
    failed: int


def _facts(s: Session, ev: NotifyEvent, base_url: str, cache: dict[int, GroupFacts]) -> GroupFacts:
    if ev.group_id not in cache:
        g = s.get(CrashGroup, ev.group_id)
        t = s.get(GroupTriage, ev.group_id)
        subs = tuple(
            s.scalars(
                select(GroupSubsystem.subsystem)
                .where(GroupSubsystem.group_id == ev.group_id)
                .order_by(GroupSubsystem.rank)
            )
        )
        cache[ev.group_id] = GroupFacts(
            group_id=ev.group_id,
            title=g.title if g else f"group {ev.group_id}",
            subsystems=subs,
            bug_class=g.bug_class if g else None,
            language=g.language if g else None,
            status=t.status if t else "open",
            report_count=int(g.report_count) if g else 0,
            url=f"{base_url.rstrip('/')}/groups/{ev.group_id}",
        )
    base = cache[ev.group_id]
    return GroupFacts(**{**base.__dict__, "kernel": ev.kernel})


def _plan(engine: Engine, now: dt.datetime, base_url: str) -> int:
    with write_session(engine) as s:
        q = (
            select(NotifyEvent)
            .where(NotifyEvent.at <= now)
            .order_by(NotifyEvent.at, NotifyEvent.id)
            .limit(10_000)
        )
        if s.get_bind().dialect.name == "postgresql":
            # Two dispatchers must not plan the same events twice (SQLite: one writer).
            q = q.with_for_update(skip_locked=True)
        events = list(s.scalars(q))
        if not events:
            return 0
        rows = list(s.scalars(select(NotifyRule).where(NotifyRule.enabled.is_(True))))
        cache: dict[int, GroupFacts] = {}
        evs = [
            Event(e.kind, _facts(s, e, base_url, cache), e.at, e.detail)  # type: ignore[arg-type]
            for e in events
        ]
        n = 0
        for d in plan(evs, [rule_of(r) for r in rows]):
            s.add(
                NotifyOutbox(
                    rule_id=d.rule.id,
                    created_at=now,
                    due_at=now,
                    state="pending",
                    attempts=0,
                    subject=d.subject(),
                    payload=d.payload(),
                    text=d.text(),
                )
            )
            n += 1
        s.execute(delete(NotifyEvent).where(NotifyEvent.id.in_([e.id for e in events])))
        return n


def _claim(engine: Engine, now: dt.datetime, limit: int) -> list[tuple[int, int]]:
    with write_session(engine) as s:
        q = (
            select(NotifyOutbox)
            .where(NotifyOutbox.state == "pending", NotifyOutbox.due_at <= now)
            .order_by(NotifyOutbox.due_at)
            .limit(limit)
        )
        if s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        claimed = []
        for m in s.scalars(q):
            m.attempts += 1
            m.due_at = now + LEASE
            claimed.append((m.id, m.attempts))
        return claimed


def dispatch(
    engine: Engine,
    *,
    base_url: str,
    mail: MailSettings | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    client: httpx.Client | None = None,
    limit: int = 100,
    rng: random.Random | None = None,
) -> DispatchResult:
    t = now()
    planned = _plan(engine, t, base_url)
    sent = retrying = failed = 0
    for outbox_id, attempts in _claim(engine, t, limit):
        with write_session(engine) as s:
            m = s.get(NotifyOutbox, outbox_id)
            rule = s.get(NotifyRule, m.rule_id) if m else None
            if m is None or rule is None:
                continue
            channel, target, secret = rule.channel, rule.target, rule.secret or ""
            payload, subject, text = dict(m.payload), m.subject, m.text
        result = _send(channel, target, secret, payload, subject, text, outbox_id, mail, client)
        with write_session(engine) as s:
            m = s.get(NotifyOutbox, outbox_id)
            if m is None:
                continue
            s.add(
                NotifyAttempt(
                    outbox_id=outbox_id,
                    at=now(),
                    ok=result.ok,
                    status=result.status,
                    answer=result.answer[:500],
                )
            )
            m.last_status, m.last_answer = result.status, result.answer[:500]
            if result.ok:
                m.state, m.sent_at = "sent", now()
                sent += 1
            elif result.final:
                m.state = "failed"
                failed += 1
            else:
                nxt = due_at(attempts, now(), rng=rng)
                if nxt is None:
                    m.state = "failed"
                    failed += 1
                else:
                    m.due_at = nxt
                    retrying += 1
    return DispatchResult(planned, sent, retrying, failed)


def _send(
    channel: str,
    target: str,
    secret: str,
    payload: dict[str, object],
    subject: str,
    text: str,
    outbox_id: int,
    mail: MailSettings | None,
    client: httpx.Client | None,
) -> AttemptResult:
    if channel == "webhook":
        event = "digest" if payload.get("digest") else _first_kind(payload)
        return send_webhook(target, secret, body_of(payload), event, outbox_id, client=client)
    if mail is None:
        return AttemptResult(False, False, None, "no SMTP server configured (KPANIC_SMTP_HOST)")
    return send_mail(mail, target, subject, text)


def _first_kind(payload: dict[str, object]) -> str:
    events = payload.get("events")
    if isinstance(events, list) and events and isinstance(events[0], dict):
        return str(events[0].get("kind", "event"))
    return "event"
