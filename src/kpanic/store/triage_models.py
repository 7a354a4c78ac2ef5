"""Tables of triage: a group's state, owners, audit trail and links; notification rules, the
pending events, the durable outbox and its delivery log.

A group without a ``group_triage`` row is open and unassigned (no row is written until a
maintainer or a rule touches the group, so intake pays nothing for groups nobody triages).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kpanic.store.models import Base, IdType, JSONType, utcnow


class GroupTriage(Base):
    __tablename__ = "group_triage"

    group_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("crash_groups.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    fix_commit: Mapped[str | None] = mapped_column(String(200))
    fix_release: Mapped[str | None] = mapped_column(String(128))
    invalid_reason: Mapped[str | None] = mapped_column(String(500))
    duplicate_of: Mapped[int | None] = mapped_column(IdType)
    regressed: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    regressed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    assignee: Mapped[str | None] = mapped_column(String(128), index=True)
    before_fix: Mapped[int] = mapped_column(BigInteger, default=0)  # crashes on older releases
    unplaced: Mapped[int] = mapped_column(BigInteger, default=0)  # release not comparable
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GroupSubsystem(Base):
    """The subsystems owning a group (from MAINTAINERS), most specific first (``rank`` 0)."""

    __tablename__ = "group_subsystems"

    group_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("crash_groups.id", ondelete="CASCADE"), primary_key=True
    )
    subsystem: Mapped[str] = mapped_column(String(200), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(500), default="")

    __table_args__ = (Index("ix_group_subsystems_subsystem_group", "subsystem", "group_id"),)


class GroupEvent(Base):
    """The audit trail: every state change, assignment and link, with who, when and why."""

    __tablename__ = "group_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("crash_groups.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    who: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))  # status | assign | link | regressed
    summary: Mapped[str] = mapped_column(String(500), default="")
    why: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class GroupLink(Base):
    __tablename__ = "group_links"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("crash_groups.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # bugzilla|gitlab|github|lore|commit|other
    url: Mapped[str] = mapped_column(String(2000))
    title: Mapped[str] = mapped_column(String(500), default="")  # e.g. the fix commit's subject
    added_by: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class NotifyRule(Base):
    __tablename__ = "notify_rules"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    events: Mapped[str] = mapped_column(String(128))  # comma list of event kinds
    subsystem: Mapped[str | None] = mapped_column(String(200))
    bug_class: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    kernel_prefix: Mapped[str | None] = mapped_column(String(64))
    threshold: Mapped[int] = mapped_column(Integer, default=0)
    window_s: Mapped[int] = mapped_column(Integer, default=3600)
    channel: Mapped[str] = mapped_column(String(16))  # webhook | email
    target: Mapped[str] = mapped_column(String(2000))  # URL or mail address
    secret: Mapped[str | None] = mapped_column(String(128))  # webhook HMAC key
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class NotifyEvent(Base):
    """An event waiting for the next digest interval (deleted once planned into the outbox)."""

    __tablename__ = "notify_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[int] = mapped_column(IdType)
    kernel: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[str] = mapped_column(String(500), default="")


class NotifyOutbox(Base):
    """A message to deliver: written in the same transaction as the events it reports, sent
    and retried by the dispatcher; a restart loses nothing."""

    __tablename__ = "notify_outbox"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    rule_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("notify_rules.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    state: Mapped[str] = mapped_column(String(8), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    subject: Mapped[str] = mapped_column(String(300), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    text: Mapped[str] = mapped_column(Text, default="")
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_answer: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_notify_outbox_state_due", "state", "due_at"),)


class NotifyAttempt(Base):
    """The delivery log: one row per attempt with the receiver's answer."""

    __tablename__ = "notify_attempts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("notify_outbox.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[int | None] = mapped_column(Integer)
    answer: Mapped[str] = mapped_column(String(500), default="")


__all__ = [
    "GroupEvent",
    "GroupLink",
    "GroupSubsystem",
    "GroupTriage",
    "NotifyAttempt",
    "NotifyEvent",
    "NotifyOutbox",
    "NotifyRule",
]
