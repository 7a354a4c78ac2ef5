"""Bad input (garbage, binary, oversized, huge lines, backtracking bait): never a crash or hang.

Time limits here are generous upper bounds (the machine is shared); they catch quadratic or worse
behaviour, which would take minutes, not a few percent of slowdown.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpanic.errors import InputTooLarge
from kpanic.report import contains_crash, parse
from kpanic.report.kinds import LINUX_KINDS
from tests.report.conftest import REPORT_DIR, read_corpus_case


def _sane(log: str | bytes) -> None:
    result = parse(log)
    text = log.decode("utf-8", "replace") if isinstance(log, bytes) else log
    assert contains_crash(log) == result.crashed
    for rep in result.reports:
        assert 0 <= rep.start < rep.end <= len(text)
        assert rep.title and rep.type
    starts = [r.start for r in result.reports]
    assert starts == sorted(starts)


def test_binary_garbage() -> None:
    _sane(bytes(range(256)) * 4000)
    _sane(b"\xff\xfe\x00BUG: KASAN: \xc3( in \x00\n" * 500)


def test_empty_and_tiny_inputs() -> None:
    for log in ("", "\n", "BUG:", "WARNING:", "Call Trace:\n", b"", b"\x00"):
        _sane(log)


def test_too_large_is_refused() -> None:
    with pytest.raises(InputTooLarge):
        parse("x" * 101, max_bytes=100)
    with pytest.raises(InputTooLarge):
        contains_crash(b"x" * 101, max_bytes=100)


def _timed(log: str) -> float:
    t0 = time.perf_counter()
    _sane(log)
    return time.perf_counter() - t0


@pytest.mark.slow
def test_one_megabyte_lines_stay_fast() -> None:
    bait = [
        "WARNING: " + "mm/a.c " * 150_000,  # cubic for the kmalloc-bug title expression
        "WARNING: " + " at a.c:1 " * 100_000,
        "BUG: KASAN: x in f+" + "a" * 1_000_000,
        "general protection fault" + "0:" * 500_000,
        "[ 1.0] " + "BUG: " * 200_000,
        " foo+0x1/0x2 " + "a/b" * 300_000 + ".c:1",
    ]
    for line in bait:
        assert _timed(line + "\n") < 20, line[:40]


@pytest.mark.slow
def test_many_headers_stay_linear() -> None:
    """Thousands of crash headers without the lines their title expressions look for."""
    logs = [
        "BUG: KASAN: use-after-free in foo+0x1/0x2\n" * 20_000,
        "[  1.0][  T1] WARNING: possible circular locking dependency detected\n" * 20_000,
        "[  1.0] INFO: task x blocked for more than 1 seconds.\n" * 20_000,
    ]
    for log in logs:
        assert _timed(log) < 30, log[:40]


@pytest.mark.slow
def test_twenty_megabyte_log_is_linear() -> None:
    crash = read_corpus_case(REPORT_DIR / "130").log
    noise = "".join(f"[ {i}.000000] eth0: link is up, chatter {i}\n" for i in range(300_000))
    log = noise + crash + noise
    t = _timed(log)
    assert t < 60
    rep = parse(log).primary
    assert rep is not None and rep.title == parse(crash).primary.title  # type: ignore[union-attr]


HEADERS = sorted({k.header for k in LINUX_KINDS})
PIECES = st.sampled_from(
    [
        *HEADERS,
        "\n",
        " ",
        "[  12.345678] ",
        "[  T42] ",
        "Call Trace:\n",
        " foo+0x1/0x20\n",
        " ? bar+0x2/0x4\n",
        "RIP: 0010:baz+0x3/0x8\n",
        "Read of size 8",
        " in ",
        "lib/refcount.c:12",
        "rust_kernel: panicked at x.rs:1:1:\nboom\n",
        "Kernel panic - not syncing: ",
        "\r",
        "> ",
        "\t",
        "Mar  3 12:00:00 h kernel: ",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=80).map("".join))
def test_fuzz_never_crashes(log: str) -> None:
    _sane(log)
