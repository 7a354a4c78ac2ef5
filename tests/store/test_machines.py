"""Distinct machines per group (issue 13, "number of distinct machines"): counted at intake on
single and batched writes, kept right by merges, splits and deletions, sortable, never shown."""

from __future__ import annotations

from sqlalchemy import select

from kpanic.store.batch import Pending
from kpanic.store.ingest import prepare_log
from kpanic.store.models import Report
from kpanic.store.repository import Repository
from kpanic.store.views import ClientInfo
from tests.store.conftest import CorpusLog
from tests.store.test_repository import variants

A, B, C = "a" * 32, "b" * 32, "c" * 32


def _machines(repo: Repository, group_id: int) -> int:
    found = repo.get_group(group_id)
    assert found is not None
    return found.group.machine_count


def test_single_writes_count_each_machine_once(
    repo: Repository, crash_logs: list[CorpusLog]
) -> None:
    logs = variants(crash_logs[2].log, 5)
    machines = [A, A, B, None, B]
    results = [
        repo.store(prepare_log(log, scrub=False), client=ClientInfo(via="api", machine=m))
        for log, m in zip(logs, machines, strict=True)
    ]
    gid = results[0].group_id
    assert {r.group_id for r in results} == {gid}
    assert _machines(repo, gid) == 2
    with repo.engine.connect() as conn:
        rows = conn.execute(select(Report.machine, Report.client)).all()
    assert sorted(m or "" for m, _ in rows) == sorted(m or "" for m in machines)
    assert all("machine" not in (c or {}) for _, c in rows)  # not in the client JSON
    public = repo.get_report(results[0].report_id)
    assert public is not None and A not in repr(public.summary)


def test_batched_writes_count_like_single_ones(
    repo: Repository, crash_logs: list[CorpusLog]
) -> None:
    logs = variants(crash_logs[3].log, 4)
    items = [
        Pending(prepare_log(log, scrub=False), ClientInfo(via="api", machine=m))
        for log, m in zip(logs, [C, C, A, C], strict=True)
    ]
    results = repo.store_many(items)
    gid = results[0].group_id
    assert _machines(repo, gid) == 2  # two reports of C in one batch count once
    more = repo.store_many(
        [
            Pending(
                prepare_log(variants(crash_logs[3].log, 6)[5], scrub=False), ClientInfo(machine=B)
            )
        ]
    )
    assert more[0].group_id == gid and _machines(repo, gid) == 3


def test_merge_split_and_delete_recount(repo: Repository, crash_logs: list[CorpusLog]) -> None:
    one = [
        repo.store(prepare_log(log, scrub=False), client=ClientInfo(machine=m))
        for log, m in zip(variants(crash_logs[4].log, 2), [A, B], strict=True)
    ]
    two = [
        repo.store(prepare_log(log, scrub=False), client=ClientInfo(machine=m))
        for log, m in zip(variants(crash_logs[10].log, 2), [B, C], strict=True)
    ]
    g1, g2 = one[0].group_id, two[0].group_id
    assert g1 != g2 and _machines(repo, g1) == 2 and _machines(repo, g2) == 2
    merged = repo.merge_groups(g1, [g2])
    assert merged.machine_count == 3  # A, B, C
    split = repo.split_report_to_new_group(two[1].report_id)  # C's report
    assert split.machine_count == 1 and _machines(repo, g1) == 2
    assert repo.delete_report(one[0].report_id)  # A's only report
    assert _machines(repo, g1) == 1


def test_groups_sort_by_distinct_machines(repo: Repository, crash_logs: list[CorpusLog]) -> None:
    wide = [
        repo.store(prepare_log(log, scrub=False), client=ClientInfo(machine=m))
        for log, m in zip(variants(crash_logs[5].log, 3), [A, B, C], strict=True)
    ]
    busy = [  # more reports, one machine
        repo.store(prepare_log(log, scrub=False), client=ClientInfo(machine=A))
        for log in variants(crash_logs[6].log, 5)
    ]
    order = [g.id for g in repo.list_groups(sort="machines").items]
    assert order.index(wide[0].group_id) < order.index(busy[0].group_id)
    by_count = [g.id for g in repo.list_groups(sort="count").items]
    assert by_count.index(busy[0].group_id) < by_count.index(wide[0].group_id)
