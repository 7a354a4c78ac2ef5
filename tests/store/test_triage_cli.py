"""The triage commands through the installed ``kpanic`` command, on SQLite and PostgreSQL:
status, assign, link, show; owners from MAINTAINERS; rules; one dispatcher round delivering to
a real webhook receiver and a real SMTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kpanic.cli import main
from kpanic.store.db import read_session
from kpanic.store.triage import triage_info
from kpanic.triage.deliver import verify_signature
from tests.web.triage_data import MAINTAINERS, Inbox, Receiver, kasan_on, rust_panic_on

KPANIC = Path(sys.executable).with_name("kpanic")


def kpanic(
    *args: str, env: dict[str, str] | None = None, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "KPANIC_USER": "erin", **(env or {})}
    for name in ("KPANIC_MAINTAINERS", "KPANIC_SMTP_HOST"):
        if env is None or name not in env:
            full.pop(name, None)
    proc = subprocess.run(
        [str(KPANIC), *args], capture_output=True, text=True, env=full, timeout=120
    )
    if ok:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


def refused(capsys, *args: str) -> str:  # type: ignore[no-untyped-def]
    """A refused command, in-process (the same parser and handlers, no start-up cost)."""
    from kpanic.cli import main

    capsys.readouterr()
    assert main(list(args)) == 1
    return str(capsys.readouterr().err)


def test_group_commands_owners_and_rules(
    repo,
    db_url: str,
    tmp_path: Path,
    capsys,  # type: ignore[no-untyped-def]
    monkeypatch,
) -> None:
    monkeypatch.delenv("KPANIC_MAINTAINERS", raising=False)
    gid = repo.ingest_log(kasan_on("6.15.1")).group_id
    rust = repo.ingest_log(rust_panic_on("6.15.1")).group_id
    db = ["--db", db_url]
    out = kpanic(
        "group",
        "status",
        str(gid),
        "fixed",
        "--release",
        "6.15.3",
        "--commit",
        "0123abcd",
        "--why",
        "fixed upstream",
        *db,
    ).stdout
    assert out.strip() == f"group {gid}: fixed in commit 0123abcd and release 6.15.3"
    assert "commit or the first release" in refused(
        capsys, "group", "status", str(gid), "fixed", *db
    )
    assert "no such group" in refused(capsys, "group", "assign", "999999", "x", *db)
    assert main(["group", "assign", str(gid), "frank", "--who", "grace", *db]) == 0
    kpanic(
        "group",
        "link",
        str(gid),
        "https://bugzilla.kernel.org/show_bug.cgi?id=1",
        "--title",
        "wifi crash",
        *db,
    )
    assert "http" in refused(capsys, "group", "link", str(gid), "file:///etc/passwd", *db)
    shown = kpanic("group", "show", str(gid), *db).stdout
    assert "fixed in: release 6.15.3, commit 0123abcd" in shown
    assert "assignee: frank" in shown and "[bugzilla]" in shown
    with read_session(repo.engine) as s:
        info = triage_info(s, gid)
    assert [(h.action, h.who) for h in info.history] == [
        ("link", "erin"),
        ("assign", "grace"),
        ("status", "erin"),
    ]

    assert "KPANIC_MAINTAINERS" in refused(capsys, "owners", "refresh", *db)
    out = kpanic("owners", "refresh", "--maintainers", str(MAINTAINERS), *db).stdout
    assert "groups have owners" in out
    with read_session(repo.engine) as s:
        assert triage_info(s, rust).subsystems == ("RUST",)

    secret = tmp_path / "secret"
    secret.write_text("0123456789abcdef-secret\n")
    out = kpanic(
        "rule",
        "add",
        "webhook",
        "http://127.0.0.1:9/hook",
        "--secret-file",
        str(secret),
        "--events",
        "regression",
        "--subsystem",
        "RUST",
        "--name",
        "rust regressions",
        *db,
    ).stdout
    rule_id = int(out.split()[1])
    capsys.readouterr()
    assert main(["rule", "list", *db]) == 0
    listed = capsys.readouterr().out
    assert "rust regressions" in listed and "subsystem=RUST" in listed
    assert "0123456789abcdef" not in listed
    assert "secret" in refused(capsys, "rule", "add", "webhook", "http://127.0.0.1:9/hook", *db)
    kpanic("rule", "rm", str(rule_id), *db)
    assert kpanic("rule", "list", *db).stdout.strip() == "no rules"
    assert "no such rule" in refused(capsys, "rule", "rm", str(rule_id), *db)


def test_notify_run_once_delivers_webhook_and_mail(repo, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hook, inbox = Receiver(), Inbox()
    try:
        db = ["--db", db_url]
        secret = tmp_path / "secret"
        secret.write_text("0123456789abcdef-secret")
        kpanic(
            "rule",
            "add",
            "webhook",
            hook.url,
            "--secret-file",
            str(secret),
            "--events",
            "new-group",
            "--subsystem",
            "RUST",
            *db,
        )
        kpanic("rule", "add", "email", "rust@example.org", "--events", "regression", *db)
        gid = repo.ingest_log(rust_panic_on("6.15.1")).group_id
        repo.ingest_log(kasan_on("6.15.1"))  # another subsystem: not for the webhook rule
        kpanic("group", "status", str(gid), "fixed", "--release", "6.15.3", *db)
        repo.ingest_log(rust_panic_on("6.16.0"))
        env = {
            "KPANIC_MAINTAINERS": str(MAINTAINERS),
            "KPANIC_SMTP_HOST": "127.0.0.1",
            "KPANIC_SMTP_PORT": str(inbox.port),
            "KPANIC_SMTP_FROM": "kpanic@example.org",
            "KPANIC_BASE_URL": "https://crashes.example.org",
        }
        out = kpanic("notify", "run", "--once", *db, env=env).stdout
        # The new RUST group gets its owners first, so the subsystem rule matches it.
        assert "sent 2" in out and "owners for" in out, out
        ((headers, body),) = hook.got
        assert verify_signature(
            "0123456789abcdef-secret",
            headers["X-Kpanic-Timestamp"],
            body,
            headers["X-Kpanic-Signature-256"],
        )
        event = json.loads(body)["events"][0]
        assert event["kind"] == "new-group" and event["group"]["id"] == gid
        assert event["group"]["url"] == f"https://crashes.example.org/groups/{gid}"
        (mail,) = inbox.mails
        assert b"To: rust@example.org" in mail and b"Regression" in mail
        again = kpanic("notify", "run", "--once", *db, env=env).stdout
        assert "planned 0, sent 0" in again
    finally:
        hook.close()
        inbox.close()
