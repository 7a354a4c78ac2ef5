"""Triage through the real store on SQLite and PostgreSQL: status changes with their audit
trail, a regression detected on intake, duplicates undone, owners from a MAINTAINERS file,
links, and notifications delivered to a real webhook receiver and a real SMTP server."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from kpanic.errors import KpanicError
from kpanic.store import triage
from kpanic.store.db import read_session, write_session
from kpanic.store.notify import dispatch
from kpanic.triage.deliver import MailSettings, verify_signature
from kpanic.triage.lifecycle import LifecycleError
from kpanic.triage.maintainers import load_maintainers

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "report" / "fixtures"
MAINTAINERS = ROOT / "data" / "maintainers" / "MAINTAINERS"
RELEASE = re.compile(r"6\.18\.14\+")


def log_of(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8").split("\n\n", 1)[1]


def on_release(release: str, n: int = 0) -> str:
    """The mac80211 KASAN report as if it came from another kernel release (another text,
    another report, the same crash)."""
    text = RELEASE.sub(release, log_of("mac80211-kasan-uaf-console.txt"))
    return text.replace("wpa_supplicant", f"wpa_supplicant{n}" if n else "wpa_supplicant")


def variant(text: str, n: int) -> str:
    """The same crash as another report: a later unrelated console line changes the text."""
    return f"{text.rstrip()}\n[99999.{n:06d}] random: crng init done\n"


def test_regression_on_a_release_after_the_fix(repo) -> None:
    first = repo.ingest_log(on_release("6.15.1"))
    gid = first.group_id
    change = triage.change_status(
        repo, gid, "fixed", who="alice", why="patch in 6.15.3", release="6.15.3", commit="0123abcd"
    )
    assert change.summary() == "fixed in commit 0123abcd and release 6.15.3"
    # An older kernel in the field: counted before the fix, the group stays fixed.
    older = repo.ingest_log(on_release("6.15.2", 1))
    assert older.group_id == gid and older.is_new
    with read_session(repo.engine) as s:
        info = triage.triage_info(s, gid)
    assert info.state.status == "fixed" and info.before_fix == 1 and not info.state.regressed
    # A kernel with the fix: the group reopens as regressed, with an audit entry.
    newer = repo.ingest_log(on_release("6.15.4-200.fc42.x86_64", 2))
    assert newer.group_id == gid
    with read_session(repo.engine) as s:
        info = triage.triage_info(s, gid)
    assert info.state.status == "open" and info.state.regressed
    assert info.regressed_at is not None
    assert [h.action for h in info.history] == ["regressed", "status"]
    assert "crashed again on 6.15.4-200.fc42.x86_64" in info.history[0].why
    assert (info.history[1].who, info.history[1].why) == ("alice", "patch in 6.15.3")


def test_batched_intake_detects_regressions_too(repo) -> None:
    from kpanic.store.batch import Pending
    from kpanic.store.ingest import prepare_log

    gid = repo.ingest_log(on_release("6.15.1")).group_id
    triage.change_status(repo, gid, "fixed", who="alice", release="6.15.3")
    items = [Pending(prepare_log(on_release("6.16.0", n), scrub=True), None, None) for n in (5, 6)]
    results = repo.store_many(items)
    assert {r.group_id for r in results} == {gid}
    with read_session(repo.engine) as s:
        assert triage.triage_info(s, gid).state.regressed


def test_refused_changes_leave_nothing(repo) -> None:
    gid = repo.ingest_log(on_release("6.15.1")).group_id
    with pytest.raises(LifecycleError):
        triage.change_status(repo, gid, "fixed", who="alice")
    with pytest.raises(triage.TriageNotFound):
        triage.change_status(repo, 10**9, "invalid", who="alice", reason="x")
    with read_session(repo.engine) as s:
        info = triage.triage_info(s, gid)
    assert info.state.status == "open" and info.history == ()


def test_duplicate_absorbs_and_undo_restores(repo) -> None:
    a = repo.ingest_log(on_release("6.15.1"))
    b = repo.ingest_log(log_of("kasan-doc-oob-right.txt"))
    assert a.group_id != b.group_id
    triage.change_status(
        repo, b.group_id, "duplicate", who="bob", duplicate_of=a.group_id, why="same root cause"
    )
    target = repo.get_group(a.group_id)
    assert target is not None and target.group.report_count == 2
    # A later crash with the duplicate's signature lands in the target (joining off: the
    # variant extends the stored log, it would be joined with it: tests/store/test_join.py).
    repo.settings = repo.settings.with_(join_window_hours=0)
    again = repo.ingest_log(variant(log_of("kasan-doc-oob-right.txt"), 1))
    assert again.group_id == a.group_id
    with pytest.raises(KpanicError, match="itself a duplicate"):
        triage.change_status(repo, a.group_id, "duplicate", who="bob", duplicate_of=b.group_id)
    triage.change_status(repo, b.group_id, "open", who="bob", why="not the same after all")
    restored = repo.get_group(b.group_id)
    assert restored is not None and restored.group.report_count == 2
    assert repo.get_group(a.group_id).group.report_count == 1  # type: ignore[union-attr]
    after = repo.ingest_log(variant(log_of("kasan-doc-oob-right.txt"), 2))
    assert after.group_id == b.group_id


def test_owners_links_assignment_and_possible_duplicates(repo) -> None:
    gid = repo.ingest_log(log_of("btrfs-refcount-warning.txt")).group_id
    m = load_maintainers(MAINTAINERS)
    assert triage.assign_owners(repo, m) >= 1
    triage.assign(repo, gid, "carol", who="alice", why="btrfs expert")
    link = triage.add_link(
        repo,
        gid,
        "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/"
        "linux.git/commit/?id=0123456789abcdef",
        who="alice",
        title="btrfs: fix refcount leak",
    )
    triage.add_link(
        repo, gid, "https://lore.kernel.org/all/20261201.1234@example.org/", who="alice"
    )
    with pytest.raises(KpanicError, match="http"):
        triage.add_link(repo, gid, "javascript:alert(1)", who="alice")
    with read_session(repo.engine) as s:
        info = triage.triage_info(s, gid)
    assert info.assignee == "carol"
    assert [x.kind for x in info.links] == ["commit", "lore"]
    assert info.links[0].title == "btrfs: fix refcount leak"
    assert [h.action for h in info.history] == ["link", "link", "assign"]
    triage.remove_link(repo, gid, link, who="alice")
    with pytest.raises(triage.TriageNotFound):
        triage.remove_link(repo, gid, link, who="alice")
    with read_session(repo.engine) as s:
        assert len(triage.triage_info(s, gid).links) == 1
        assert triage.possible_duplicates(s, gid) == []


class _Hook(BaseHTTPRequestHandler):
    got: list[tuple[dict[str, str], bytes]] = []
    fail_first = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        cls = type(self)
        if cls.fail_first > 0:
            cls.fail_first -= 1
            self.send_response(503)
        else:
            cls.got.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class _Inbox:
    def __init__(self) -> None:
        self.mails: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append(envelope.content)
        return "250 OK"


def test_notifications_reach_a_webhook_and_a_mailbox(repo) -> None:
    _Hook.got, _Hook.fail_first = [], 1
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        smtp_port = probe.getsockname()[1]
    inbox = _Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    ctl.start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/hook"
        with write_session(repo.engine) as s:
            triage.create_rule(
                s,
                name="kasan hooks",
                channel="webhook",
                target=url,
                secret="0123456789abcdef0123",
                who="alice",
                events=["new-group", "regression"],
                bug_class="use-after-free",
            )
            triage.create_rule(
                s,
                name="team mail",
                channel="email",
                target="team@example.org",
                who="alice",
                events=["regression"],
            )
            with pytest.raises(KpanicError, match="secret"):
                triage.create_rule(s, name="x", channel="webhook", target=url, who="a")
        gid = repo.ingest_log(on_release("6.15.1")).group_id
        triage.change_status(repo, gid, "fixed", who="alice", release="6.15.3")
        repo.ingest_log(on_release("6.15.5", 3))
        mail = MailSettings(host="127.0.0.1", port=smtp_port, sender="kpanic@example.org")
        t = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        first = dispatch(repo.engine, base_url="http://crash.example", mail=mail, now=lambda: t)
        # One webhook (a digest of new-group + regression), one mail (regression): the
        # webhook's first attempt got a 503 and is rescheduled; the mail went through.
        assert (first.planned, first.sent, first.retrying, first.failed) == (2, 1, 1, 0)
        assert len(inbox.mails) == 1 and b"Regression" in inbox.mails[0]
        later = t + dt.timedelta(hours=1)
        second = dispatch(
            repo.engine, base_url="http://crash.example", mail=mail, now=lambda: later
        )
        assert (second.planned, second.sent) == (0, 1)
        ((headers, body),) = _Hook.got
        assert verify_signature(
            "0123456789abcdef0123",
            headers["X-Kpanic-Timestamp"],
            body,
            headers["X-Kpanic-Signature-256"],
        )
        payload = json.loads(body)
        assert payload["digest"] is True
        # The rule asked for new groups and regressions, not for the status change between.
        assert [e["kind"] for e in payload["events"]] == ["new-group", "regression"]
        assert payload["events"][-1]["group"]["url"] == f"http://crash.example/groups/{gid}"
        assert payload["events"][-1]["group"]["kernel"] == "6.15.5"
        # Nothing left to send, nothing sent twice.
        third = dispatch(
            repo.engine,
            base_url="http://crash.example",
            mail=mail,
            now=lambda: later + dt.timedelta(hours=1),
        )
        assert (third.planned, third.sent) == (0, 0)
    finally:
        ctl.stop()
        srv.shutdown()
        srv.server_close()
