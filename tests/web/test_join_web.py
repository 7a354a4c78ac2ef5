"""A QR tail and its full log through the service: one report, both sources on its page.

The tail is the panic URL a version 40 QR code of the crash carries (kpanic.qr.kmsg.url_mode:
the kernel's "drop the oldest line until it fits" on the same log), sent to the JSON API; the
full log comes after it (or before it) through the API or ``kpanic submit`` against a real
``kpanic serve``. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import httpx

from kpanic.qr.kmsg import build_url, url_mode
from kpanic.store.ingest import prepare_log
from tests.client.conftest import Served, run_kpanic, server  # noqa: F401 (fixture)
from tests.store.conftest import corpus_logs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report" / "fixtures"))
import make_variants as mv


def _crash(name: str) -> tuple[str, str, str]:
    """(panic URL, full log, the full log's title) of a corpus crash that ended in a panic."""
    c = next(c for c in corpus_logs() if c.name == name)
    full = mv.panic_trailer(c.log, mv.panic_message(c.title))
    p = prepare_log(full, scrub=True)
    assert p.kernel
    prefix = build_url(
        "https://kpanic.example.org/report", arch=p.arch or "x86_64", kernel=p.kernel
    )
    return url_mode(full, prefix, qr_version=40).code.text, full, p.title


def _admin(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    token = client.app.state.repo.create_token("test-admin").token
    return {"authorization": f"Bearer {token}"}


def test_qr_tail_then_full_log_one_report_both_sources(client) -> None:  # type: ignore[no-untyped-def]
    url, full, title = _crash("719")
    tail = client.post("/api/v1/reports?wait=10", json={"url": url})
    assert tail.status_code == 201, tail.text
    first = tail.json()
    assert first["title"] != title and first["joined_report_id"] is None
    log = client.post("/api/v1/reports?wait=10", json={"log": full})
    assert log.status_code == 200, log.text
    joined = log.json()
    assert joined["joined_report_id"] == joined["id"] == first["id"]
    assert joined["joined_as"] == "fuller" and not joined["is_new"]
    assert joined["title"] == title and joined["group_id"] != first["group_id"]
    # the submission's status address says the same
    status = client.get(joined["status_url"]).json()
    assert status["joined_report_id"] == first["id"] and status["joined_as"] == "fuller"

    report = client.get(f"/api/v1/reports/{first['id']}", headers=_admin(client)).json()
    assert report["summary"]["title"] == title and report["summary"]["source_kind"] == "log"
    kinds = [(s["role"], s["source_kind"]) for s in report["sources"]]
    assert kinds == [("first", "url"), ("fuller", "log")]
    assert [s["submission_id"] for s in report["sources"]] == [
        first["submission_id"],
        joined["submission_id"],
    ]
    public = client.get(f"/api/v1/reports/{first['id']}").json()
    assert [s["submission_id"] for s in public["sources"]] == [None, None]

    # the dashboard: one group counts the crash once; the tail's own group is gone
    groups = client.get("/api/v1/groups").json()
    assert [(g["title"], g["report_count"]) for g in groups["items"]] == [(title, 1)]
    page = client.get(f"/reports/{first['id']}")
    assert page.status_code == 200
    sources = re.search(r'<td id="sources">(.*?)</td>', page.text, re.S)
    assert sources is not None, page.text
    items = re.findall(r"<li>(.*?)</li>", sources.group(1))
    assert len(items) == 2
    assert items[0].startswith("panic URL (QR code), ") and items[1].startswith("full log, ")


def test_full_log_then_qr_tail_joins_without_a_new_report(client) -> None:  # type: ignore[no-untyped-def]
    url, full, title = _crash("704")
    log = client.post("/api/v1/reports?wait=10", json={"log": full})
    assert log.status_code == 201, log.text
    tail = client.post("/api/v1/reports?wait=10", json={"url": url})
    assert tail.status_code == 200, tail.text
    body = tail.json()
    assert body["joined_report_id"] == log.json()["id"] and body["joined_as"] == "piece"
    assert body["title"] == title
    assert client.get("/api/v1/groups").json()["total"] == 1
    stats = client.get("/api/v1/stats").json()
    assert stats["total"] == 1
    # a browser sending the same URL through the panic URL page lands on the report, told so
    page = client.get(f"/reports/{body['id']}?submitted=joined")
    assert "joined with report" in page.text and "panic URL (QR code)" in page.text


def test_kpanic_submit_joins_the_full_log_with_the_qr_tail(
    tmp_path: Path,
    server: Served,  # noqa: F811
) -> None:
    """End to end: the QR tail's panic URL to the API, then the full log by ``kpanic
    submit`` to a real ``kpanic serve``; one report whose page shows both sources."""
    url, full, title = _crash("743")
    first = httpx.post(f"{server.url}/api/v1/reports?wait=20", json={"url": url}, timeout=30)
    assert first.status_code == 201, first.text
    f = tmp_path / "dmesg-ramoops-0.txt"
    f.write_text(full)
    env = {"KPANIC_CLIENT_STATE_DIR": str(tmp_path / "state")}
    r = run_kpanic("submit", "--server", server.url, "--json", str(f), env=env)
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout.strip().splitlines()[-1])
    assert answer["report_id"] == first.json()["id"] and answer["joined_as"] == "fuller"
    plain = run_kpanic("submit", "--server", server.url, str(f), env=env)
    assert "joined with the stored crash" in plain.stdout, plain.stdout
    page = httpx.get(f"{server.url}/reports/{answer['report_id']}", timeout=30)
    assert page.status_code == 200 and title in page.text
    assert "panic URL (QR code)" in page.text and "full log" in page.text
    groups = httpx.get(f"{server.url}/api/v1/groups", timeout=30).json()
    assert [(g["title"], g["report_count"]) for g in groups["items"]] == [(title, 1)]


def test_qr_tail_then_kpanic_collect_from_a_fake_pstore_tree(
    tmp_path: Path,
    server: Served,  # noqa: F811
) -> None:
    """The crash's QR tail reaches the server first; after the reboot ``kpanic collect
    --send`` finds the same crash in pstore (efi parts cut at an odd offset, one of them
    ``.enc.z``) and sends it: the server joins it with the tail's report."""
    from tests.client.conftest import write_dump

    url, full, title = _crash("721")
    first = httpx.post(f"{server.url}/api/v1/reports?wait=20", json={"url": url}, timeout=30)
    assert first.status_code == 201, first.text
    assert first.json()["title"] != title
    root = tmp_path / "root"
    n = len(full.encode())
    write_dump(root / "sys" / "fs" / "pstore", full, cuts=[n // 2 + 7], compress={2})
    env = {"KPANIC_CLIENT_STATE_DIR": str(tmp_path / "state")}
    sent = run_kpanic("collect", "--root", str(root), "--send", "--server", server.url, env=env)
    assert sent.returncode == 0, sent.stderr
    assert f"(report {first.json()['id']})" in sent.stdout, sent.stdout
    assert "joined with the stored crash" in sent.stdout
    report = httpx.get(f"{server.url}/api/v1/reports/{first.json()['id']}", timeout=30).json()
    assert report["summary"]["title"] == title
    assert [s["source_kind"] for s in report["sources"]] == ["url", "log"]
    groups = httpx.get(f"{server.url}/api/v1/groups", timeout=30).json()
    assert [(g["title"], g["report_count"]) for g in groups["items"]] == [(title, 1)]
