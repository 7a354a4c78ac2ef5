"""deploy/client: the unit and timer pass systemd's own check, the example configuration is
valid and consents to nothing, and the unit's command works with it."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from kpanic.client.config import ALL_SOURCES, load
from tests.client.conftest import corpus_log, run_kpanic, write_dump
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy" / "client"


def _install(tmp_path: Path) -> tuple[Path, Path]:
    units, conf = tmp_path / "units", tmp_path / "etc"
    env = {**os.environ, "UNITDIR": str(units), "CONFDIR": str(conf),
           "KPANIC": str(ROOT / ".venv" / "bin" / "kpanic")}  # fmt: skip
    r = subprocess.run([str(DEPLOY / "install.sh")], env=env, capture_output=True, text=True,
                       check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return units, conf


def test_install_puts_the_unit_timer_and_config_in_place_and_keeps_a_config(
    tmp_path: Path,
) -> None:
    units, conf = _install(tmp_path)
    assert {p.name for p in units.iterdir()} == {"kpanic-collect.service", "kpanic-collect.timer"}
    service = (units / "kpanic-collect.service").read_text()
    assert f"ExecStart={ROOT / '.venv' / 'bin' / 'kpanic'} collect" in service
    # Writes only to its state directory; a spool that waits is not a failure.
    for line in ("ProtectSystem=strict", "StateDirectory=kpanic", "SuccessExitStatus=75"):
        assert line in service
    (conf / "client.toml").write_text('server = "https://mine.example"\n')
    _install(tmp_path)
    assert (conf / "client.toml").read_text() == 'server = "https://mine.example"\n'


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    units, _ = _install(tmp_path)
    r = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "kpanic-collect.service", "kpanic-collect.timer"],
        cwd=units, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr


def test_the_example_config_is_valid_and_sends_nothing(tmp_path: Path) -> None:
    cfg = load(DEPLOY / "client.toml")
    assert cfg.send is False and cfg.scrub is True and cfg.sources == ALL_SOURCES
    root = tmp_path / "root"
    pstore = root / "sys" / "fs" / "pstore"
    write_dump(pstore, corpus_log(10), cuts=[101], timestamp=int(time.time()) - 3600)
    write_dump(pstore, corpus_log(5), count=2, timestamp=int(time.time()) - 90 * 86400)
    r = run_kpanic("collect", "--config", str(DEPLOY / "client.toml"), "--root", str(root),
                   "--state-dir", str(tmp_path / "state"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    # since = "30d": the crash of three months ago is not offered.
    assert "1 new crash(es), 1 before --since" in r.stdout and "nothing was sent" in r.stdout


def test_bad_configs_are_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "client.toml"
    for text, needle in (
        ("sned = true\n", "unknown setting 'sned'"),
        ("send = 'yes'\n", "send must be a bool"),
        ("sources = ['pstore', 'floppy']\n", "unknown source(s) floppy"),
        ("server = \n", "not valid TOML"),
    ):
        bad.write_text(text)
        r = run_kpanic("collect", "--config", str(bad), "--root", str(tmp_path))
        assert r.returncode == 1 and needle in r.stderr, (text, r.stderr)
        assert "Traceback" not in r.stderr
    r = run_kpanic("collect", "--config", str(tmp_path / "none.toml"))
    assert r.returncode == 1 and "none.toml: no such file" in r.stderr
