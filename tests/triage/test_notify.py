"""Notification rules, digests, and real deliveries on loopback: an HTTP webhook receiver and an
SMTP server (aiosmtpd), and Atom feeds read back by a feed parser."""

from __future__ import annotations

import datetime as dt
import json
import random
import socket
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import feedparser
import pytest
from aiosmtpd.controller import Controller

from kpanic.triage.deliver import (
    MAX_ATTEMPTS,
    MailSettings,
    body_of,
    event_label,
    next_attempt,
    send_mail,
    send_webhook,
    verify_signature,
)
from kpanic.triage.feed import FeedGroup, atom_feed
from kpanic.triage.rules import Event, GroupFacts, Rule, crossed_threshold, plan

T0 = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)


def group(gid: int = 1, **kw) -> GroupFacts:
    base = {
        "title": f"KASAN: use-after-free Read in f{gid}",
        "subsystems": ("MAC80211",),
        "bug_class": "use-after-free",
        "language": "c",
        "kernel": "6.15.4",
        "report_count": 3,
        "url": f"http://127.0.0.1/groups/{gid}",
    }
    base.update(kw)
    return GroupFacts(group_id=gid, **base)


def test_rule_filters() -> None:
    e = Event("regression", group(), T0, "fixed in 6.15.3, crashed on 6.15.4")
    assert Rule(1, "all").matches(e)
    assert Rule(2, "wifi", subsystem="MAC80211").matches(e)
    assert not Rule(3, "net", subsystem="NETWORKING [GENERAL]").matches(e)
    assert not Rule(4, "rust", language="rust").matches(e)
    assert Rule(5, "6.15", kernel_prefix="6.15").matches(e)
    assert Rule(6, "6.15.*", kernel_prefix="6.15.*").matches(e)
    assert not Rule(7, "6.1", kernel_prefix="6.1").matches(e)  # 6.15 is not 6.1
    assert not Rule(8, "new only", events=frozenset({"new-group"})).matches(e)
    assert not Rule(9, "uaf", bug_class="deadlock").matches(e)


def test_many_events_one_digest_per_rule() -> None:
    events = [Event("new-group", group(i), T0) for i in range(1, 40)]
    rules = [Rule(1, "everything"), Rule(2, "rust", language="rust")]
    deliveries = plan(events, rules)
    assert len(deliveries) == 1  # the rust rule matched nothing
    d = deliveries[0]
    assert d.is_digest and len(d.events) == 39
    assert "39 events" in d.subject()
    single = plan(events[:1], rules)[0]
    assert not single.is_digest
    assert single.subject().startswith("[kpanic] New crash: KASAN")


def test_escalation_fires_once_on_the_crossing_crash() -> None:
    w = dt.timedelta(hours=1)
    times = [T0 + dt.timedelta(minutes=i) for i in range(5)]
    assert [crossed_threshold(times[: i + 1], 3, w) for i in range(5)] == [
        False,
        False,
        True,
        False,
        False,
    ]
    spread = [T0 + dt.timedelta(hours=i) for i in range(5)]
    assert not any(crossed_threshold(spread[: i + 1], 3, w) for i in range(5))


def test_backoff_grows_with_jitter_and_ends() -> None:
    rng = random.Random(1)
    waits = [next_attempt(a, rng=rng) for a in range(1, MAX_ATTEMPTS)]
    assert all(w is not None for w in waits)
    assert waits[0] < 60 and waits[-1] <= 6 * 3600
    assert waits[4] > waits[0]
    assert next_attempt(MAX_ATTEMPTS) is None


class _Receiver(BaseHTTPRequestHandler):
    answers: list[int] = []
    got: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        type(self).got.append((dict(self.headers), body))
        code = type(self).answers.pop(0) if type(self).answers else 200
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"thanks" if code < 300 else b"try later")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def receiver():
    _Receiver.got = []
    _Receiver.answers = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/hook", _Receiver
    srv.shutdown()
    srv.server_close()


