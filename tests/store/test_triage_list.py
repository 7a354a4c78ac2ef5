"""The triage filters of the groups list on the real store (SQLite and PostgreSQL): "first seen
on release X" with real release strings, the status filters, and the subsystem counts."""

from __future__ import annotations

import pytest

from kpanic.errors import KpanicError
from kpanic.store import triage, triage_list
from kpanic.store.db import read_session
from kpanic.store.views import Filters
from tests.web.triage_data import MAINTAINERS, kasan_on, log_of, rust_panic_on


def _ids(repo, **filters: object) -> set[int]:  # type: ignore[no-untyped-def]
    return {g.id for g in repo.list_groups(Filters(**filters), per_page=500).items}  # type: ignore[arg-type]


def test_first_release_compares_parsed_releases(repo) -> None:  # type: ignore[no-untyped-def]
    # KASAN group: first on 6.16.0-rc2, then 6.16.1: new with 6.16.
    kasan = repo.ingest_log(kasan_on("6.16.0-rc2")).group_id
    repo.ingest_log(kasan_on("6.16.1", 1))
    # Rust group: 6.9.12 then 6.16.0 -- old (6.9 < 6.16 although "6.9" > "6.16" as text).
    rust = repo.ingest_log(rust_panic_on("6.9.12")).group_id
    repo.ingest_log(rust_panic_on("6.16.0"))
    assert _ids(repo, first_release="6.16") == {kasan}
    assert _ids(repo, first_release="6.16.*") == {kasan}
    assert _ids(repo, first_release="6.9") == {rust}
    assert _ids(repo, first_release="6.16.1") == set()  # KASAN crashed on an -rc before
    assert _ids(repo, first_release="6.1") == set()  # 6.1 is not a prefix of 6.16
    assert _ids(repo, first_release="") == {kasan, rust}
    # Combined with another filter, and counted.
    page = repo.list_groups(Filters(first_release="6.16", bug_class="use-after-free"))
    assert page.total == 1 and page.items[0].id == kasan


def test_a_distribution_build_of_another_family_does_not_disqualify(repo) -> None:  # type: ignore[no-untyped-def]
    gid = repo.ingest_log(kasan_on("6.16.0-200.fc43.x86_64")).group_id
    repo.ingest_log(kasan_on("6.16.0-1-arch1", 1))
    assert _ids(repo, first_release="6.16") == {gid}
    assert _ids(repo, first_release="6.16.0-1-arch1") == {gid}  # fc43's order is unknown


def test_first_release_refuses_an_unbounded_prefix(repo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    repo.ingest_log(kasan_on("6.16.0"))
    repo.ingest_log(rust_panic_on("6.16.1"))
    monkeypatch.setattr(triage_list, "FIRST_RELEASE_CAP", 1)
    with pytest.raises(KpanicError, match="longer release"):
        repo.list_groups(Filters(first_release="6"))


def test_status_assignee_regressed_and_subsystem_counts(repo) -> None:  # type: ignore[no-untyped-def]
    from kpanic.triage.maintainers import load_maintainers

    a = repo.ingest_log(kasan_on("6.15.1")).group_id
    b = repo.ingest_log(rust_panic_on("6.15.1")).group_id
    c = repo.ingest_log(log_of("btrfs-refcount-warning.txt")).group_id
    triage.change_status(repo, a, "fixed", who="t", release="6.15.3")
    triage.change_status(repo, c, "invalid", who="t", reason="out-of-tree module")
    triage.assign(repo, b, "ivy", who="t")
    assert _ids(repo, status="open") == {b}
    assert _ids(repo, status="fixed") == {a}
    assert _ids(repo, status="invalid") == {c}
    assert _ids(repo, assignee="ivy") == {b}
    with pytest.raises(KpanicError, match="unknown status"):
        repo.list_groups(Filters(status="closed"))
    repo.ingest_log(kasan_on("6.15.4", 1))
    assert _ids(repo, regressed=True) == {a}
    assert _ids(repo, status="open") == {a, b}
    triage.assign_owners(repo, load_maintainers(MAINTAINERS))
    with read_session(repo.engine) as s:
        counts = dict(triage_list.subsystem_counts(s))
        assert counts["RUST"] == 1
        marks = triage_list.badges(s, [a, b, c])
    assert marks[a].regressed and marks[a].fix_release == "6.15.3"
    assert marks[b].assignee == "ivy" and marks[b].subsystems == ("RUST",)
    assert marks[c].status == "invalid"
    # Reports of a subsystem's groups.
    reports = repo.list_reports(Filters(subsystem="RUST"))
    assert {r.group_id for r in reports.items} == {b}
    # Sorting by the number of releases seen: the KASAN group saw two.
    assert repo.list_groups(sort="releases").items[0].id == a
