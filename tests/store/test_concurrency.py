"""Several writer processes against one database: dedup and group creation stay exact."""

from __future__ import annotations

import random
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest

from kpanic.settings import get_settings
from kpanic.store.ingest import PreparedReport, prepare_log
from kpanic.store.repository import Repository
from tests.store.test_repository import variants


def _writer(url: str, prepared: list[PreparedReport], seed: int) -> list[tuple[int, bool]]:
    items = list(prepared)
    random.Random(seed).shuffle(items)
    repo = Repository(url, settings=get_settings(url, sample_limit=2))
    try:
        return [(r.report_id, r.is_new) for r in (repo.store(p) for p in items)]
    finally:
        repo.close()


@pytest.mark.slow
def test_concurrent_writers_store_each_content_once(repo: Repository, crash_logs) -> None:
    logs = [v for c in crash_logs[:6] for v in variants(c.log, 3)]
    prepared = [prepare_log(log, scrub=False) for log in logs]
    workers = 4
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        results = list(
            pool.map(_writer, [repo.url] * workers, [prepared] * workers, range(workers))
        )
    new = [rid for res in results for rid, is_new in res if is_new]
    assert len(new) == len(set(new)) == len(logs)  # each content stored exactly once
    ids_per_worker = [sorted(rid for rid, _ in res) for res in results]
    assert all(ids == ids_per_worker[0] for ids in ids_per_worker)
    groups = repo.list_groups(per_page=100)
    assert sum(g.report_count for g in groups.items) == len(logs)
    assert groups.total == len({p.signature for p in prepared})
    for g in groups.items:
        detail = repo.get_group(g.id)
        assert detail.reports.total == g.report_count == 3
        assert sum(f.count for f in detail.arches) <= 3
        # flood control ran under contention too: at most limit (2) + latest keep text
        assert sum(not r.pruned for r in detail.reports.items) <= 3
    stats = repo.stats()
    assert stats.total == len(logs) and stats.groups == groups.total
