"""Repository behaviour on real crash logs, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import insert, select, update

import kpanic.report
from kpanic.errors import InputTooLarge, KpanicError, PayloadError
from kpanic.store.ingest import NoCrashFound, content_hash
from kpanic.store.models import ApiToken, CrashGroup, Report
from kpanic.store.repository import Filters, NotFound, Repository
from kpanic.store.views import ClientInfo
from tests.store.conftest import CorpusLog

DAY = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)  # a Monday


def variants(log: str, n: int) -> list[str]:
    """The same crash with different trailing console noise: distinct content, one signature."""
    return [f"{log}[99999.{i:06d}] random: crng reseeded on system resumption\n" for i in range(n)]


def ingest_all(repo: Repository, prepared: list[tuple[CorpusLog, object]]) -> dict[str, int]:
    """Store the prepared corpus logs one day apart; return corpus name -> report id."""
    ids = {}
    for i, (c, p) in enumerate(prepared):
        res = repo.store(p, received_at=DAY + dt.timedelta(days=i % 40))
        assert res.is_new
        ids[c.name] = res.report_id
    return ids


def test_ingest_stores_parse_and_classification(repo: Repository, crash_logs) -> None:
    c = crash_logs[0]
    res = repo.ingest_log(c.log, client=ClientInfo(via="web", ip="203.0.113.9"), scrub=False)
    assert res.is_new and res.group_is_new
    primary = kpanic.report.parse(c.log).primary
    rep = repo.get_report(res.report_id)
    assert rep is not None
    assert rep.summary.title == primary.title == res.title
    assert rep.summary.source_kind == "log"
    assert rep.original == c.log and rep.log_text == c.log
    assert rep.parse["reports"][0]["title"] == primary.title
    assert rep.classification and rep.classification["signature"] == res.signature
    assert rep.summary.kernel == primary.kernel and rep.summary.arch == primary.arch
    assert rep.client == {"via": "web", "ip": "203.0.113.9", "user_agent": None, "token_name": None}
    assert rep.content_hash == content_hash(c.log)
    assert rep.parser_version and rep.classifier_version


def test_same_content_twice_is_one_report(repo: Repository, crash_logs) -> None:
    log = crash_logs[1].log
    first = repo.ingest_log(log)
    again = repo.ingest_log(log.encode())
    crlf = repo.ingest_log(log.replace("\n", "\r\n"))
    assert not again.is_new and not crlf.is_new
    assert again.report_id == crlf.report_id == first.report_id
    page = repo.list_groups()
    assert page.total == 1 and page.items[0].report_count == 1
    assert repo.stats().total == 1


def test_groups_and_aggregates_follow_ingest(
    repo: Repository, crash_logs, prepared_crashes
) -> None:
    ingest_all(repo, prepared_crashes)
    groups = repo.list_groups(per_page=500)
    signatures = Counter(repo.get_report(r.id).summary.signature for r in all_reports(repo))
    assert groups.total == len(signatures) == len(groups.items)
    assert sum(g.report_count for g in groups.items) == len(crash_logs)
    for g in groups.items:
        detail = repo.get_group(g.id, per_page=500)
        assert detail is not None
        assert detail.reports.total == g.report_count == len(detail.reports.items)
        assert {r.signature for r in detail.reports.items} == {g.signature}
        times = [r.received_at for r in detail.reports.items]
        assert g.first_seen == min(times) and g.last_seen == max(times)
        assert detail.representative is not None
        # Quality, then age (issue 12 defect 6): the first complete report, else the first.
        complete = [r.id for r in detail.reports.items if not r.corrupted]
        expected = min(complete) if complete else min(r.id for r in detail.reports.items)
        assert detail.representative.summary.id == expected
        kernels = Counter(r.kernel for r in detail.reports.items if r.kernel)
        assert {f.value: f.count for f in detail.kernels} == dict(kernels)


def all_reports(repo: Repository) -> list:
    out, page = [], 1
    while True:
        p = repo.list_reports(page=page, per_page=100)
        out += p.items
        if page >= p.pages:
            return out
        page += 1


def _has_words(repo: Repository, model: Any, row_id: int, q: str) -> bool:
    """Whether the row's stored search words hold every word of ``q`` as a prefix (what
    the index answers), computed here without the index."""
    from kpanic.store.search import query_words

    with repo.engine.connect() as conn:
        stored = conn.execute(select(model.search_text).where(model.id == row_id)).scalar()
    have = (stored or "").split()
    wanted = query_words(q)
    return bool(wanted) and all(any(h.startswith(w) for h in have) for w in wanted)


def test_list_groups_filters_sort_and_pages(repo: Repository, crash_logs, prepared_crashes) -> None:
    ingest_all(repo, prepared_crashes)
    everything = repo.list_groups(per_page=500).items
    by_class = Counter(g.bug_class for g in everything)
    cls, n = by_class.most_common(1)[0]
    page = repo.list_groups(Filters(bug_class=cls), per_page=500)
    assert page.total == n and all(g.bug_class == cls for g in page.items)

    kernel = next(k for g in everything for k in g.kernels)
    with_kernel = repo.list_groups(Filters(kernel=kernel), per_page=500)
    assert with_kernel.total >= 1
    for g in with_kernel.items:
        assert kernel in [f.value for f in repo.get_group(g.id).kernels]

    word = everything[0].title.split()[-1]
    found = repo.list_groups(Filters(q=word.upper()), per_page=500)
    # Title/signature substrings, and the words of each group's frames, modules and text.
    expected = [g for g in everything if word.lower() in (g.title + g.signature).lower()]
    expected += [g for g in everything if _has_words(repo, CrashGroup, g.id, word)]
    assert found.total == len({g.id for g in expected}) >= 1
    assert {g.id for g in found.items} == {g.id for g in expected}
    assert repo.list_groups(Filters(q="%_no such title_%")).total == 0

    by_count = repo.list_groups(sort="count", per_page=500).items
    counts = [g.report_count for g in by_count]
    assert counts == sorted(counts, reverse=True)
    by_title = repo.list_groups(sort="title", descending=False, per_page=500).items
    assert [g.title for g in by_title] == sorted(g.title for g in by_title)

    seen = []
    for p in range(1, 100):
        chunk = repo.list_groups(page=p, per_page=7)
        assert chunk.total == len(everything)
        if not chunk.items:
            break
        seen += [g.id for g in chunk.items]
    assert sorted(seen) == sorted(g.id for g in everything)

    first_days = repo.list_groups(Filters(until=DAY + dt.timedelta(days=3)), per_page=500)
    assert first_days.total >= 1
    assert all(g.first_seen < DAY + dt.timedelta(days=3) for g in first_days.items)
    with pytest.raises(KpanicError):
        repo.list_groups(sort="nonsense")  # type: ignore[arg-type]


def test_list_reports_filters(repo: Repository, crash_logs, prepared_crashes) -> None:
    ingest_all(repo, prepared_crashes)
    everything = all_reports(repo)
    assert len(everything) == len(crash_logs)
    assert repo.list_reports().total == len(crash_logs)
    lang = Counter(r.language for r in everything).most_common(1)[0][0]
    page = repo.list_reports(Filters(language=lang), per_page=500)
    assert page.total == sum(r.language == lang for r in everything)
    assert all(r.language == lang for r in page.items)
    since = DAY + dt.timedelta(days=10)
    recent = repo.list_reports(Filters(since=since), per_page=500)
    assert recent.total == sum(r.received_at >= since for r in everything)
    times = [r.received_at for r in recent.items]
    assert times == sorted(times, reverse=True)
    group = repo.list_groups(sort="count").items[0]
    word = group.title.split()[-1].upper()
    found = repo.list_reports(Filters(q=word), per_page=500)
    groups = {g.id: g for g in repo.list_groups(per_page=500).items}
    expected = {r.id for r in everything if word.lower() in groups[r.group_id].title.lower()}
    expected |= {r.id for r in everything if _has_words(repo, Report, r.id, word)}
    assert found.total == len(expected) >= group.report_count
    assert {r.id for r in found.items} == expected
    assert repo.list_reports(Filters(q="no such crash anywhere")).total == 0


def test_stats_counters_and_filtered(repo: Repository, crash_logs, prepared_crashes) -> None:
    ingest_all(repo, prepared_crashes)
    reports = all_reports(repo)
    st = repo.stats()
    assert st.total == len(reports)
    assert sum(n for _, n in st.by_class) == st.total
    assert dict(st.by_class) == dict(Counter(r.bug_class or "(unknown)" for r in reports))
    assert dict(st.by_rust_prevents) == dict(Counter(r.rust_prevents for r in reports))
    assert sum(n for _, n in st.over_time) == st.total
    weekly = repo.stats(bucket="week")
    assert all(d.weekday() == 0 for d, _ in weekly.over_time)
    assert sum(n for _, n in weekly.over_time) == st.total
    monthly = repo.stats(bucket="month")
    assert all(d.day == 1 for d, _ in monthly.over_time)

    window = Filters(since=DAY + dt.timedelta(days=5), until=DAY + dt.timedelta(days=15))
    ws = repo.stats(window)
    in_window = [
        r for r in reports if window.since.date() <= r.received_at.date() < window.until.date()
    ]
    assert ws.total == len(in_window)

    cls = st.by_class[0][0]
    filtered = repo.stats(Filters(bug_class=cls), bucket="week")  # scoped counters
    assert filtered.total == sum(r.bug_class == cls for r in reports)
    assert dict(filtered.by_class) == {cls: filtered.total}
    assert sum(n for _, n in filtered.over_time) == filtered.total
    mine = [r for r in reports if r.bug_class == cls]
    assert dict(filtered.by_language) == dict(Counter(r.language for r in mine))
    assert dict(filtered.by_kernel) == dict(Counter(r.kernel or "(unknown)" for r in mine))
    lang = Counter(r.language for r in reports).most_common(1)[0][0]
    in_lang = [r for r in reports if r.language == lang and r.received_at >= window.since]
    by_lang = repo.stats(Filters(language=lang, since=window.since))
    assert by_lang.total == len(in_lang)
    assert dict(by_lang.by_class) == dict(Counter(r.bug_class or "(unknown)" for r in in_lang))
    # Filters the counters cannot answer go to the report columns; same answers.
    both = repo.stats(Filters(bug_class=cls, language=lang))
    assert both.total == sum(r.bug_class == cls and r.language == lang for r in reports)
    kernel = Counter(r.kernel for r in reports if r.kernel).most_common(1)[0][0]
    by_kernel = repo.stats(Filters(kernel=kernel), bucket="month")
    assert by_kernel.total == sum(r.kernel == kernel for r in reports)
    assert dict(by_kernel.by_kernel) == {kernel: by_kernel.total}
    assert repo.facet_values("bug_class")[0].count == st.by_class[0][1]


def test_flood_control_keeps_counts_drops_old_texts(repo: Repository, crash_logs) -> None:
    limit = repo.settings.sample_limit
    assert limit == 3
    logs = variants(crash_logs[2].log, 7)
    ids = [
        repo.ingest_log(log, scrub=False, received_at=DAY + dt.timedelta(hours=i)).report_id
        for i, log in enumerate(logs)
    ]
    group = repo.get_group(repo.get_report(ids[0]).summary.group_id, per_page=50)
    assert group.group.report_count == 7 and group.reports.total == 7
    kept = [i for i in ids if not repo.get_report(i).summary.pruned]
    # The representative is the first complete report (quality, then age: never simply the
    # newest, issue 12 defect 6); it keeps its text, and so do the first N of the others.
    rep = group.representative.summary.id
    assert rep == ids[0] and group.representative.original == logs[0]
    assert kept == sorted([rep, *[i for i in ids if i != rep][:limit]])
    pruned = repo.get_report(ids[-1])
    assert pruned.original is None and pruned.summary.pruned
    assert "text" not in pruned.parse["reports"][0] and pruned.summary.title
    assert repo.stats().total == 7


def test_merge_is_sticky(repo: Repository, crash_logs) -> None:
    a = repo.ingest_log(crash_logs[3].log, scrub=False)
    b = repo.ingest_log(crash_logs[10].log, scrub=False)
    assert a.group_id != b.group_id
    merged = repo.merge_groups(a.group_id, [b.group_id])
    assert merged.report_count == 2
    assert repo.get_group(b.group_id) is None
    detail = repo.get_group(a.group_id)
    assert set(detail.signatures) == {a.signature, b.signature}
    # A new report with the merged signature lands in the target group (joining off: the
    # variant contains the stored log, it would be joined with it: tests/store/test_join.py).
    repo.settings = repo.settings.with_(join_window_hours=0)
    extra = repo.ingest_log(variants(crash_logs[10].log, 1)[0], scrub=False)
    assert extra.group_id == a.group_id and not extra.group_is_new
    summary = repo.reprocess()
    assert summary.moved == [] and summary.errors == []
    assert repo.get_group(a.group_id).group.report_count == 3
    with pytest.raises(NotFound):
        repo.merge_groups(a.group_id, [999999])
    with pytest.raises(KpanicError):
        repo.merge_groups(a.group_id, [a.group_id])


def test_split_is_sticky(repo: Repository, crash_logs) -> None:
    logs = variants(crash_logs[4].log, 3)
    ids = [repo.ingest_log(log, scrub=False).report_id for log in logs]
    old_group = repo.get_report(ids[0]).summary.group_id
    new_group = repo.split_report_to_new_group(ids[1])
    assert new_group.id != old_group and new_group.report_count == 1
    assert repo.get_group(old_group).group.report_count == 2
    summary = repo.reprocess()
    assert summary.moved == []
    assert repo.get_report(ids[1]).summary.group_id == new_group.id
    assert repo.get_group(old_group).group.report_count == 2
    with pytest.raises(KpanicError):
        repo.split_report_to_new_group(ids[1])  # already alone
    with pytest.raises(NotFound):
        repo.split_report_to_new_group(123456)


def test_delete_report_updates_everything(repo: Repository, crash_logs) -> None:
    logs = variants(crash_logs[5].log, 2)
    r1 = repo.ingest_log(logs[0], scrub=False, received_at=DAY)
    r2 = repo.ingest_log(logs[1], scrub=False, received_at=DAY + dt.timedelta(days=1))
    assert repo.delete_report(r2.report_id)
    g = repo.get_group(r1.group_id)
    assert g.group.report_count == 1 and g.group.last_seen == DAY
    assert g.representative.summary.id == r1.report_id
    assert repo.stats().total == 1
    assert repo.delete_report(r1.report_id)
    assert repo.get_group(r1.group_id) is None
    assert repo.stats().total == 0 and repo.list_groups().total == 0
    assert not repo.delete_report(r1.report_id)
    # Deleted content can be submitted again.
    assert repo.ingest_log(logs[0], scrub=False).is_new


def test_reprocess_moves_reports_after_an_upgrade(
    repo: Repository, crash_logs, prepared_crashes
) -> None:
    """Simulate reports grouped by an older classifier; reprocess puts them right."""
    ids = ingest_all(repo, prepared_crashes[:8])
    truth = {i: repo.get_report(i).summary.group_id for i in ids.values()}
    victim = ids[crash_logs[0].name]
    with repo.engine.begin() as conn:
        conn.execute(
            update(Report)
            .where(Report.id == victim)
            .values(signature="old-signature-v0", title="old title", bug_class="stale")
        )
        # The old version had put it in a group of its own.
        legacy = conn.scalar(
            insert(CrashGroup)
            .values(
                signature="old-signature-v0",
                title="old title",
                report_count=1,
                full_count=1,
                first_seen=DAY,
                last_seen=DAY,
                created_by="ingest",
                created_at=DAY,
            )
            .returning(CrashGroup.id)
        )
        conn.execute(update(Report).where(Report.id == victim).values(group_id=legacy))
    summary = repo.reprocess()
    moved = {m.report_id: m for m in summary.moved}
    assert victim in moved and moved[victim].old_signature == "old-signature-v0"
    assert moved[victim].new_group_id == truth[victim]
    assert {i: repo.get_report(i).summary.group_id for i in ids.values()} == truth
    assert legacy in summary.groups_removed
    assert repo.get_report(victim).summary.bug_class != "stale"
    st = repo.stats()
    assert "stale" not in dict(st.by_class) and st.total == 8


def test_reprocess_pruned_reports_from_parse_result(repo: Repository, crash_logs) -> None:
    logs = variants(crash_logs[6].log, 6)
    ids = [repo.ingest_log(log, scrub=False).report_id for log in logs]
    assert repo.get_report(ids[-1]).summary.pruned
    summary = repo.reprocess()
    assert summary.errors == [] and summary.moved == [] and summary.reports == 6


def test_bad_input_gives_clear_errors(repo: Repository) -> None:
    with pytest.raises(NoCrashFound):
        repo.ingest_log("[    0.000000] Linux version 6.12.0 booting normally\n")
    with pytest.raises(NoCrashFound):
        repo.ingest_log("<html><script>alert(1)</script><body>BUG</body></html>")
    with pytest.raises(KpanicError, match="binary"):
        repo.ingest_log(bytes(range(256)) * 64)
    with pytest.raises(KpanicError, match="empty"):
        repo.ingest_log("  \n")
    small = repo.settings.with_(max_log_bytes=1000)
    tight = Repository(repo.url, settings=small)
    try:
        with pytest.raises(InputTooLarge):
            tight.ingest_log("x" * 1001)
    finally:
        tight.close()
    with pytest.raises(PayloadError):
        repo.ingest_url("https://panic.example/?a=x86_64&v=6.15&z=12ab")
    with pytest.raises(KpanicError):  # raw text, not a panic URL: no crash in it
        repo.ingest_url("<script>alert(1)</script>")
    with pytest.raises(InputTooLarge):
        repo.ingest_url("https://panic.example/?z=" + "1" * (repo.settings.max_url_chars + 1))
    assert repo.list_groups().total == 0


def test_scrub_on_by_default(repo: Repository, crash_logs) -> None:
    log = crash_logs[7].log
    noisy = "".join(f"Nov 22 01:02:03 lab-host-12 kernel: {line}\n" for line in log.splitlines())
    noisy += "Nov 22 01:02:04 lab-host-12 kernel: eth0: link up, peer 198.51.100.7\n"
    res = repo.ingest_log(noisy)
    rep = repo.get_report(res.report_id)
    assert rep.summary.scrubbed and rep.scrub_counts["hostname"] > 0
    assert "lab-host-12" not in rep.original and "198.51.100.7" not in rep.original
    assert res.title == kpanic.report.parse(log).primary.title
    kept = repo.ingest_log(noisy.replace("lab-host-12", "lab-host-13"), scrub=False)
    assert "lab-host-13" in repo.get_report(kept.report_id).original


def test_tokens(repo: Repository) -> None:
    new = repo.create_token("ci uploader")
    assert new.token.startswith("kp_") and len(new.token) > 40
    info = repo.verify_token(new.token)
    assert info is not None and info.name == "ci uploader" and info.last_used_at
    assert repo.verify_token(new.token[:-1] + ("A" if new.token[-1] != "A" else "B")) is None
    assert repo.verify_token("") is None and repo.verify_token("kp_" + "x" * 500) is None
    with repo.engine.connect() as conn:
        stored = conn.execute(select(ApiToken.token_hash, ApiToken.prefix)).all()
    assert all(new.token not in (h, p) for h, p in stored)
    assert [t.id for t in repo.list_tokens()] == [new.info.id]
    assert repo.revoke_token(new.info.id)
    assert repo.verify_token(new.token) is None
    assert not repo.revoke_token(new.info.id)
    assert repo.list_tokens()[0].revoked


def test_ingest_url_from_panic_qr_payload(repo: Repository) -> None:
    """A real drm_panic URL (from a dev photo's metadata) is stored with its payload info."""
    import json

    from tests.conftest import require_shared

    photos = require_shared("photos/dev")
    meta = json.loads(sorted(photos.glob("*.json"))[0].read_text())
    res = repo.ingest_url(meta["payload"], scrub=False)
    rep = repo.get_report(res.report_id)
    assert rep.summary.source_kind == "url" and rep.original == meta["payload"]
    assert rep.kmsg and rep.payload and rep.payload.get("kernel")
    assert rep.summary.kernel
    assert not repo.ingest_url(meta["payload"]).is_new  # same kmsg: same report


def test_ingest_photo_and_its_url_are_one_report(repo: Repository) -> None:
    """A photo keeps its sha256 and the QR payload; the URL inside it is the same content."""
    import hashlib
    import json

    from kpanic.errors import PhotoDecodeError
    from tests.conftest import require_shared

    photos = require_shared("photos/dev")
    photo = sorted(photos.glob("*_easy_*.jpg"))[0]
    meta = json.loads(photo.with_suffix(".json").read_text())
    data = photo.read_bytes()
    res = repo.ingest_photo(data, scrub=False)
    rep = repo.get_report(res.report_id)
    assert rep.summary.source_kind == "photo" and rep.original == meta["payload"]
    assert rep.photo_sha256 == hashlib.sha256(data).hexdigest() and rep.photo_size == len(data)
    again = repo.ingest_url(meta["payload"], scrub=False)
    assert not again.is_new and again.report_id == res.report_id
    with pytest.raises(PhotoDecodeError):
        repo.ingest_photo(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    tight = Repository(repo.url, settings=repo.settings.with_(max_photo_bytes=1000))
    try:
        with pytest.raises(InputTooLarge):
            tight.ingest_photo(data)
    finally:
        tight.close()


def test_scrubbed_panic_url_is_not_kept(repo: Repository, crash_logs) -> None:
    """A panic URL is compressed kmsg: when scrubbing changed the text, the URL is withheld."""
    import zlib

    from kpanic.qr.encode import encode

    log = min(crash_logs, key=lambda c: len(c.log)).log
    kmsg = log + "[  99.000000] eth0: peer 198.51.100.7 is unreachable\n"
    prefix = "https://panic.example/report?a=x86_64&v=6.15.0&z="
    url = encode(zlib.compress(kmsg.encode()), prefix).text
    assert url and url.startswith(prefix)
    res = repo.ingest_url(url)  # scrubbing is on by default
    rep = repo.get_report(res.report_id)
    assert rep.summary.scrubbed and rep.original is None
    assert "198.51.100.7" not in rep.kmsg and "<ipv4>" in rep.kmsg
    assert "url" not in rep.payload and "payload" not in rep.payload
    assert rep.payload["kernel"] == "6.15.0" and rep.summary.arch
    assert not repo.ingest_url(url, scrub=False).is_new  # dedup is on the unscrubbed text
