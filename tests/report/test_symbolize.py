"""Symbolization against ELF files the test builds with gcc (skipped visibly without gcc).

The expected lines come from the DWARF line table read with pyelftools and from markers in the
C sources, never from addr2line, which is what the code under test runs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from kpanic.errors import InputTooLarge, KpanicError
from kpanic.report.model import CrashReport, Frame
from kpanic.report.symbolize import Symbolizer, symbolize

PROG = """\
#include <stdio.h>

int dup_a(int);
int dup_b(int);
int kernel_init(void *);

static inline __attribute__((always_inline)) int helper(volatile int *p)
{
	return *p * 7 + 1; /* HELPER */
}

__attribute__((noinline)) int outer(volatile int *p)
{
	int v = helper(p); /* OUTER_CALL */
	return v * 3;
}

int main(void)
{
	volatile int x = 1;
	printf("%d\\n", outer(&x)); /* MAIN_CALL */
	return dup_a(x) + dup_b(x) + kernel_init(0);
}
"""

INIT_MAIN = """\
__attribute__((noinline)) int kernel_init(void *unused)
{
	return unused != 0; /* KERNEL_INIT */
}
"""

DUP = """\
static __attribute__((noinline)) int dup(volatile int x)
{
	return BODY; /* DUP */
}

int ENTRY(int x)
{
	return dup(x) + 1;
}
"""


def _line_of(source: str, marker: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if marker in line)


def _build(root: Path) -> None:
    (root / "init").mkdir()
    (root / "lib").mkdir()
    (root / "prog.c").write_text(PROG)
    (root / "init" / "main.c").write_text(INIT_MAIN)
    (root / "lib" / "dup_a.c").write_text(DUP.replace("BODY", "x + 1").replace("ENTRY", "dup_a"))
    (root / "lib" / "dup_b.c").write_text(
        DUP.replace("BODY", "(x * x * x + 5) / (x | 1)").replace("ENTRY", "dup_b")
    )
    sources = ["prog.c", "init/main.c", "lib/dup_a.c", "lib/dup_b.c"]
    subprocess.run(["gcc", "-g", "-O1", "-o", "vmlinux", *sources], cwd=root, check=True)
    mods = root / "modules" / "kernel" / "drivers"
    mods.mkdir(parents=True)
    mod_src = PROG.replace("int main(void)", "int mod_entry(void)")
    (root / "mod.c").write_text(mod_src)
    subprocess.run(
        ["gcc", "-g", "-O1", "-c", "mod.c", "-o", str(mods / "my-mod.ko")], cwd=root, check=True
    )


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed: cannot build the test ELF")
    if shutil.which("addr2line") is None:
        pytest.skip("addr2line (binutils) is not installed")
    root = tmp_path_factory.mktemp("elf")
    _build(root)
    return root


def _symbols(path: Path) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    with path.open("rb") as fh:
        elf = ELFFile(fh)
        symtab = elf.get_section_by_name(".symtab")
        for sym in symtab.iter_symbols():
            if sym["st_info"]["type"] == "STT_FUNC":
                out.setdefault(sym.name, []).append((sym["st_value"], sym["st_size"]))
    return out


def _rows(path: Path, line: int) -> list[int]:
    """Addresses the DWARF line table maps to ``line`` (any file)."""
    found = []
    with path.open("rb") as fh:
        dwarf = ELFFile(fh).get_dwarf_info(relocate_dwarf_sections=False)
        for cu in dwarf.iter_CUs():
            prog = dwarf.line_program_for_CU(cu)
            for entry in prog.get_entries():
                st = entry.state
                if st is not None and not st.end_sequence and st.line == line:
                    found.append(st.address)
    return found


def _offset_for(path: Path, func: str, line: int, size: int | None = None) -> tuple[int, int]:
    """An offset into ``func`` whose call-site address (offset - 1) maps to ``line``."""
    start, fsize = next(s for s in _symbols(path)[func] if size is None or s[1] == size)
    addrs = [a for a in _rows(path, line) if start <= a < start + fsize]
    assert addrs, f"no line {line} inside {func}"
    return addrs[0] - start + 1, fsize


def test_inline_frames_and_lines(build: Path) -> None:
    vmlinux = build / "vmlinux"
    helper_line = _line_of(PROG, "HELPER")
    off, size = _offset_for(vmlinux, "outer", helper_line)
    main_off, main_size = _offset_for(vmlinux, "main", _line_of(PROG, "MAIN_CALL"))
    frames = [
        Frame(function="outer", raw_function="outer", offset=off, size=size),
        Frame(function="main", raw_function="main", offset=main_off, size=main_size),
    ]
    out = Symbolizer(vmlinux).symbolize_frames(frames)
    assert [(f.function, f.inline) for f in out] == [
        ("helper", True),
        ("outer", False),
        ("main", False),
    ]
    # kernel_init is in init/main.c, so the build directory is stripped automatically
    assert (out[0].file, out[0].line) == ("prog.c", helper_line)
    assert (out[1].file, out[1].line) == ("prog.c", _line_of(PROG, "OUTER_CALL"))
    assert (out[2].file, out[2].line) == ("prog.c", _line_of(PROG, "MAIN_CALL"))
    assert all(f.language == "c" for f in out)
    assert out[1].offset == off and out[1].size == size  # the printed frame keeps its fields


def test_same_name_static_functions_pick_by_size(build: Path) -> None:
    """Two static ``dup`` functions: the printed size selects the right copy."""
    vmlinux = build / "vmlinux"
    dups = _symbols(vmlinux)["dup"]
    assert len(dups) == 2 and dups[0][1] != dups[1][1]
    dup_line = _line_of(DUP, "DUP")
    files = set()
    for _, size in dups:
        off, _ = _offset_for(vmlinux, "dup", dup_line, size)
        [f] = Symbolizer(vmlinux).symbolize_frames(
            [Frame(function="dup", raw_function="dup", offset=off, size=size)]
        )
        assert f.line == dup_line
        files.add(f.file)
    assert files == {"lib/dup_a.c", "lib/dup_b.c"}


def test_module_frames_use_the_ko(build: Path) -> None:
    ko = build / "modules" / "kernel" / "drivers" / "my-mod.ko"
    helper_line = _line_of(PROG, "HELPER")
    off, size = _offset_for(ko, "outer", helper_line)
    frames = [
        Frame(function="outer", raw_function="outer", offset=off, size=size, module="my_mod"),
        Frame(function="gone", raw_function="gone", offset=4, size=8, module="not_there"),
    ]
    out = Symbolizer(build / "vmlinux", build / "modules").symbolize_frames(frames)
    assert [(f.function, f.inline, f.module) for f in out] == [
        ("helper", True, "my_mod"),
        ("outer", False, "my_mod"),
        ("gone", False, "not_there"),
    ]
    assert out[0].file == "mod.c" and out[0].line == helper_line
    assert out[2].file is None  # no .ko for that module: left as printed


def test_unresolvable_and_already_symbolized_frames_are_kept(build: Path) -> None:
    kept = [
        Frame(function="no_such_function", raw_function="no_such_function", offset=1, size=2),
        Frame(function="outer", raw_function="outer", offset=1, size=2, file="x.c", line=3),
        Frame(function="helper", raw_function="helper", inline=True, file="x.c", line=2),
    ]
    assert Symbolizer(build / "vmlinux").symbolize_frames(kept) == kept


def test_symbolize_report_copies(build: Path) -> None:
    vmlinux = build / "vmlinux"
    off, size = _offset_for(vmlinux, "outer", _line_of(PROG, "HELPER"))
    report = CrashReport(
        title="BUG: unable to handle kernel NULL pointer dereference in outer",
        type="NULL-POINTER-DEREFERENCE",
        frames=[Frame(function="outer", raw_function="outer", offset=off, size=size)],
    )
    out = symbolize(report, vmlinux, source_root=str(build) + "/")
    assert len(report.frames) == 1 and report.frames[0].file is None  # input untouched
    assert [f.function for f in out.frames] == ["helper", "outer"]
    assert out.frames[0].file == "prog.c"
    assert out.title == report.title


def test_limits_and_bad_input(build: Path, tmp_path: Path) -> None:
    frames = [Frame(function="outer", raw_function="outer", offset=1, size=2)]
    with pytest.raises(InputTooLarge):
        Symbolizer(build / "vmlinux", max_object_bytes=1000).symbolize_frames(frames)
    junk = tmp_path / "vmlinux"
    junk.write_bytes(b"\x7fELF" + b"\xff" * 100)
    with pytest.raises(KpanicError, match="not a readable ELF"):
        Symbolizer(junk).symbolize_frames(frames)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(KpanicError):
        Symbolizer(text).symbolize_frames(frames)
    with pytest.raises(KpanicError, match="cannot read"):
        Symbolizer(tmp_path / "missing").symbolize_frames(frames)


def test_addr2line_timeout(build: Path, tmp_path: Path) -> None:
    slow = tmp_path / "slow-addr2line"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    vmlinux = build / "vmlinux"
    off, size = _offset_for(vmlinux, "outer", _line_of(PROG, "HELPER"))
    frames = [Frame(function="outer", raw_function="outer", offset=off, size=size)]
    sym = Symbolizer(vmlinux, addr2line=str(slow), timeout=0.5, source_root="/")
    with pytest.raises(KpanicError, match="addr2line took over"):
        sym.symbolize_frames(frames)


def test_parsed_oops_end_to_end(build: Path) -> None:
    """A console oops whose frames point into the test ELF: parse, then symbolize."""
    from kpanic.report import parse

    vmlinux = build / "vmlinux"
    off, size = _offset_for(vmlinux, "outer", _line_of(PROG, "HELPER"))
    main_off, main_size = _offset_for(vmlinux, "main", _line_of(PROG, "MAIN_CALL"))
    log = (
        "[   12.000001] BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
        "[   12.000002] #PF: supervisor read access in kernel mode\n"
        "[   12.000003] #PF: error_code(0x0000) - not-present page\n"
        "[   12.000004] Oops: 0000 [#1] PREEMPT SMP NOPTI\n"
        "[   12.000005] CPU: 0 PID: 1 Comm: prog Not tainted 6.12.0 #1\n"
        f"[   12.000006] RIP: 0010:outer+0x{off - 1:x}/0x{size:x}\n"
        "[   12.000007] Call Trace:\n"
        "[   12.000008]  <TASK>\n"
        f"[   12.000009]  main+0x{main_off:x}/0x{main_size:x}\n"
        "[   12.000010]  </TASK>\n"
    )
    report = parse(log).primary
    assert report is not None and report.frames
    out = symbolize(report, vmlinux)
    named = [(f.function, f.inline, f.file) for f in out.frames if f.file]
    assert ("main", False, "prog.c") in named
    assert any(f.file == "prog.c" and f.line for f in out.frames if f.function == "outer")
    assert out.guilty_file == "prog.c"


def test_one_symbolizer_serves_several_reports(build: Path) -> None:
    """Symbol tables are read once; names first seen in a later report still resolve."""
    vmlinux = build / "vmlinux"
    sym = Symbolizer(vmlinux)
    off, size = _offset_for(vmlinux, "outer", _line_of(PROG, "HELPER"))
    first = sym.symbolize_frames(
        [Frame(function="outer", raw_function="outer", offset=off, size=size)]
    )
    assert first[-1].file == "prog.c"
    off, size = _offset_for(vmlinux, "kernel_init", _line_of(INIT_MAIN, "KERNEL_INIT"))
    [later] = sym.symbolize_frames(
        [Frame(function="kernel_init", raw_function="kernel_init", offset=off, size=size)]
    )
    assert (later.file, later.line) == ("init/main.c", _line_of(INIT_MAIN, "KERNEL_INIT"))
