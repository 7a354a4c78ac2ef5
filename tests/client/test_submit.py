"""``kpanic submit`` and ``kpanic collect --send`` against a real ``kpanic serve`` on 127.0.0.1:
answers shown, 4xx not retried, spool and backoff across a server outage, once-only delivery,
a sender killed at any point, and the way from a fake pstore tree to a report page."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from kpanic.report import parse
from tests.client.conftest import (
    KPANIC,
    Served,
    corpus_log,
    fixture_log,
    run_kpanic,
    write_dump,
)
from tests.web.conftest import kmsg_urls

LOG = "riscv-kvm-null-deref.txt"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"KPANIC_CLIENT_STATE_DIR": str(tmp_path / "state"), **extra}


def _spooled(tmp_path: Path) -> list[Path]:
    d = tmp_path / "state" / "spool"
    return sorted(d.glob("*.json")) if d.is_dir() else []


def test_submit_a_log_shows_the_analysis_and_the_page(tmp_path: Path, server: Served) -> None:
    f = tmp_path / "oops.txt"
    f.write_text(fixture_log(LOG))
    r = run_kpanic("submit", "--server", server.url, str(f), env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    title = parse(fixture_log(LOG)).primary.title
    assert f"{f}: stored as a new report" in r.stdout
    assert f"title:  {title}" in r.stdout
    assert "class:  null-deref; safe Rust prevents: yes" in r.stdout
    assert "(a new group)" in r.stdout
    page = next(ln.split()[-1] for ln in r.stdout.splitlines() if ln.strip().startswith("page:"))
    assert page.startswith(server.url + "/reports/")
    html = httpx.get(page, timeout=10)
    assert html.status_code == 200
    assert title.split(" in ")[0] in html.text
    # The same file again (a retry after a lost answer): one report.
    again = run_kpanic("submit", "--server", server.url, "--json", str(f), env=_env(tmp_path))
    assert again.returncode == 0, again.stderr
    out = json.loads(again.stdout)
    assert out["status"] == "duplicate" and out["page"] == page and out["is_new"] is False
    assert len(server.reports()) == 1
    assert _spooled(tmp_path) == []


def test_submit_stdin_panic_url_and_collect_output(tmp_path: Path, server: Served) -> None:
    url = kmsg_urls("fido2")[0]["url"]
    r = run_kpanic("submit", "--server", server.url, "--json", url, env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "stored"
    r = run_kpanic(
        "submit", "--server", server.url, "-", env=_env(tmp_path), input=corpus_log(5).encode()
    )
    assert r.returncode == 0, r.stderr
    assert "standard input: stored as a new report" in r.stdout.decode()
    doc = {"crashes": [{"text": corpus_log(10)}, {"text": corpus_log(1000)}]}
    r = run_kpanic(
        "submit", "--server", server.url, "--json", "-", env=_env(tmp_path),
        input=json.dumps(doc).encode(),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = [json.loads(ln) for ln in r.stdout.decode().splitlines()]
    assert [ln["status"] for ln in lines] == ["stored", "stored"]
    assert len(server.reports()) == 4


def test_submit_a_photo(tmp_path: Path, server: Served) -> None:
    from kpanic.qr import kmsg, render

    log = fixture_log(LOG).encode()
    prefix = kmsg.build_url("https://crash.example/r", arch="x86_64", kernel="6.15.0")
    code = kmsg.url_mode(log, prefix, qr_version=40).code
    photo = tmp_path / "screen.png"
    photo.write_bytes(render.render_png(code, scale=6))
    r = run_kpanic("submit", "--server", server.url, "--json", str(photo), env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == "stored" and out["bug_class"] == "null-deref"


def test_4xx_is_shown_with_the_reason_and_not_retried(tmp_path: Path, server: Served) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("nothing crashed here\njust notes\n")
    r = run_kpanic("submit", "--server", server.url, str(f), env=_env(tmp_path))
    assert r.returncode == 1
    assert f"kpanic: {f}: refused by the server: HTTP 422: no kernel crash report" in r.stderr
    assert _spooled(tmp_path) == []


def test_token_is_sent(tmp_path: Path) -> None:
    """With a rate limit of 1, the second report needs the admin token (admins are not
    limited): without it the server answers 429 (retried later), with it the report is stored."""
    from tests.client.conftest import free_port

    s = Served(tmp_path / "s.db", free_port(), tmp_path / "s.log", env={"KPANIC_RATE_LIMIT": "1"})
    made = run_kpanic("token", "create", "--name", "client", "--db", f"sqlite:///{s.db}")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    s.start()
    try:
        a, b = tmp_path / "a.txt", tmp_path / "b.txt"
        a.write_text(corpus_log(5))
        b.write_text(corpus_log(10))
        assert run_kpanic("submit", "--server", s.url, str(a), env=_env(tmp_path)).returncode == 0
        limited = run_kpanic("submit", "--server", s.url, str(b), env=_env(tmp_path))
        assert limited.returncode == 75
        assert "HTTP 429" in limited.stderr and len(_spooled(tmp_path)) == 1
        ok = run_kpanic(
            "submit", "--server", s.url, "--retry-now", env=_env(tmp_path, KPANIC_TOKEN=token)
        )
        assert ok.returncode == 0, ok.stderr
        assert f"{b}: stored as a new report" in ok.stdout
        assert _spooled(tmp_path) == []
    finally:
        s.stop()


def test_server_down_then_up_spool_backoff_and_retry(
    tmp_path: Path, stopped_server: Served
) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(fixture_log(LOG))
    b.write_text(corpus_log(1000))
    url = stopped_server.url
    down = run_kpanic("submit", "--server", url, str(a), env=_env(tmp_path))
    assert down.returncode == 75
    assert "not sent (cannot reach" in down.stderr and "kept in the spool" in down.stderr
    (entry,) = _spooled(tmp_path)
    data = json.loads(entry.read_text())
    assert data["attempts"] == 1
    assert 20 < data["next_attempt"] - time.time() < 100  # 60 s, jittered by 0.5..1.5
    # A second report while the server is still down, with no backoff: due at once. The first
    # one is not due, so it is not tried again.
    down = run_kpanic(
        "submit", "--server", url, str(b), env=_env(tmp_path, KPANIC_CLIENT_RETRY_BASE="0")
    )
    assert down.returncode == 75 and len(_spooled(tmp_path)) == 2
    assert json.loads(entry.read_text())["attempts"] == 1
    stopped_server.start()
    # The next run sends what is due and leaves the rest to its backoff...
    run = run_kpanic("submit", "--server", url, env=_env(tmp_path))
    assert run.returncode == 75, run.stderr
    assert f"{b}: stored as a new report" in run.stdout
    assert "1 earlier report(s) wait in the spool; next attempt in" in run.stdout
    assert len(stopped_server.reports()) == 1
    # ...which --retry-now overrides.
    now = run_kpanic("submit", "--server", url, "--retry-now", env=_env(tmp_path))
    assert now.returncode == 0, now.stderr + now.stdout
    assert f"{a}: stored as a new report" in now.stdout
    assert len(stopped_server.reports()) == 2 and _spooled(tmp_path) == []


def _tree(root: Path, logs: list[str]) -> None:
    for i, log in enumerate(logs, start=1):
        n = len(log.encode())
        write_dump(
            root / "sys" / "fs" / "pstore", log, count=i, cuts=[n // 2 + 1], compress={2},
            timestamp=1_764_000_000 + 1000 * i,
        )  # fmt: skip


def test_from_a_fake_pstore_tree_to_a_report_page_once(tmp_path: Path, server: Served) -> None:
    root = tmp_path / "root"
    log = fixture_log("mac80211-kasan-uaf-console.txt").replace(
        "wlan8: mgd_auth failed",
        "wlan8: hostname=laptop-of-alice mgd_auth failed (from 192.168.17.42)",
        1,
    )
    _tree(root, [log])
    env = _env(tmp_path)
    # Without --send nothing leaves the machine; --show prints what would, scrubbed.
    listing = run_kpanic("collect", "--root", str(root), env=env)
    assert listing.returncode == 0, listing.stderr
    assert "1 new crash(es)" in listing.stdout and "nothing was sent" in listing.stdout
    show = run_kpanic("collect", "--root", str(root), "--show", env=env)
    assert "192.168.17.42" not in show.stdout and "(from <ipv4>)" in show.stdout
    assert "laptop-of-alice" not in show.stdout and "hostname=<host>" in show.stdout
    assert "removed before sending: 1 hostname, 1 ip" in show.stdout
    assert server.reports() == []
    sent = run_kpanic("collect", "--root", str(root), "--send", "--server", server.url, env=env)
    assert sent.returncode == 0, sent.stderr
    assert "stored as a new report" in sent.stdout
    page = next(ln.split()[-1] for ln in sent.stdout.splitlines() if ln.strip().startswith("page:"))
    html = httpx.get(page, timeout=10).text
    assert "lockref_get" in html and "192.168.17.42" not in html and "alice" not in html
    # collect --json | submit -: the same crash, and the state file learns it was sent.
    other = tmp_path / "other-root"
    _tree(other, [corpus_log(1000)])
    doc = run_kpanic("collect", "--root", str(other), "--json", env=env).stdout
    piped = run_kpanic("submit", "--server", server.url, "-", env=env, input=doc.encode())
    assert piped.returncode == 0 and b"stored as a new report" in piped.stdout
    later = run_kpanic("collect", "--root", str(other), env=env)
    assert "0 new crash(es), 1 already handled" in later.stdout
    assert len(server.reports()) == 2
    # Collected again: found once, so not sent again.
    again = run_kpanic("collect", "--root", str(root), "--send", "--server", server.url, env=env)
    assert again.returncode == 0
    assert "0 new crash(es), 1 already handled" in again.stdout
    # Even with the state lost, the server stores it once (same content, same key).
    lost = _env(tmp_path / "other")
    third = run_kpanic("collect", "--root", str(root), "--send", "--server", server.url, env=lost)
    assert "already stored" in third.stdout
    assert len(server.reports()) == 2


def test_a_sender_killed_at_any_point_loses_nothing_and_sends_each_crash_once(
    tmp_path: Path, server: Served
) -> None:
    logs = [fixture_log(n) for n in sorted(os.listdir(Path(__file__).parents[1] / "report" /
            "fixtures")) if n.endswith(".txt") and "--" not in n][:10]  # fmt: skip
    logs = [lg for lg in logs if parse(lg).primary is not None][:8]
    assert len(logs) >= 6
    root = tmp_path / "root"
    _tree(root, logs)
    env = {**os.environ, "KPANIC_CLIENT_CONFIG": os.devnull, **_env(tmp_path)}
    cmd = [str(KPANIC), "collect", "--root", str(root), "--send", "--server", server.url]
    kills = 0
    for delay in (0.15, 0.25, 0.35, 0.45, 0.55, 0.7, 0.9, 1.2, 1.6, 2.0, 2.5):
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait()
    assert kills >= 3
    final = run_kpanic("collect", "--root", str(root), "--send", "--server", server.url,
                       "--retry-now", env=_env(tmp_path))  # fmt: skip
    assert final.returncode == 0, final.stderr
    assert _spooled(tmp_path) == []
    assert list((tmp_path / "state" / "spool").glob(".*.tmp")) == []
    stored = server.reports()
    assert len(stored) == len(logs)
    assert len({r["id"] for r in stored}) == len(logs)
    state = json.loads((tmp_path / "state" / "state.json").read_text())
    assert sorted(v["status"] for v in state["crashes"].values()) == ["sent"] * len(logs)


@pytest.mark.parametrize("mode", ["body", "location"])
def test_202_with_a_status_address_is_polled(mode: str) -> None:
    """A server that queues (202 + status URL, ?wait=N) is followed to the analysis."""
    from kpanic.client.send import Sender
    from kpanic.client.spool import Entry

    polls: list[str] = []
    analysis = {"report_id": 7, "group_id": 3, "is_new": True, "group_is_new": False,
                "title": "x", "report_url": "/reports/7", "group_url": "/groups/3"}  # fmt: skip

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            assert request.headers["idempotency-key"] == "k1"
            assert request.headers["authorization"] == "Bearer sekrit"
            body = {"status": "queued", "status_url": "/api/v1/jobs/9"} if mode == "body" else {}
            headers = {"location": "/api/v1/jobs/9"} if mode == "location" else {}
            return httpx.Response(202, json=body, headers=headers)
        polls.append(str(request.url))
        if len(polls) < 2:
            return httpx.Response(200, json={"status": "processing"})
        return httpx.Response(200, json={"status": "done", "result": analysis})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    sender = Sender("http://srv.example", token="sekrit", client=client)
    out = sender.send(Entry(key="k1", kind="log", body="x", name="x"))
    assert out.status == "stored" and out.result["report_id"] == 7
    assert out.page == "http://srv.example/reports/7"
    assert polls[0] == "http://srv.example/api/v1/jobs/9?wait=10"


@pytest.mark.parametrize(
    ("status", "expect"),
    [(500, "retry"), (503, "retry"), (429, "retry"), (408, "retry"), (413, "rejected"),
     (422, "rejected"), (401, "rejected"), (308, "rejected"), (201, "stored"), (200, "duplicate")],
)  # fmt: skip
def test_answers_are_classified(status: int, expect: str) -> None:
    from kpanic.client.send import Sender
    from kpanic.client.spool import Entry

    def handler(request: httpx.Request) -> httpx.Response:
        if status in (200, 201):
            body = {"report_id": 1, "is_new": status == 201, "report_url": "/reports/1"}
            return httpx.Response(status, json=body)
        headers = {"retry-after": "120"} if status == 429 else {}
        if status == 308:
            headers["location"] = "https://srv.example/"
        return httpx.Response(status, json={"detail": f"reason {status}"}, headers=headers)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    sender = Sender("http://srv.example", client=client)
    out = sender.send(Entry(key="k", kind="log", body="x", name="x"))
    assert out.status == expect
    if expect == "rejected" and status != 308:
        assert out.reason == f"reason {status}"
    if status == 429:
        assert out.retry_after == 120


def test_two_machines_with_one_crash_count_as_two(tmp_path: Path, server: Served) -> None:
    """``kpanic collect --send`` sends the app-specific machine id of its root; the group shows
    two distinct machines for the same crash from two machines, and one for a resend."""
    log = fixture_log(LOG)
    for n, mid in enumerate(
        ("3d1219c7c4c5404aaa1f6d2a48adfda4", "0123456789abcdef0123456789abcdef")
    ):
        root = tmp_path / f"root{n}"
        # the same crash, a different console line each: two reports of one group
        _tree(root, [log + f"[ 9999.{n:06d}] random: crng reseeded\n"])
        (root / "etc").mkdir(parents=True, exist_ok=True)
        (root / "etc" / "machine-id").write_text(mid + "\n")
        env = _env(tmp_path / f"state{n}")
        sent = run_kpanic("collect", "--root", str(root), "--send", "--server", server.url, env=env)
        assert sent.returncode == 0, sent.stderr
    (group,) = httpx.get(server.url + "/api/v1/groups", timeout=10).json()["items"]
    assert group["report_count"] == 2 and group["machine_count"] == 2
    report = server.reports()[0]
    detail = httpx.get(server.url + f"/api/v1/reports/{report['id']}", timeout=10).text
    assert "machine" not in detail.replace("machine_count", "")  # never shown
