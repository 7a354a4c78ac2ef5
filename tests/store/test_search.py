"""Text search over frames, guilty file, modules and text; kernel-release prefixes; counts of
matching reports in filtered group lists (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from kpanic.errors import KpanicError
from kpanic.store.repository import Filters, Repository
from kpanic.store.search import query_words, search_text, words
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "report" / "fixtures"
DAY = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
BTRFS_KERNELS = ("6.14.0-rc5+", "6.14.3-arch1-1", "6.140.1", "6.1.5")


def _btrfs(kernel: str) -> str:
    return (FIXTURES / "btrfs-refcount-warning.txt").read_text().replace("6.14.0-rc5+", kernel)


@pytest.fixture
def stored(repo: Repository) -> dict[str, int]:
    """The btrfs warning on four kernels (one group), and the Rust e1000 panic."""
    ids = {}
    for i, kernel in enumerate(BTRFS_KERNELS):
        res = repo.ingest_log(_btrfs(kernel), scrub=False, received_at=DAY + dt.timedelta(days=i))
        ids[kernel] = res.report_id
    rust = (FIXTURES / "rust-e1000-arm64-unwrap.txt").read_text()
    ids["rust"] = repo.ingest_log(rust, scrub=False, received_at=DAY).report_id
    return ids


def _titles(page) -> set[str]:  # type: ignore[no-untyped-def]
    return {item.title for item in page.items}


def test_words_skip_addresses_and_split_identifiers() -> None:
    got = list(words("btrfs_commit_transaction+0x1c/0x80 [btrfs] fs/ext4/inode.c ffff888012345678"))
    assert got == [
        "btrfscommittransaction",
        "committransaction",
        "transaction",
        "btrfs",
        "fs",
        "ext4",
        "inode",
    ]
    assert query_words("  KASAN: slab-use-after-free  ") == [
        "kasan",
        "slab",
        "use",
        "after",
        "free",
    ]
    assert query_words("commit_trans __d_alloc") == ["committrans", "dalloc"]
    assert query_words("%_") == [] and query_words("0xdeadbeef") == []
    text = search_text(
        {
            "reports": [
                {"title": "x", "text": "word " * 5000 + " ".join(f"w{i}" for i in range(5000))}
            ]
        }
    )
    assert len(text) <= 2000 and text.startswith("word")


def test_search_finds_frames_guilty_file_modules_and_text(repo: Repository, stored) -> None:  # type: ignore[no-untyped-def]
    rust_title = repo.get_report(stored["rust"]).summary.title
    btrfs_title = repo.get_report(stored["6.1.5"]).summary.title
    cases = {
        "net_rx_action": {rust_title},  # a stack frame, in no title
        "__napi_poll": {rust_title},
        "rx_action": {rust_title},  # a tail of an identifier
        "panicking::panic_fmt": {rust_title},  # Rust paths
        "rust/helpers.c": {rust_title},  # the guilty file
        "e1000_for_linux": {rust_title},  # the module (also in the title)
        "virtio_net": {btrfs_title},  # "Modules linked in"
        "zstd_compress": {btrfs_title},
        "i440fx": {btrfs_title},  # the hardware name
        "put_block_group": {btrfs_title},  # a frame of the btrfs warning
        "modules linked in": {btrfs_title, rust_title},  # words of both texts
        "NET_RX": {rust_title},  # any case, prefixes of words
    }
    for q, expected in cases.items():
        groups = repo.list_groups(Filters(q=q), per_page=50)
        reports = repo.list_reports(Filters(q=q), per_page=50)
        assert _titles(groups) == expected, q
        assert _titles(reports) == expected, q
        assert repo.stats(Filters(q=q)).total == reports.total, q
    assert repo.list_reports(Filters(q="zstd_compress")).total == len(BTRFS_KERNELS)
    # every word must be found: a frame of one crash and a module of the other is nothing
    assert repo.list_groups(Filters(q="net_rx_action virtio_net")).total == 0
    assert repo.list_reports(Filters(q="no_such_function_anywhere")).total == 0
    # title substrings still match inside words
    assert _titles(repo.list_groups(Filters(q="discard_canc"))) == {btrfs_title}


def test_search_text_survives_pruning_and_goes_with_deletion(repo: Repository, stored) -> None:  # type: ignore[no-untyped-def]
    # sample_limit=3: more reports of the group lose their texts to flood control, not
    # their words.
    for i, kernel in enumerate(("6.14.7", "6.14.8", "6.14.9")):
        repo.ingest_log(_btrfs(kernel), scrub=False, received_at=DAY + dt.timedelta(days=9 + i))
    found = repo.list_reports(Filters(q="zstd_compress"), per_page=50)
    assert found.total == len(BTRFS_KERNELS) + 3
    pruned = [r for r in found.items if r.pruned]
    assert pruned, "flood control pruned none: the test proves nothing"
    assert all(repo.get_report(r.id).original is None for r in pruned)
    assert repo.delete_report(stored["rust"])
    assert repo.list_reports(Filters(q="net_rx_action")).total == 0
    assert repo.list_groups(Filters(q="net_rx_action")).total == 0 or all(
        g.report_count == 0 for g in repo.list_groups(Filters(q="net_rx_action")).items
    )


def test_kernel_release_prefixes(repo: Repository, stored) -> None:  # type: ignore[no-untyped-def]
    def kernels(value: str) -> set[str]:
        page = repo.list_reports(Filters(kernel=value), per_page=50)
        assert repo.stats(Filters(kernel=value)).total == page.total, value
        return {r.kernel for r in page.items}

    assert kernels("6.14") == {"6.14.0-rc5+", "6.14.3-arch1-1"}  # not 6.140.1
    assert kernels("6.14.*") == {"6.14.0-rc5+", "6.14.3-arch1-1"}
    assert kernels("6.14.3") == {"6.14.3-arch1-1"}
    assert kernels("6.140") == {"6.140.1"}
    assert kernels("6.1") == {"6.1.5", "6.1.0-rc1-g5fc95830739f-dirty"}
    assert kernels("6.1.*") == {"6.1.5", "6.1.0-rc1-g5fc95830739f-dirty"}
    assert kernels("6.14.0-rc5+") == {"6.14.0-rc5+"}
    assert kernels("6.*") == set(BTRFS_KERNELS) | {"6.1.0-rc1-g5fc95830739f-dirty"}
    assert kernels("7") == set() and kernels("7.*") == set()
    groups = repo.list_groups(Filters(kernel="6.14"))
    assert groups.total == 1
    assert groups.items[0].matching_count == 2 and groups.items[0].report_count == 4


def test_filtered_group_counts_are_matching_reports(repo: Repository, stored) -> None:  # type: ignore[no-untyped-def]
    everything = {g.title: g for g in repo.list_groups().items}
    assert all(getattr(g, "matching_count", None) is None for g in everything.values())
    btrfs = repo.get_report(stored["6.1.5"]).summary
    # group-level filters alone: the group's own total
    by_class = repo.list_groups(Filters(bug_class=btrfs.bug_class)).items
    assert all(getattr(g, "matching_count", None) is None for g in by_class)

    def count(f: Filters) -> int:
        page = repo.list_groups(f)
        row = next(g for g in page.items if g.title == btrfs.title)
        reports = repo.list_reports(f, group_id=row.id, per_page=50)
        assert row.matching_count == reports.total, f  # the same as the group's report list
        return row.matching_count

    assert count(Filters(kernel="6.140.1")) == 1
    assert count(Filters(kernel="6.14")) == 2
    assert count(Filters(arch=btrfs.arch)) == 4
    assert count(Filters(since=DAY + dt.timedelta(days=2))) == 2
    assert count(Filters(until=DAY + dt.timedelta(days=1))) == 1
    assert count(Filters(kernel="6.14", since=DAY + dt.timedelta(days=1))) == 1
    assert count(Filters(q="zstd_compress", kernel="6.1.*")) == 1
    # text search alone selects groups and leaves their counts whole
    assert all(
        getattr(g, "matching_count", None) is None
        for g in repo.list_groups(Filters(q="zstd_compress")).items
    )
    page = repo.list_groups(Filters(kernel="6.14")).to_dict()
    assert page["items"][0]["matching_count"] == 2


def test_migration_fills_search_text_of_stored_reports(
    db_url: str, repo: Repository, stored
) -> None:  # type: ignore[no-untyped-def]
    from kpanic.store.db import upgrade

    repo.close()
    upgrade(db_url, "0007")  # drops the words and their index
    upgrade(db_url)  # fills them again from the stored parse results
    again = Repository(db_url)
    try:
        assert _titles(again.list_reports(Filters(q="net_rx_action"))) == {
            again.get_report(stored["rust"]).summary.title
        }
        assert again.list_groups(Filters(q="virtio_net")).total == 1
        # ingest after the migration keeps the index in step
        fresh = again.ingest_log(_btrfs("6.15.2"), scrub=False, received_at=DAY)
        assert fresh.report_id in {
            r.id for r in again.list_reports(Filters(q="zstd"), per_page=50).items
        }
    finally:
        again.close()


def test_too_broad_kernel_prefix_is_an_error(repo: Repository, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from kpanic.store import queries

    for i, kernel in enumerate(("6.2.1", "6.3.1", "6.4.1")):
        repo.ingest_log(_btrfs(kernel), scrub=False, received_at=DAY + dt.timedelta(days=i))
    monkeypatch.setattr(queries, "KERNEL_VALUES_CAP", 2)
    with pytest.raises(KpanicError, match="longer prefix"):
        repo.list_reports(Filters(kernel="6"))
    assert repo.list_reports(Filters(kernel="6.2")).total == 1


def test_common_words_take_the_time_ordered_plan_with_the_same_answer(
    repo: Repository, stored, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from kpanic.store import search

    queries = ("zstd_compress", "net_rx_action", "modules linked", "discard_canc", "tainted")
    before = {
        q: [r.id for r in repo.list_reports(Filters(q=q), per_page=50).items] for q in queries
    }
    assert any(len(ids) > 1 for ids in before.values())
    monkeypatch.setattr(search, "COMMON", 0)  # every search counts as common
    for q in queries:
        page = repo.list_reports(Filters(q=q), per_page=50)
        assert [r.id for r in page.items] == before[q], q
        assert page.total == len(before[q])
