"""Group commit (``store_many``) leaves exactly the database single ``store`` calls leave."""

from __future__ import annotations

import datetime as dt
import random
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest
from sqlalchemy import select

from kpanic.settings import get_settings
from kpanic.store.db import read_session
from kpanic.store.ingest import PreparedReport, prepare_log
from kpanic.store.models import CrashGroup, DailyCount, GroupFacet, Report
from kpanic.store.repository import Pending, Repository
from tests.store.test_repository import variants

DAY = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def _naive(value: dt.datetime | None) -> dt.datetime | None:
    """UTC without tzinfo: PostgreSQL returns aware datetimes, SQLite naive ones."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _snapshot(repo: Repository) -> dict[str, object]:
    """Every aggregate ingest maintains, keyed by content (ids may differ between runs)."""
    with read_session(repo.engine) as s:
        sig = dict(s.execute(select(CrashGroup.id, CrashGroup.signature)).all())
        last = dict(s.execute(select(Report.id, Report.content_hash)).all())
        groups = sorted(
            (
                g.signature,
                g.report_count,
                g.full_count,
                _naive(g.first_seen),
                _naive(g.last_seen),
                last.get(g.last_report_id),
                g.title,
                g.search_key,
                g.bug_class,
            )
            for g in s.scalars(select(CrashGroup))
        )
        reports = sorted(
            (r.content_hash, sig[r.group_id], r.pruned, _naive(r.received_at))
            for r in s.scalars(select(Report))
        )
        facets = sorted(
            (sig[f.group_id], f.facet, f.value, f.count) for f in s.scalars(select(GroupFacet))
        )
        daily = sorted((d.day, d.dim, d.value, d.count) for d in s.scalars(select(DailyCount)))
    return {"groups": groups, "reports": reports, "facets": facets, "daily": daily}


def test_store_many_matches_single_stores(db_url: str, prepared_crashes, tmp_path) -> None:
    prepared = [p for _, p in prepared_crashes[:20]]
    prepared += [prepare_log(v, scrub=False) for v in variants(prepared_crashes[0][0].log, 5)]
    # a second full group in the same batches: pruning works across groups at once
    prepared += [prepare_log(v, scrub=False) for v in variants(prepared_crashes[1][0].log, 6)[1:]]
    whens = [DAY + dt.timedelta(days=i % 3, minutes=i) for i in range(len(prepared))]
    single = Repository(db_url, settings=get_settings(db_url, sample_limit=2))
    # The first variants contain the plain log they extend: they join its report
    # (kpanic.store.join), in both paths alike.
    answers = [single.store(p, received_at=when) for p, when in zip(prepared, whens, strict=True)]
    assert any(a.joined == "fuller" for a in answers)
    expected = _snapshot(single)
    single.close()
    other = f"sqlite:///{tmp_path / 'batch.db'}"
    from kpanic.store.db import upgrade

    upgrade(other)
    batch = Repository(other, settings=get_settings(other, sample_limit=2))
    items = [Pending(p, None, when) for p, when in zip(prepared, whens, strict=True)]
    results = batch.store_many(items[:7]) + batch.store_many(items[7:] + items[:3])
    want = [(a.is_new, a.joined) for a in answers]
    assert [(r.is_new, r.joined) for r in results] == want + [(False, None)] * 3
    assert [r.report_id for r in results[-3:]] == [r.report_id for r in results[:3]]
    assert _snapshot(batch) == expected
    batch.close()


def test_store_many_same_content_twice_in_one_batch(repo: Repository, prepared_crashes) -> None:
    p = prepared_crashes[1][1]
    first, second = repo.store_many([Pending(p), Pending(p)])
    assert first.is_new and first.group_is_new and not second.is_new
    assert first.report_id == second.report_id
    assert repo.get_group(first.group_id).reports.total == 1
    assert repo.stats().total == 1


def _batch_writer(url: str, prepared: list[PreparedReport], seed: int) -> list[tuple[int, bool]]:
    items = list(prepared)
    random.Random(seed).shuffle(items)
    repo = Repository(url, settings=get_settings(url, sample_limit=2))
    try:
        out = []
        for start in range(0, len(items), 5):
            out += repo.store_many([Pending(p) for p in items[start : start + 5]])
        return [(r.report_id, r.is_new) for r in out]
    finally:
        repo.close()


@pytest.mark.slow
def test_concurrent_batch_writers_store_each_content_once(repo: Repository, crash_logs) -> None:
    logs = [v for c in crash_logs[:6] for v in variants(c.log, 3)]
    prepared = [prepare_log(log, scrub=False) for log in logs]
    workers = 3
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        results = list(
            pool.map(_batch_writer, [repo.url] * workers, [prepared] * workers, range(workers))
        )
    new = [rid for res in results for rid, is_new in res if is_new]
    assert len(new) == len(set(new)) == len(logs)
    groups = repo.list_groups(per_page=100)
    assert groups.total == len({p.signature for p in prepared})
    assert sum(g.report_count for g in groups.items) == len(logs)
    for g in groups.items:
        detail = repo.get_group(g.id)
        assert detail.reports.total == g.report_count == 3
        assert sum(not r.pruned for r in detail.reports.items) <= 3
    assert repo.stats().total == len(logs)


def test_analysis_serialization_equals_to_dict(crash_logs) -> None:
    """The direct dataclass walk used on the intake path gives exactly ``to_dict()``."""
    import json

    import kpanic.classify as classify_mod
    import kpanic.report as report_mod
    from kpanic.store.ingest import _json_safe, _plain

    for c in crash_logs[:25]:
        result = report_mod.parse(c.log)
        for report in result.reports:
            assert _plain(report) == _json_safe(report.to_dict())
        cls = classify_mod.classify(result.primary)
        assert json.dumps(_plain(cls)) == json.dumps(_json_safe(cls.to_dict()))


def test_report_by_hash(repo: Repository, prepared_crashes) -> None:
    p = prepared_crashes[2][1]
    assert repo.report_by_hash(p.content_hash) is None
    (res,) = repo.store_many([Pending(p)])
    found = repo.report_by_hash(p.content_hash)
    assert found is not None
    assert (found.id, found.group_id, found.title) == (res.report_id, res.group_id, p.title)
    assert (found.kernel, found.arch, found.language) == (p.kernel, p.arch, p.language)


def test_reports_by_hash_answers_each_hash_in_order(repo: Repository, prepared_crashes) -> None:
    """The batched lookup intake uses: one entry per asked hash (repeats and unknown included),
    each the same summary the single lookup gives."""
    stored = [p for _, p in prepared_crashes[3:6]]
    repo.store_many([Pending(p) for p in stored])
    unknown = "0" * 64
    asked = [stored[2].content_hash, unknown, stored[0].content_hash, stored[2].content_hash]
    found = repo.reports_by_hash(asked)
    assert [f is None for f in found] == [False, True, False, False]
    for h, f in zip(asked, found, strict=True):
        assert f == repo.report_by_hash(h)
    assert repo.reports_by_hash([]) == []


def test_pruning_in_sql_equals_strip_texts(db_url: str, prepared_crashes) -> None:
    """Flood control strips report texts inside the database; the result must be exactly the
    Python reference ``_strip_texts`` (array order kept, other keys and entries untouched)."""
    import dataclasses

    from kpanic.store.common import _strip_texts

    repo = Repository(db_url, settings=get_settings(db_url, sample_limit=1))
    try:
        base = max((p for _, p in prepared_crashes), key=lambda p: len(p.parse["reports"]))
        assert len(base.parse["reports"]) >= 2  # a log holding several reports
        shapes = [
            base.parse,
            {"reports": [], "extra": {"text": "kept: not a report"}},
            {"reports": [{"title": "no text key"}, {"text": "<b>x</b>", "frames": [1, 2]}]},
            {"other": 1},
        ]
        expected = {}
        for i, parse in enumerate(shapes * 2):
            p = dataclasses.replace(base, content_hash=f"{i:064x}", parse=parse)
            res = repo.store(p, received_at=DAY + dt.timedelta(minutes=i))
            expected[res.report_id] = parse
        with read_session(repo.engine) as s:
            rows = s.execute(select(Report.id, Report.pruned, Report.parse)).all()
        pruned = [r for r in rows if r.pruned]
        assert len(pruned) == len(shapes) * 2 - 2  # the first and the latest keep their text
        for row in rows:
            want = _strip_texts(expected[row.id]) if row.pruned else expected[row.id]
            assert row.parse == want, row.id
    finally:
        repo.close()
