"""One crash, one report (issue 10, item 7), on the real fixtures.

The lines that only continue a crash (the arm64 ``Internal error: Oops`` after ``Unable to handle
kernel ...``, ``invalid opcode`` after ``kernel BUG at``, the BUG a Rust panic raises, the final
``Kernel panic - not syncing``) stay in that crash's report; a second crash is still a second
report.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kpanic.report import parse

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _log(name: str) -> str:
    return (FIXTURES / f"{name}.txt").read_text().partition("\n\n")[2]


@pytest.mark.parametrize(
    ("name", "continuation"),
    [
        ("satyr-arm-hung-task-oops-2", "Internal error: Oops"),
        ("rust-e1000-arm64-unwrap", "Kernel panic - not syncing"),
        ("lkp-rust-i2c-unwrap", "invalid opcode"),
        ("satyr-rhbz-865695-2", "invalid opcode"),
    ],
)
def test_continuation_lines_stay_in_their_report(name: str, continuation: str) -> None:
    log = _log(name)
    assert continuation in log
    reports = parse(log).reports
    assert len(reports) == 1, [r.title for r in reports]


def test_two_crashes_are_two_reports() -> None:
    reports = parse(_log("rpi-syslog-watchdog-then-rcu-stall")).reports
    assert [r.title for r in reports] == [
        "WARNING in dev_watchdog",
        "INFO: rcu detected stall in ath9k_rx_tasklet",
    ]
