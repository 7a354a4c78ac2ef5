"""Fields beyond syzkaller's: metadata, frames, languages, every report in a log, headless tails."""

from __future__ import annotations

import json

from kpanic.cli import main as cli_main
from kpanic.report import parse
from kpanic.report.parser import HEADLESS_REASON
from tests.report.conftest import REPORT_DIR, read_corpus_case


def _log(name: str) -> str:
    return read_corpus_case(REPORT_DIR / name).log


def test_metadata_of_a_modern_x86_report() -> None:
    rep = parse(_log("743")).primary
    assert rep is not None
    assert rep.kernel == "6.16.0-rc2-next-20250616-syzkaller"
    assert rep.taint == ""
    assert (rep.cpu, rep.pid, rep.comm) == (1, 11907, "syz.9.803")
    assert rep.arch == "x86_64"
    assert rep.hardware is not None and rep.hardware.startswith("Google Google Compute Engine")
    assert rep.executor == "proc=9, id=803"


def test_taint_flags_and_modules() -> None:
    log = (
        "[  1.0] BUG: unable to handle page fault for address: 0000000000001234\n"
        "[  1.0] Oops: 0000 [#1] SMP PTI\n"
        "[  1.0] CPU: 3 PID: 77 Comm: insmod Tainted: G        W  O      6.1.0-rc1 #1\n"
        "[  1.0] Hardware name: QEMU Standard PC (Q35 + ICH9, 2009)\n"
        "[  1.0] RIP: 0010:my_init+0x1c/0x80 [mymod]\n"
        "[  1.0] Call Trace:\n"
        "[  1.0]  <TASK>\n"
        "[  1.0]  do_one_initcall+0x5e/0x320\n"
        "[  1.0]  ? kmalloc_trace+0x2a/0xa0\n"
        "[  1.0]  do_init_module+0x4c/0x240 kernel/module/main.c:2530\n"
        "[  1.0] Modules linked in: mymod(O+) ext4 mbcache [last unloaded: oldmod]\n"
    )
    rep = parse(log).primary
    assert rep is not None
    assert rep.title == "BUG: unable to handle kernel paging request in my_init"
    assert rep.type == "MEMORY_SAFETY_BUG"
    assert (rep.taint, rep.kernel, rep.cpu, rep.comm) == ("WO", "6.1.0-rc1", 3, "insmod")
    assert rep.modules == ["mymod", "ext4", "mbcache"]
    names = [f.function for f in rep.frames]
    assert names[:3] == ["my_init", "do_one_initcall", "kmalloc_trace"]
    rip, _, unreliable, symbolized = rep.frames[:4]
    assert (rip.offset, rip.size, rip.module) == (0x1C, 0x80, "mymod")
    assert unreliable.unreliable
    assert (symbolized.file, symbolized.line) == ("kernel/module/main.c", 2530)
    assert rep.guilty_frame == "my_init"
    assert rep.language == "c"


def test_arm64_metadata() -> None:
    rep = parse(_log("1000")).primary
    assert rep is not None
    assert rep.arch == "arm64"
    assert rep.title == "INFO: task hung in read_cache_folio"


def test_rust_panic_frames_are_demangled() -> None:
    rep = parse(_log("748")).primary
    assert rep is not None
    assert rep.guilty_frame == "<rust_binder::process::Process>::update_ref"
    assert rep.language == "rust"
    rust = [f for f in rep.frames if f.raw_function.startswith("_R")]
    assert rust and all(f.language == "rust" for f in rust)
    assert all("::" in f.function for f in rust)


def test_every_report_in_a_log() -> None:
    log = _log("748")
    result = parse(log)
    titles = [r.title for r in result.reports]
    assert titles[0].startswith("attempt to subtract with overflow")
    # The BUG() the Rust panic handler calls is the same crash (issue 10 item 7): one report
    # that blames the panicking Rust function, not a second "kernel BUG" report.
    assert titles == [
        "attempt to subtract with overflow in <rust_binder::process::Process>::update_ref"
    ]
    assert "kernel BUG at rust/helpers/bug.c" in result.reports[0].text
    starts = [r.start for r in result.reports]
    assert starts == sorted(set(starts))
    for rep in result.reports:
        line = log[rep.start :].split("\n", 1)[0]
        assert line and rep.start <= rep.end <= len(log)


def test_headless_tail_is_a_corrupted_report() -> None:
    # A KASAN report cut after its header: the sanitizer frames and the "Allocated/Freed by
    # task" stacks still give the full report's title (corpus 130 expects it).
    log = _log("130")
    tail = log[log.index("Call Trace:") - 30 :]
    tail = tail[tail.index("\n") + 1 :]  # the QR code kept only the end of the kmsg
    rep = parse(tail).primary
    assert rep is not None
    assert rep.corrupted and rep.corrupted_reason.startswith(HEADLESS_REASON)
    assert rep.title == "KASAN: use-after-free Read in aead_recvmsg"
    assert "bad-access in aead_recvmsg" in rep.alt_titles
    assert rep.guilty_frame == "aead_recvmsg"
    assert rep.frames


def test_headless_trace_with_only_sanitizer_frames_lists_the_kasan_types() -> None:
    # Only the access stack survives: kasan_report says KASAN, the access type comes from
    # __asan_report_load*, the bug type is unknown, so every candidate is an alternative.
    log = _log("130")
    trace = log[log.index("Call Trace:") : log.index("Allocated by task")]
    rep = parse(trace).primary
    assert rep is not None and rep.corrupted
    titles = [rep.title, *rep.alt_titles]
    assert "KASAN: use-after-free Read in aead_recvmsg" in titles
    assert all("Write" not in t for t in titles)


def test_cli_json_one_object_per_file(tmp_path, capsys) -> None:
    crash = tmp_path / "crash.txt"
    crash.write_text(_log("748"))
    calm = tmp_path / "calm.txt"
    calm.write_bytes(b"nothing to see\n\xff\n")
    assert cli_main(["parse", "--json", str(crash), str(calm)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["crashed"] and first["file"] == str(crash)
    assert first["title"].endswith("<rust_binder::process::Process>::update_ref")
    assert first["language"] == "rust" and first["arch"] == "x86_64"
    assert {"function", "offset", "module", "file", "line", "inline", "language"} <= set(
        first["frames"][0]
    )
    assert first["reports"] == []  # the Rust panic, its BUG and the panic line: one crash
    assert second["crashed"] is False and second["title"] is None and second["reports"] == []


def test_cli_readable_output_and_errors(tmp_path, capsys) -> None:
    crash = tmp_path / "crash.txt"
    crash.write_text(_log("130"))
    assert cli_main(["parse", str(crash)]) == 0
    out = capsys.readouterr().out
    assert "KASAN: use-after-free Read" in out and "guilty frame" in out
    assert cli_main(["parse", str(tmp_path / "missing.txt")]) == 1
    assert "cannot read" in capsys.readouterr().err
    big = tmp_path / "big.txt"
    big.write_text("x" * 200)
    assert cli_main(["parse", "--max-bytes", "100", str(big)]) == 1
