"""The client's app-specific machine id matches systemd's sd_id128_get_machine_app_specific()."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kpanic.client.machine import APP_ID, app_specific_id, machine_token, read_machine_id

# Computed by `systemd-id128 machine-id --app-specific=6b70616e1c5a4e0e9d3f2a7be1c04d21` on a
# machine whose /etc/machine-id was 3d1219c7c4c5404aaa1f6d2a48adfda4 (systemd 252, Debian 12).
SYSTEMD_VECTOR = ("3d1219c7c4c5404aaa1f6d2a48adfda4", "d3bde3fefc444771b414e1d4f0940ad8")


def test_known_answer_from_systemd() -> None:
    machine, expected = SYSTEMD_VECTOR
    assert app_specific_id(bytes.fromhex(machine)) == expected


@pytest.mark.skipif(not shutil.which("systemd-id128"), reason="systemd-id128 is not installed")
def test_same_as_systemd_id128_on_this_machine() -> None:
    mine = read_machine_id(Path("/"))
    if mine is None:
        pytest.skip("this machine has no /etc/machine-id")
    out = subprocess.run(
        ["systemd-id128", "machine-id", f"--app-specific={APP_ID.hex()}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert app_specific_id(mine) == out.replace("-", "")


def test_never_the_machine_id_itself_and_absent_ids(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    assert machine_token(tmp_path) is None  # no file
    (tmp_path / "etc" / "machine-id").write_text("uninitialized\n")
    assert machine_token(tmp_path) is None
    (tmp_path / "etc" / "machine-id").write_text(SYSTEMD_VECTOR[0] + "\n")
    token = machine_token(tmp_path)
    assert token == SYSTEMD_VECTOR[1] and token != SYSTEMD_VECTOR[0]
