"""Paste forms that need more than a per-line prefix strip: mail wrapping, split pstore dumps, and
old 32-bit ARM traces. Built from the real reports in tests/report/fixtures/ and the syzkaller
corpus, transformed by the fixtures' own make_variants.py transformations.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from kpanic.report import parse
from kpanic.report.metadata import extract_metadata
from kpanic.report.prefixes import canonicalize
from kpanic.report.pstore import reassembly_order
from tests.report.conftest import REPORT_DIR, read_corpus_case

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _variants() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_variants", FIXTURES / "make_variants.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MV = _variants()


def base_log(name: str) -> str:
    return MV.read(FIXTURES / f"{name}.txt")[1]


# Timestamped reports: the wrap can be undone exactly.
TIMESTAMPED = (
    "btrfs-refcount-warning", "mac80211-kasan-uaf-console", "satyr-gitlog-13",
    "satyr-rhbz-865695-2", "satyr-gitlog-06",
)  # fmt: skip


@pytest.mark.parametrize("name", TIMESTAMPED)
def test_mail_wrap_of_a_timestamped_log_is_undone_exactly(name: str) -> None:
    log = base_log(name)
    wrapped = MV.wrap(log)
    assert wrapped != log and max(map(len, wrapped.split("\n"))) <= 72
    assert canonicalize(wrapped).text == canonicalize(log).text


@pytest.mark.parametrize(
    "name", ("rust-e1000-arm64-unwrap", "lkp-rust-i2c-unwrap", "satyr-rhbz-836206", *TIMESTAMPED)
)
def test_mail_wrapped_report_keeps_its_title_and_offsets(name: str) -> None:
    log = base_log(name)
    wrapped = MV.wrap(log)
    clean, rep = parse(log).primary, parse(wrapped).primary
    assert clean is not None and rep is not None
    assert (rep.title, rep.guilty_frame, rep.kernel) == (
        clean.title,
        clean.guilty_frame,
        clean.kernel,
    )
    # The start is a line start of the pasted text, on the (first piece of the) crash line.
    assert rep.start == 0 or wrapped[rep.start - 1] == "\n"
    header = clean.text[clean.text_prefix_len :].split("\n", 1)[0]
    assert header[:24] in wrapped[rep.start :].split("\n", 1)[0]


def test_wrapped_path_is_glued_without_a_space() -> None:
    """A path longer than the width is cut mid-word: its pieces join with nothing between."""
    wrapped = MV.wrap(base_log("rust-e1000-arm64-unwrap"))
    assert "/users/yangkai\n/work/" in wrapped
    assert "/users/yangkai/work/rcore_2023a/" in canonicalize(wrapped).text


def test_no_corpus_log_is_glued() -> None:
    """syzkaller logs interleave executor output without timestamps: never a wrapped tail."""
    for path in sorted(REPORT_DIR.iterdir()):
        log = read_corpus_case(path).log
        canon = canonicalize(log)
        assert canon.text.count("\n") == log.count("\n"), path.name


def test_untimestamped_logs_are_not_unwrapped() -> None:
    """Without a prefix to tell a continuation from a line of its own, nothing is glued."""
    wrapped = MV.wrap(base_log("satyr-github-102"))
    assert canonicalize(wrapped).text is wrapped  # not even copied


def test_pstore_parts_are_put_back_in_printing_order() -> None:
    log = MV.add_timestamps(base_log("satyr-rhbz-1040900-ppc64-1"))
    split = MV.pstore_two_parts(log)
    assert split.index("Panic#1 Part1") < split.index("Panic#1 Part2")
    canon = canonicalize(split)
    assert canon.reordered
    assert "Panic#1" not in canon.text  # record headers are dropped inside a reassembled dump
    assert canon.text.index("WARNING: at") < canon.text.index(".do_one_initcall")
    clean = parse(MV.pstore(log)).primary
    rep = parse(split).primary
    assert clean is not None and rep is not None
    assert (rep.title, rep.corrupted, rep.guilty_frame) == (clean.title, False, clean.guilty_frame)
    # Offsets bound every line of the report's range in the pasted (out of order) text.
    assert split[rep.start :].startswith("<1>[   97.000000] WARNING: at")
    assert rep.start <= rep.end


def test_pstore_dumps_in_order_or_single_are_left_alone() -> None:
    lines = ["Oops#1 Part2", "early", "Oops#1 Part1", "late", "Panic#2 Part1", "x"]
    assert reassembly_order(lines) is None
    swapped = ["Oops#1 Part1", "late", "Oops#1 Part2", "early", "tail?"]
    assert reassembly_order(swapped) == [3, 4, 1]
    single = MV.pstore(base_log("satyr-github-113"))
    assert not canonicalize(single).reordered


def test_old_arm_trace_after_the_stack_dump_gives_frames() -> None:
    rep = parse(base_log("satyr-arm-hung-task-oops-2")).primary
    assert rep is not None
    assert not rep.corrupted, rep.corrupted_reason
    names = [f.function for f in rep.frames]
    assert names[:3] == ["shmem_getpage_gfp", "generic_perform_write", "__generic_file_write_iter"]
    assert "SyS_write" in names
    assert rep.frames[1].address == 0xC031C7A0


@pytest.mark.parametrize(
    ("text", "arch"),
    [
        ("  gic_handle_irq+0xb0/0xf0\n  el1_irq+0xcc/0x180\n", "arm64"),
        ("Linux version 5.10.0-rpi (gcc version 10.2.1 (aarch64-linux-gnu))\n", "arm64"),
        ("  el0_sync+0x16c/0x180\n", "arm64"),
    ],
)
def test_arm64_is_recognised_without_a_register_dump(text: str, arch: str) -> None:
    assert extract_metadata(text).arch == arch
