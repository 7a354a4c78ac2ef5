"""One crash, many pieces, one report (kpanic.store.join), on SQLite and PostgreSQL.

The pieces are real: syzkaller corpus logs ended the way a panic ends them, their QR tail the
kmsg the kernel's own encoder logic keeps for a version 40 code (kpanic.qr.kmsg.url_mode, as
tests/corpus does), sent as the panic URL it draws; pstore parts are cut from the same logs
at odd offsets. Both write paths (single ``store`` and batched ``store_many``), both orders.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kpanic.qr.kmsg import build_url, url_mode
from kpanic.settings import get_settings
from kpanic.store import join
from kpanic.store.db import read_session
from kpanic.store.ingest import PreparedReport, prepare_log, prepare_url
from kpanic.store.models import CrashGroup, DailyCount, Report, ReportSource
from kpanic.store.repository import Pending, Repository
from tests.store.conftest import TABLES, _empty_pg, corpus_logs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report" / "fixtures"))
import make_variants as mv

T0 = dt.datetime(2026, 12, 3, 10, 1, tzinfo=dt.UTC)
# Corpus logs whose QR tail is shorter than the log and analyses to another title (the tail
# lost the report's head: "kernel panic: ..."); 719 and 720 share their kernel release.
SPLIT = ("719", "704", "737", "743")
SAME_KERNEL = ("719", "720")


@functools.cache
def _logs() -> dict[str, str]:
    return {c.name: mv.panic_trailer(c.log, mv.panic_message(c.title)) for c in corpus_logs()}


@functools.cache
def pieces(name: str) -> tuple[PreparedReport, PreparedReport]:
    """(the QR tail as a panic URL, the full log) of one corpus crash, scrubbed as intake
    scrubs them."""
    full_text = _logs()[name]
    full = prepare_log(full_text, scrub=True)
    assert full.kernel
    prefix = build_url(
        "https://kpanic.example.org/report", arch=full.arch or "x86_64", kernel=full.kernel
    )
    url = url_mode(full_text, prefix, qr_version=40).code.text
    return prepare_url(url, scrub=True), full


@pytest.fixture
def jrepo(db_url: str):  # type: ignore[no-untyped-def]
    r = Repository(db_url, settings=get_settings(db_url, sample_limit=3))
    yield r
    r.close()


def _counts(repo: Repository) -> dict[str, object]:
    with read_session(repo.engine) as s:
        groups = sorted(
            (g.signature, g.report_count, g.full_count) for g in s.scalars(select(CrashGroup))
        )
        total = s.scalar(
            select(func.coalesce(func.sum(DailyCount.count), 0)).where(DailyCount.dim == "total")
        )
        reports = s.scalar(select(func.count()).select_from(Report))
        sources = sorted(
            (r.report_id, r.role, r.source_kind, r.content_hash)
            for r in s.scalars(select(ReportSource))
        )
    return {"groups": groups, "total": total, "reports": reports, "sources": sources}


# ------------------------------------------------------------------ the text test


def test_every_qr_tail_of_the_corpus_is_a_piece_of_its_log() -> None:
    """All corpus crashes with a kernel release: the URL's kmsg (scrubbed) is contained in
    the scrubbed full log, and a log is never a piece of its own tail."""
    checked = 0
    for name in list(_logs())[::6]:
        try:
            tail, full = pieces(name)
        except Exception:  # no kernel release, or no crash: not a joinable pair
            continue
        small, big = join.log_lines(join.report_text(tail)), join.log_lines(full.original)
        if not join.big_enough(small):
            continue
        assert join.contains(big, small), name
        if len(small) < len(big):
            assert not join.contains(small, big), name
        checked += 1
    assert checked >= 40


def test_unrelated_crashes_of_one_kernel_never_contain_each_other() -> None:
    """The tails and logs of different corpus crashes: no pair joins, whatever the kernel."""
    names = [n for n in list(_logs())[::9]]
    texts = {}
    for n in names:
        try:
            tail, full = pieces(n)
        except Exception:
            continue
        texts[n] = (join.log_lines(join.report_text(tail)), join.log_lines(full.original))
    assert len(texts) >= 30
    for a, (tail_a, _full_a) in texts.items():
        for b, (tail_b, full_b) in texts.items():
            if a != b:
                assert not join.contains(full_b, tail_a), (a, b)
                assert not join.contains(tail_b, tail_a) or tail_a == tail_b, (a, b)


def test_short_logs_never_join() -> None:
    lines = join.log_lines(_logs()["719"])
    assert join.contains(lines, lines[-join.MIN_LINES :])
    assert not join.contains(lines, lines[-(join.MIN_LINES - 1) :])
    tiny = ["[    1.0] a", "[    1.1] b"] * 5  # enough lines, too few characters
    assert not join.contains(tiny * 3, tiny)


def test_cut_lines_at_both_ends_are_a_piece() -> None:
    text = _logs()["719"]
    start, end = len(text) // 3 + 7, 2 * len(text) // 3 + 11  # odd offsets, inside lines
    part = text[start:end]
    assert "\n" + part.split("\n", 1)[0] + "\n" not in text  # really cut mid-line
    assert join.contains(join.log_lines(text), join.log_lines(part))
    other = _logs()["720"]
    assert not join.contains(join.log_lines(other), join.log_lines(part))


# ------------------------------------------------------------------ single writes


def test_full_log_after_its_qr_tail_upgrades_the_report(jrepo: Repository) -> None:
    tail, full = pieces("719")
    assert tail.signature != full.signature  # the tail lost the report's head
    first = jrepo.store(tail, received_at=T0)
    assert first.is_new and first.signature == tail.signature
    second = jrepo.store(full, received_at=T0 + dt.timedelta(minutes=19))
    assert (second.report_id, second.is_new, second.joined) == (first.report_id, False, "fuller")
    assert second.signature == full.signature and second.title == full.title
    rep = jrepo.get_report(first.report_id)
    assert rep is not None
    assert rep.original == full.original and rep.summary.source_kind == "log"
    assert rep.summary.title == full.title and rep.content_hash == full.content_hash
    assert rep.summary.received_at == T0  # the crash was first seen with its tail
    # one report, one group: the tail's group (it had only this report) is gone
    assert jrepo.get_group(first.group_id) is None
    assert _counts(jrepo)["groups"] == [(full.signature, 1, 1)]
    assert _counts(jrepo)["total"] == 1
    sources = jrepo.report_sources(first.report_id)
    assert [(s.role, s.source_kind) for s in sources] == [("first", "url"), ("fuller", "log")]
    assert [s.content_hash for s in sources] == [tail.content_hash, full.content_hash]
    assert sources[1].lines == len(join.log_lines(full.original))
    assert join.describe_sources(sources)[0].startswith("panic URL (QR code), 2026-12-03 10:01")
    assert join.describe_sources(sources)[1].startswith("full log, 10:20")
    # sending either piece again changes nothing and names the report
    for p in (tail, full):
        again = jrepo.store(p, received_at=T0 + dt.timedelta(hours=1))
        assert again.report_id == first.report_id and not again.is_new
    assert _counts(jrepo)["total"] == 1 and _counts(jrepo)["reports"] == 1


def test_qr_tail_after_its_full_log_joins_without_a_new_report(jrepo: Repository) -> None:
    tail, full = pieces("704")
    first = jrepo.store(full, received_at=T0)
    before = _counts(jrepo)
    second = jrepo.store(tail, received_at=T0 + dt.timedelta(hours=2))
    assert (second.report_id, second.is_new, second.joined) == (first.report_id, False, "piece")
    assert second.signature == full.signature
    after = _counts(jrepo)
    assert after["groups"] == before["groups"] and after["total"] == before["total"] == 1
    rep = jrepo.get_report(first.report_id)
    assert rep is not None and rep.original == full.original
    roles = [(s.role, s.source_kind) for s in jrepo.report_sources(first.report_id)]
    assert roles == [("first", "log"), ("piece", "url")]


def test_an_unrelated_crash_of_the_same_kernel_never_joins(jrepo: Repository) -> None:
    tail_a, full_a = pieces(SAME_KERNEL[0])
    tail_b, full_b = pieces(SAME_KERNEL[1])
    assert full_a.kernel == full_b.kernel and full_a.arch == full_b.arch
    a = jrepo.store(full_a, received_at=T0)
    b = jrepo.store(tail_b, received_at=T0 + dt.timedelta(minutes=5))
    c = jrepo.store(full_b, received_at=T0 + dt.timedelta(minutes=6))
    assert b.is_new and a.report_id != b.report_id
    assert c.joined == "fuller" and c.report_id == b.report_id
    d = jrepo.store(tail_a, received_at=T0 + dt.timedelta(minutes=7))
    assert d.joined == "piece" and d.report_id == a.report_id
    assert _counts(jrepo)["reports"] == 2 and _counts(jrepo)["total"] == 2


def test_upgrade_moves_the_report_between_groups_with_both_counts_right(
    jrepo: Repository,
) -> None:
    """Two tails of different crashes land in one group ("kernel panic: Fatal exception");
    the full log of one moves that report to its own group: each group counts it once."""
    tail_a, full_a = pieces(SAME_KERNEL[0])
    tail_b, _full_b = pieces(SAME_KERNEL[1])
    assert tail_a.signature == tail_b.signature
    a = jrepo.store(tail_a, received_at=T0)
    b = jrepo.store(tail_b, received_at=T0 + dt.timedelta(minutes=1))
    assert a.group_id == b.group_id
    up = jrepo.store(full_a, received_at=T0 + dt.timedelta(minutes=30))
    assert up.report_id == a.report_id and up.group_id != a.group_id
    counts = _counts(jrepo)
    assert counts["groups"] == sorted([(tail_b.signature, 1, 1), (full_a.signature, 1, 1)])
    assert counts["total"] == 2
    group = jrepo.get_group(a.group_id)
    assert group is not None and group.group.report_count == 1
    assert [r.id for r in group.reports.items] == [b.report_id]
    with read_session(jrepo.engine) as s:
        classes = dict(
            s.execute(
                select(DailyCount.value, DailyCount.count).where(DailyCount.dim == "bug_class")
            ).all()
        )
    assert classes == {tail_b.bug_class: 1, full_a.bug_class: 1} or (
        tail_b.bug_class == full_a.bug_class and classes == {full_a.bug_class: 2}
    )


def test_window_and_arch_bound_the_join(jrepo: Repository) -> None:
    tail, full = pieces("737")
    jrepo.store(tail, received_at=T0)
    late = jrepo.store(full, received_at=T0 + dt.timedelta(days=8))  # window: 7 days
    assert late.is_new and late.joined is None
    tail2, full2 = pieces("743")
    other_arch = dataclasses.replace(full2, arch="arm64")
    jrepo.store(tail2, received_at=T0)
    assert jrepo.store(other_arch, received_at=T0).joined is None
    off = Repository(
        jrepo.settings.database_url, settings=jrepo.settings.with_(join_window_hours=0)
    )
    try:
        tail3, full3 = pieces("704")
        off.store(tail3, received_at=T0)
        assert off.store(full3, received_at=T0).joined is None
    finally:
        off.close()


def test_pstore_parts_sent_separately_join_when_one_contains_the_other(
    jrepo: Repository,
) -> None:
    """A ramoops record holding the whole dump and an efi part (its last kilobytes, cut in
    the middle of a line) of the same crash: one report; any order."""
    text = _logs()["721"]
    cut = len(text) - 3001  # an odd offset inside a line
    assert text[cut - 1] != "\n"
    part = prepare_log(text[cut:], scrub=True)
    whole = prepare_log(text, scrub=True)
    part = dataclasses.replace(part, kernel=part.kernel or whole.kernel)
    first = jrepo.store(part, received_at=T0)
    second = jrepo.store(whole, received_at=T0 + dt.timedelta(seconds=3))
    assert second.report_id == first.report_id and second.joined == "fuller"
    assert _counts(jrepo)["reports"] == 1 and _counts(jrepo)["total"] == 1


def test_lookup_is_bounded_and_pre_filtered_in_the_database(jrepo: Repository) -> None:
    """Twenty unrelated crashes relabelled with one kernel release: the candidate query
    returns none of them for a new tail (the database's substring test), only its log."""
    tail, full = pieces("743")
    others = [
        dataclasses.replace(p, kernel=full.kernel, arch=full.arch)
        for n in list(_logs())[300:330]
        if n != "743"
        for p in [_try_prepare(n)]
        if p is not None
    ][:20]
    assert len(others) == 20
    jrepo.store(full, received_at=T0)
    for i, p in enumerate(others[:5]):
        jrepo.store(p, received_at=T0 - dt.timedelta(minutes=i + 1))
    with jrepo.engine.connect() as conn:
        from sqlalchemy.orm import Session

        with Session(conn) as s:
            found = jrepo._candidates(s, tail, T0 + dt.timedelta(minutes=1))
    assert [text for _rid, text in found] == [full.original]
    for i, p in enumerate(others[5:]):
        jrepo.store(p, received_at=T0 + dt.timedelta(seconds=i + 1))  # newer than the log
    assert join.MAX_CANDIDATES < 15
    late = jrepo.store(tail, received_at=T0 + dt.timedelta(minutes=1))
    # The log is no longer among the nearest MAX_CANDIDATES reports of its release: the cap
    # holds (the tail is stored on its own; docs/joining.md says so).
    assert late.is_new and late.joined is None


def _try_prepare(name: str) -> PreparedReport | None:
    try:
        return prepare_log(_logs()[name], scrub=True)
    except Exception:
        return None


# ------------------------------------------------------------------ batched writes


@pytest.mark.parametrize("order", ["tail-first", "full-first"])
def test_batched_writes_join_like_single_writes(db_url: str, order: str) -> None:
    """The same submissions through store() one by one and through store_many() (across
    batches and inside one batch) leave the same reports, groups, counts and sources."""
    items: list[tuple[PreparedReport, dt.datetime]] = []
    for i, name in enumerate(("719", "720", "704")):
        tail, full = pieces(name)
        pair = [tail, full] if order == "tail-first" else [full, tail]
        items += [(p, T0 + dt.timedelta(minutes=10 * i + k)) for k, p in enumerate(pair)]

    def by_content(repo: Repository) -> dict[str, object]:
        c = _counts(repo)
        with read_session(repo.engine) as s:
            hashes = dict(s.execute(select(Report.id, Report.content_hash)).all())
        c["sources"] = sorted((hashes[rid], role, kind, h) for rid, role, kind, h in c["sources"])
        return c

    single = Repository(db_url, settings=get_settings(db_url))
    answers = [single.store(p, received_at=when) for p, when in items]
    expected = by_content(single)
    single.close()
    assert expected["reports"] == 3
    assert [a.joined for a in answers][1::2] == ["fuller" if order == "tail-first" else "piece"] * 3
    for split in (2, 3, len(items)):  # pairs split over batches, and in one batch
        _empty(db_url)
        batch = Repository(db_url, settings=get_settings(db_url))
        pending = [Pending(p, None, when, submission_id=None) for p, when in items]
        results = batch.store_many(pending[:split]) + batch.store_many(pending[split:])
        assert [(r.is_new, r.joined) for r in results] == [(a.is_new, a.joined) for a in answers]
        assert by_content(batch) == expected
        batch.close()


def _empty(url: str) -> None:
    from sqlalchemy import create_engine

    if url.startswith("postgresql"):
        _empty_pg(url)
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in reversed(TABLES):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    engine.dispose()


def test_a_report_joined_meanwhile_is_judged_on_its_text_as_it_is_now(
    jrepo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's row lock may wait for another transaction that upgraded the candidate:
    the join is decided again on the current text (a middle piece never replaces the full
    log it is part of)."""
    tail, full = pieces("719")
    first = jrepo.store(tail, received_at=T0)
    jrepo.store(full, received_at=T0 + dt.timedelta(minutes=1))
    text = _logs()["719"]
    middle = prepare_log(text[len(text) // 2 :], scrub=True)
    middle = dataclasses.replace(middle, kernel=full.kernel)
    stale = (first.report_id, "fuller", join.report_text(tail))  # what it saw before the lock
    monkeypatch.setattr(Repository, "_find_join", lambda self, s, p, when: stale)
    res = jrepo.store(middle, received_at=T0 + dt.timedelta(minutes=2))
    assert (res.report_id, res.joined) == (first.report_id, "piece")
    rep = jrepo.get_report(first.report_id)
    assert rep is not None and rep.original == full.original


def test_deleting_a_joined_report_deletes_its_sources(jrepo: Repository) -> None:
    tail, full = pieces("704")
    first = jrepo.store(full, received_at=T0)
    jrepo.store(tail, received_at=T0)
    assert len(jrepo.report_sources(first.report_id)) == 2
    assert jrepo.delete_report(first.report_id)
    assert jrepo.report_sources(first.report_id) == []
    again = jrepo.store(tail, received_at=T0)  # the piece is not remembered any more
    assert again.is_new and again.joined is None


def test_migration_0009_adds_and_removes_only_report_sources(db_url: str) -> None:
    import sqlalchemy as sa
    from alembic import command

    from kpanic.store.db import alembic_config, current_revision, make_engine, upgrade

    tail, full = pieces("704")
    with Repository(db_url) as repo:
        kept = repo.store(full, received_at=T0)
        repo.store(tail, received_at=T0)
    engine = make_engine(db_url)
    try:
        command.downgrade(alembic_config(db_url), "0007")
        assert "report_sources" not in sa.inspect(engine).get_table_names()
        with engine.connect() as conn:  # today's models need today's schema: plain SQL here
            found = conn.execute(
                sa.text("SELECT id FROM reports WHERE id = :id"), {"id": kept.report_id}
            ).scalar()
        assert found == kept.report_id
        upgrade(db_url, "0009")
        assert current_revision(db_url) == "0009"
        assert "report_sources" in sa.inspect(engine).get_table_names()
        upgrade(db_url)
        with Repository(db_url) as repo:  # the sources of before are gone; joining works again
            assert [s.role for s in repo.report_sources(kept.report_id)] == ["first"]
            assert repo.store(tail, received_at=T0).joined == "piece"
    finally:
        engine.dispose()
        upgrade(db_url)
