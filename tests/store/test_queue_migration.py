"""Migration 0007 (the submissions queue): upgrade from the previous head keeps the reports,
and the queue works on the upgraded database; downgrade removes only the queue."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from kpanic.pipeline.submission import Submission
from kpanic.store import queue
from kpanic.store.db import alembic_config, current_revision, make_engine, upgrade
from kpanic.store.repository import Repository


def test_upgrade_from_0006_triage_keeps_reports_and_adds_the_queue(db_url: str) -> None:
    from tests.web.conftest import demo_log

    upgrade(db_url)
    with Repository(db_url) as repo:
        stored = repo.ingest_log(demo_log(428))
    # The previous head, as deployed (the report stays; later columns go with their revisions).
    command.downgrade(alembic_config(db_url), "0006_triage")
    engine = make_engine(db_url)

    def report_kept() -> bool:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT title FROM reports WHERE id = :id"), {"id": stored.report_id}
            ).scalar()
        return found == stored.title

    try:
        assert "submissions" not in sa.inspect(engine).get_table_names()
        assert report_kept()
        upgrade(db_url, "0007")
        assert current_revision(db_url) == "0007"
        (acc,) = queue.enqueue_many(engine, [Submission("log", "x\x00y")])  # NUL-safe
        (job,) = queue.claim(engine, "text", 5, lease_s=30)
        assert job.id == acc.id and job.submission.data == "x\x00y"
        assert report_kept()
        command.downgrade(alembic_config(db_url), "0006_triage")
        assert "submissions" not in sa.inspect(engine).get_table_names()
        assert report_kept()
    finally:
        engine.dispose()
        upgrade(db_url)  # leave the (possibly shared) test database at head
    with Repository(db_url) as repo:
        assert repo.get_report(stored.report_id) is not None
