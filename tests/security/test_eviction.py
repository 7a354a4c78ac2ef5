"""Issue 12 defect 6: one client could evict other people's reports. Flood control kept the
text of a group's first 20 reports plus the latest, so twenty junk copies of a crash, then one
after each real report, stripped the real reports' texts and made the attacker's copy the
group's representative. Now each submitter (rate-limit key) keeps at most SUBMITTER_QUOTA full
reports per group, and the representative is chosen by quality (complete), not recency."""

from __future__ import annotations

import dataclasses
import uuid

from kpanic.pipeline import stages
from kpanic.pipeline.limits import Limits
from kpanic.pipeline.submission import Submission
from kpanic.store.batch import Pending
from kpanic.store.repository import Repository, upgrade
from kpanic.store.views import ClientInfo
from kpanic.store.writes import SUBMITTER_QUOTA
from tests.web import conftest as web
from tests.web.conftest import demo_log

db_url, pg_url = web.db_url, web.pg_url
LIMITS = Limits.from_settings()


def _copy(who: str, log: str) -> Pending:
    """The same crash with a unique console line: another report of the same group."""
    text = f"[    0.000000] {who}-{uuid.uuid4().hex}\n{log}"
    prepared = stages.prepare(Submission("log", text), LIMITS)
    return Pending(prepared, ClientInfo(via="api", ip=who))


def _store(repo: Repository, item: Pending) -> int:
    (result,) = repo.store_many([item])
    return result.report_id


def test_a_flooding_client_cannot_evict_other_reports(db_url: str) -> None:
    upgrade(db_url)
    log = demo_log(428)
    with Repository(db_url) as repo:
        limit = repo.settings.sample_limit
        first_real = _store(repo, _copy("alice", log))  # a real report first
        junk = [_store(repo, _copy("mallory", log)) for _ in range(limit)]
        real = [first_real]
        for who in ("bob", "carol", "dave"):
            real.append(_store(repo, _copy(who, log)))
            junk.append(_store(repo, _copy("mallory", log)))  # one after each real report
        group_id = repo.get_report(first_real).summary.group_id  # type: ignore[union-attr]
        assert all(repo.get_report(r).summary.group_id == group_id for r in real + junk)  # type: ignore[union-attr]
        # Every real report keeps its text; the attacker keeps at most its quota.
        assert [repo.get_report(r).summary.pruned for r in real] == [False] * len(real)  # type: ignore[union-attr]
        kept = [r for r in junk if not repo.get_report(r).summary.pruned]  # type: ignore[union-attr]
        # Pruning runs when a group is over its sample (limit + 1 full reports); then the
        # attacker's reports beyond the quota go first. Between two prunes the newest few
        # may still be full: the attacker never holds more than the quota plus that slack.
        assert junk[SUBMITTER_QUOTA] not in kept and len(kept) < limit // 2
        assert kept[:SUBMITTER_QUOTA] == junk[:SUBMITTER_QUOTA]
        # The representative is still the first complete report, not the attacker's latest.
        group = repo.get_group(group_id)
        assert group is not None and group.representative is not None
        assert group.representative.summary.id == first_real


def test_a_corrupted_representative_gives_way_to_a_complete_report(db_url: str) -> None:
    upgrade(db_url)
    log = demo_log(428)
    with Repository(db_url) as repo:
        broken = _copy("erin", log)
        broken = dataclasses.replace(
            broken, prepared=dataclasses.replace(broken.prepared, corrupted=True)
        )
        first = _store(repo, broken)
        gid = repo.get_report(first).summary.group_id  # type: ignore[union-attr]
        assert repo.get_group(gid).representative.summary.id == first  # type: ignore[union-attr]
        complete = _store(repo, _copy("frank", log))
        assert repo.get_group(gid).representative.summary.id == complete  # type: ignore[union-attr]
        _store(repo, _copy("mallory", log))
        assert repo.get_group(gid).representative.summary.id == complete  # type: ignore[union-attr]
