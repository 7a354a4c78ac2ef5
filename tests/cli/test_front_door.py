"""``./kpanic.sh``: the README's two commands. Idempotent and fast when installed: install.sh
runs only when nothing is installed or pyproject.toml / install.sh changed."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.conftest import ROOT

SCRIPT = ROOT / "kpanic.sh"


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=600,
        env={**os.environ, **env}, check=False,
    )  # fmt: skip


def test_help_and_unknown_command() -> None:
    r = _run("help", env={})
    assert r.returncode == 0
    assert "./kpanic.sh demo" in r.stdout and "./kpanic.sh test" in r.stdout
    r = _run("bogus", env={})
    assert r.returncode == 2 and "unknown command 'bogus'" in r.stderr


def test_installs_once_then_starts_at_once(tmp_path: Path) -> None:
    """A stand-in install.sh records each call; the real .venv runs the command."""
    calls = tmp_path / "calls"
    fake = tmp_path / "install.sh"
    fake.write_text(f"echo called >> {calls}\n")
    env = {"KPANIC_INSTALL_SH": str(fake), "KPANIC_INSTALL_STAMP": str(tmp_path / "stamp")}
    first = _run("kpanic", "--version", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("kpanic ")
    assert calls.read_text().count("called") == 1
    start = time.monotonic()
    second = _run("kpanic", "--version", env=env)
    took = time.monotonic() - start
    assert second.returncode == 0 and calls.read_text().count("called") == 1
    assert "setting up" not in second.stderr
    assert took < 5  # no pip, no apt: a fingerprint and the command
    # A changed installer (or pyproject.toml) is installed again.
    fake.write_text(f"echo called >> {calls}\n# changed\n")
    assert _run("kpanic", "--version", env=env).returncode == 0
    assert calls.read_text().count("called") == 2


def test_demo_fills_a_database_once(tmp_path: Path) -> None:
    fake = tmp_path / "install.sh"
    fake.write_text("true\n")
    env = {"KPANIC_INSTALL_SH": str(fake), "KPANIC_INSTALL_STAMP": str(tmp_path / "stamp")}
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    r = _run("demo", "--no-serve", "--db", db, env=env)
    assert r.returncode == 0, r.stderr
    assert "demo reports in" in r.stdout and "demo admin token" in r.stdout
    again = _run("demo", "--no-serve", "--db", db, env=env)
    assert again.returncode == 0 and "already holds reports" in again.stdout


def test_ci_runs_the_front_door() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./kpanic.sh test" in ci
    readme = (ROOT / "README.md").read_text()
    assert "./kpanic.sh demo" in readme and "./kpanic.sh test" in readme
