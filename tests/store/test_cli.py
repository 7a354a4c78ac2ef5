"""The data-management CLI: db upgrade, import, reprocess, tokens, admin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kpanic.cli import main
from kpanic.store.repository import Repository
from tests.store.conftest import CorpusLog


def _write(dir_: Path, logs: list[CorpusLog]) -> None:
    dir_.mkdir(parents=True, exist_ok=True)
    for c in logs:
        (dir_ / f"{c.name}.log").write_text(c.log)


def test_db_upgrade_and_current(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--db", db_url]) == 0
    assert main(["db", "current", "--db", db_url]) == 0
    out = capsys.readouterr().out
    from kpanic.store.db import head_revision

    assert f"revision {head_revision()}" in out and "up to date" in out


def test_import_in_parallel_dedups(
    db_url: str, tmp_path: Path, crash_logs, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = crash_logs[:10]
    _write(tmp_path / "a", logs)
    _write(tmp_path / "a" / "again", logs[:4])  # same content in other files
    (tmp_path / "a" / "notes.md").write_text("not a log")
    (tmp_path / "a" / "boot.log").write_text("[    0.000000] Linux version 6.12.0\n")
    assert main(["import", str(tmp_path / "a"), "--db", db_url, "-j", "2", "--no-scrub"]) == 0
    out = capsys.readouterr()
    assert "imported 10 new reports" in out.out and "4 already stored" in out.out
    assert "1 skipped" in out.out and "boot.log" in out.err
    assert main(["import", str(tmp_path / "a"), "--db", db_url, "-j", "1"]) == 0
    assert "imported 0 new reports" in capsys.readouterr().out
    with Repository(db_url) as repo:
        assert repo.list_reports().total == 10
        rep = repo.list_reports().items[0]
        assert repo.get_report(rep.id).client == {
            "via": "import",
            "ip": None,
            "user_agent": None,
            "token_name": None,
        }


def test_import_missing_path_is_an_error(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "/nonexistent/kpanic", "--db", db_url]) == 1
    assert "no such file" in capsys.readouterr().err


def test_reprocess_prints_summary(
    db_url: str, tmp_path: Path, crash_logs, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path / "logs", crash_logs[:3])
    assert main(["import", str(tmp_path / "logs"), "--db", db_url, "-j", "1"]) == 0
    capsys.readouterr()
    assert main(["reprocess", "--db", db_url, "-j", "2"]) == 0
    assert "reprocessed 3 reports: 0 moved" in capsys.readouterr().out


def test_token_commands(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "create", "--name", "uploader", "--db", db_url]) == 0
    token = capsys.readouterr().out.strip()
    assert re.fullmatch(r"kp_[A-Za-z0-9_-]{40,}", token)
    with Repository(db_url) as repo:
        info = repo.verify_token(token)
        assert info is not None and info.name == "uploader"
    assert main(["token", "list", "--db", db_url]) == 0
    listing = capsys.readouterr().out
    assert "uploader" in listing and token not in listing
    assert main(["token", "revoke", str(info.id), "--db", db_url]) == 0
    assert main(["token", "revoke", str(info.id), "--db", db_url]) == 1
    with Repository(db_url) as repo:
        assert repo.verify_token(token) is None


def test_admin_commands(
    db_url: str, tmp_path: Path, crash_logs, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path / "logs", crash_logs[:2])
    assert main(["import", str(tmp_path / "logs"), "--db", db_url, "-j", "1"]) == 0
    with Repository(db_url) as repo:
        groups = [g.id for g in repo.list_groups().items]
        report_id = repo.list_reports().items[0].id
    assert main(["group", "merge", str(groups[0]), str(groups[1]), "--db", db_url]) == 0
    assert "now has 2 reports" in capsys.readouterr().out
    assert main(["report", "split", str(report_id), "--db", db_url]) == 0
    assert main(["report", "delete", str(report_id), "--db", db_url]) == 0
    assert main(["report", "delete", str(report_id), "--db", db_url]) == 1
    assert main(["group", "merge", "1", "999", "--db", db_url]) == 1
