"""`kpanic serve` runs the notification dispatcher itself (no separate `kpanic notify run`):
a rule's webhook arrives for a crash submitted to a freshly started service."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from kpanic.store.repository import Repository
from tests.security.conftest import start_kpanic_serve
from tests.web.triage_data import Receiver, kasan_on


def test_serve_delivers_webhooks_without_a_separate_dispatcher(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'svc.db'}"
    server = start_kpanic_serve(db, tmp_path / "serve.log", env={"KPANIC_NOTIFY_INTERVAL": "1"})
    hook = Receiver()
    try:
        with Repository(db) as repo:
            token = repo.create_token("ops").token
        auth = {"Authorization": f"Bearer {token}"}
        rule = {"name": "new crashes", "channel": "webhook", "target": hook.url,
                "secret": "s" * 32, "events": ["new-group"]}  # fmt: skip
        api = server.url + "/api/v1"
        assert httpx.post(api + "/rules", json=rule, headers=auth).status_code == 201
        r = httpx.post(api + "/reports?wait=30", json={"log": kasan_on("6.15.1")}, timeout=60)
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + 60
        while not hook.got and time.monotonic() < deadline:
            time.sleep(0.2)
        assert hook.got, server.log()[-2000:]
        body = json.loads(hook.got[0][1])
        assert f"/groups/{r.json()['group_id']}" in json.dumps(body), body
    finally:
        hook.close()
        server.stop()
