"""Frame language and Rust location on frames taken from real kernel reports."""

from __future__ import annotations

import re

import pytest

from kpanic.report.demangle import demangle
from kpanic.report.language import frame_language, rust_location
from kpanic.report.model import Frame
from tests.conftest import SYZKALLER

# Reports from the vendored syzkaller corpus with Rust code in their call traces
# (rust_binder on Android 6.12, ashmem_rust, rnull).
RUST_REPORTS = ["353", "354", "355", "356", "747", "748", "749"]
_FRAME = re.compile(
    r"^\[[^\]]*\](?:\[[^\]]*\])?\s+(?:\? )?([A-Za-z_][\w.$]*)\+0x[0-9a-f]+/0x", re.M
)


def _frames(name: str) -> list[str]:
    text = (SYZKALLER / "report" / name).read_text(errors="replace")
    return _FRAME.findall(text)


def _frame(raw: str, file: str | None = None) -> Frame:
    fn = demangle(raw)
    f = Frame(function=fn, raw_function=raw, file=file)
    f.language = frame_language(fn, raw, file)
    return f


def test_real_call_traces() -> None:
    names = {n for r in RUST_REPORTS for n in _frames(r)}
    rust = {n for n in names if "_R" in n[:8]}
    assert len(rust) >= 10 and len(names) - len(rust) >= 50
    for raw in names:
        lang = frame_language(demangle(raw), raw, None)
        if raw.startswith(("_R", "__cfi__R")):
            assert lang == "rust", raw
        else:
            # Everything else printed in these traces is C (kernel core, KASAN, locking,
            # rust_helper_* shims), including lookalikes such as __cfi__raw_spin_lock.
            assert lang == "c", raw


@pytest.mark.parametrize(
    ("raw", "place"),
    [
        ("_RNvMs3_NtCshgDM7dBCdno_11rust_binder7processNtB5_7Process10update_ref", "driver"),
        ("_RNvCshgDM7dBCdno_11rust_binder26rust_binder_unlocked_ioctl", "driver"),
        ("_RNvMNtNtCs43vyB533jt3_6kernel5alloc9allocatorNtB2_11ReallocFunc4call", "abstraction"),
        ("_RNvNtCs9jEwPDbx20M_4core9panicking9panic_fmt", "core"),
        ("_RNvCscSpY9Juk0HT_7___rustc17rust_begin_unwind", "core"),
        # trait impls: the impl belongs to the driver when its type is the driver's
        (
            "_RNvXs1_CscPPBqWtAqum_11ashmem_rustNtB5_6AshmemNtNtCs43vyB533jt3_6kernel"
            "10miscdevice10MiscDevice4mmap",
            "driver",
        ),
        (
            "_RNvXCsktjF9JQNZ8U_5rnullNtB2_13NullBlkModuleNtCs43vyB533jt3_6kernel"
            "13InPlaceModule4init",
            "driver",
        ),
        (
            "_RNvXs1b_NtCs9jEwPDbx20M_4core3fmtRNtNtNtB8_5panic10panic_info9PanicInfoNtB6_"
            "7Display3fmtCs43vyB533jt3_6kernel",
            "core",
        ),
        ("__cfi__RNvNtCs9jEwPDbx20M_4core9panicking9panic_fmt", "core"),
        ("rust_helper_BUG", "ffi"),
        ("rust_helper_krealloc", "ffi"),
        ("rust_helper_spin_unlock", "ffi"),
    ],
)
def test_rust_location_of_real_symbols(raw: str, place: str) -> None:
    assert rust_location(_frame(raw)) == place


def test_rust_helper_is_c_but_ffi() -> None:
    f = _frame("rust_helper_BUG", "rust/helpers/bug.c")
    assert f.language == "c"
    assert rust_location(f) == "ffi"


@pytest.mark.parametrize(
    ("function", "file", "lang", "place"),
    [
        # symbolized frames (file known): the file decides
        ("kernel::sync::arc::Arc<T>::drop", "rust/kernel/sync/arc.rs", "rust", "abstraction"),
        ("bindings::foo", "rust/bindings/bindings_generated.rs", "rust", "ffi"),
        ("gsp_boot", "drivers/gpu/nova-core/gsp.rs", "rust", "driver"),
        ("update_ref", "drivers/android/binder/process.rs:877:13", "rust", "driver"),
        ("panic_fmt", "/rustc/abc/library/core/src/panicking.rs", "rust", "core"),
        ("kmem_cache_free", "mm/slub.c", "c", None),
        ("entry_SYSCALL_64_after_hwframe", "arch/x86/entry/entry_64.S", "c", None),
        ("spin_lock", "include/linux/spinlock.h", "c", None),
        # demangled names without a file
        ("<rust_binder::process::Process>::update_ref", None, "rust", "driver"),
        ("<kernel::list::List<T> as core::ops::drop::Drop>::drop", None, "rust", "abstraction"),
        ("<&mut nova_core::gpu::Gpu as kernel::Foo>::bar", None, "rust", "driver"),
        ("kernel::sync::lock::Lock<T,B>::lock::{closure#0}", None, "rust", "abstraction"),
        ("core::panicking::panic", None, "rust", "core"),
        ("bindings::bug", None, "rust", "ffi"),
        ("rust_fmt_argument", None, "rust", "abstraction"),
        # C identifiers that look like something else
        ("_RET_IP_", None, "c", None),
        ("_Rfoo", None, "c", None),
        ("rust_foo", None, "c", None),
        ("kernel_init", None, "c", None),
        ("core_sys_select", None, "c", None),
        ("bindings_init", None, "c", None),
        ("foo.cold", None, "c", None),
        ("nf_tables_newrule.isra.0", None, "c", None),
        ("do_one_initcall.llvm.1234567", None, "c", None),
        # not a function at all
        ("0xffffffff81000000", None, "unknown", None),
        ("", None, "unknown", None),
        ("<unknown>", None, "unknown", None),
    ],
)
def test_language_and_place(function: str, file: str | None, lang: str, place: str | None) -> None:
    f = Frame(function=function, raw_function=function, file=file)
    assert frame_language(function, function, file) == lang
    f.language = frame_language(function, function, file)
    assert rust_location(f) == place


def test_mangled_raw_wins_over_unhelpful_function() -> None:
    raw = "_RNvNtCs9jEwPDbx20M_4core9panicking9panic_fmt"
    assert frame_language(raw, raw, None) == "rust"  # parser left it mangled
    assert frame_language("panic_fmt", raw, None) == "rust"