def test_webhook_is_signed_and_verifiable(receiver) -> None:
    url, rec = receiver
    d = plan([Event("regression", group(), T0, "crashed on 6.15.4")], [Rule(1, "all")])[0]
    res = send_webhook(url, "s3cret", body_of(d.payload()), event_label(d), delivery_id=17)
    assert res.ok and res.final and res.status == 200 and res.answer == "thanks"
    headers, body = rec.got[0]
    assert body == body_of(d.payload())
    assert json.loads(body)["events"][0]["group"]["title"].startswith("KASAN")
    assert headers["X-Kpanic-Event"] == "regression"
    assert headers["X-Kpanic-Delivery"] == "17"
    ts, sig = headers["X-Kpanic-Timestamp"], headers["X-Kpanic-Signature-256"]
    assert verify_signature("s3cret", ts, body, sig)
    assert not verify_signature("other", ts, body, sig)
    assert not verify_signature("s3cret", ts, body + b" ", sig)
    assert not verify_signature("s3cret", str(int(ts) - 3600), body, sig)  # replayed later


def test_webhook_failures_say_whether_to_retry(receiver) -> None:
    url, rec = receiver
    d = plan([Event("new-group", group(), T0)], [Rule(1, "all")])[0]
    rec.answers = [503, 429, 410]
    r503, r429, r410 = (
        send_webhook(url, "k", body_of(d.payload()), "new-group", 1) for _ in range(3)
    )
    assert (r503.ok, r503.final, r503.status) == (False, False, 503)
    assert (r429.final, r410.final) == (False, True)
    dead = send_webhook("http://127.0.0.1:9/none", "k", b"{}", "new-group", 1, timeout=2)
    assert not dead.ok and not dead.final and dead.status is None


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def test_mail_over_real_smtp() -> None:
    inbox = _Inbox()
    with socket.socket() as probe:  # aiosmtpd checks readiness on the port it was given
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        settings = MailSettings(host="127.0.0.1", port=port, sender="kpanic@crash.example")
        events = [Event("new-group", group(i), T0) for i in (1, 2)]
        d = plan(events, [Rule(1, "team", subsystem="MAC80211")])[0]
        res = send_mail(settings, "wifi-team@example.org", d.subject(), d.text())
        assert res.ok
        ((sender, rcpts, raw),) = inbox.messages
        assert sender == "kpanic@crash.example" and rcpts == ["wifi-team@example.org"]
        msg = message_from_bytes(raw)
        assert msg["Subject"] == "[kpanic] team: 2 events (new-group)"
        assert msg["Auto-Submitted"] == "auto-generated"
        text = msg.get_payload(decode=True).decode()
        assert "KASAN: use-after-free Read in f1" in text and "http://127.0.0.1/groups/2" in text
    finally:
        ctl.stop()
    down = send_mail(MailSettings(port=9, timeout=2), "x@example.org", "s", "t")
    assert not down.ok and not down.final


def test_atom_feed_validates_in_a_feed_reader() -> None:
    groups = [
        FeedGroup(
            i,
            f"WARNING in f{i} <b>&",
            f"http://127.0.0.1/groups/{i}",
            T0 + dt.timedelta(hours=i),
            T0,
            f"{i} reports; class assertion",
        )
        for i in (3, 2, 1)
    ]
    data = atom_feed(
        title="kpanic: groups (subsystem MAC80211)",
        self_url="http://127.0.0.1/groups.atom?subsystem=MAC80211",
        site_url="http://127.0.0.1/groups?subsystem=MAC80211",
        tag_authority="127.0.0.1",
        groups=groups,
    )
    feed = feedparser.parse(data)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert [e.title for e in feed.entries] == [
        "WARNING in f3 <b>&",
        "WARNING in f2 <b>&",
        "WARNING in f1 <b>&",
    ]
    assert feed.entries[0].id == "tag:127.0.0.1,2026:group/3"
    assert feed.feed.updated_parsed[:4] == (2026, 12, 3, 11)
    empty = feedparser.parse(
        atom_feed(
            title="none", self_url="http://x/a", site_url="http://x", tag_authority="x", groups=[]
        )
    )
    assert empty.bozo == 0 and empty.entries == []
