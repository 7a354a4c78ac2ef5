"""Two dispatchers never plan the same events twice: on PostgreSQL the planner skips events
another dispatcher's transaction holds (SKIP LOCKED); SQLite has one writer at a time."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kpanic.store import triage
from kpanic.store.db import write_session
from kpanic.store.notify import dispatch
from kpanic.store.triage_models import NotifyEvent, NotifyOutbox
from tests.web.triage_data import kasan_on


@pytest.mark.postgres
def test_events_held_by_another_planner_are_skipped(repo) -> None:  # type: ignore[no-untyped-def]
    if repo.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: no second planner can run at the same time")
    with write_session(repo.engine) as s:
        triage.create_rule(
            s, name="mail", channel="email", target="a@example.org", who="t", events=["new-group"]
        )
    repo.ingest_log(kasan_on("6.15.1"))
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    with write_session(repo.engine) as other:  # another dispatcher in the middle of planning
        held = list(other.scalars(select(NotifyEvent).with_for_update()))
        assert len(held) == 1
        first = dispatch(repo.engine, base_url="http://x", now=lambda: later)
        assert first.planned == 0
    second = dispatch(repo.engine, base_url="http://x", now=lambda: later)
    assert second.planned == 1
    with write_session(repo.engine) as s:
        assert len(list(s.scalars(select(NotifyOutbox)))) == 1
