"""Rust demangling on real kernel symbols, rustc-demangle's published vectors and hostile input."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpanic.report.demangle import MAX_SYMBOL, demangle, is_rust_symbol
from tests.conftest import SYZKALLER

# Symbols printed by real kernels (syzkaller corpus reports 353-356, 747-749 and guilty/42),
# with the names rustc-demangle's alternate form gives (syzkaller titles use that form).
KERNEL_SYMBOLS = [
    (
        "_RNvMs3_NtCshgDM7dBCdno_11rust_binder7processNtB5_7Process10update_ref",
        "<rust_binder::process::Process>::update_ref",
    ),
    (
        "_RNvMs0_NtCshgDM7dBCdno_11rust_binder4nodeNtB5_4Node22update_refcount_locked",
        "<rust_binder::node::Node>::update_refcount_locked",
    ),
    (
        "_RNvMs2_NtCshgDM7dBCdno_11rust_binder6threadNtB5_6Thread10write_read",
        "<rust_binder::thread::Thread>::write_read",
    ),
    (
        "_RNvCshgDM7dBCdno_11rust_binder26rust_binder_unlocked_ioctl",
        "rust_binder::rust_binder_unlocked_ioctl",
    ),
    (
        "_RNvMNtNtCs43vyB533jt3_6kernel5alloc9allocatorNtB2_11ReallocFunc4call",
        "<kernel::alloc::allocator::ReallocFunc>::call",
    ),
    ("_RNvNtCs9jEwPDbx20M_4core9panicking9panic_fmt", "core::panicking::panic_fmt"),
    (
        "_RNvNtNtCs9jEwPDbx20M_4core9panicking11panic_const24panic_const_add_overflow",
        "core::panicking::panic_const::panic_const_add_overflow",
    ),
    ("_RNvCscSpY9Juk0HT_7___rustc17rust_begin_unwind", "__rustc::rust_begin_unwind"),
    (
        "_RNvXCsktjF9JQNZ8U_5rnullNtB2_13NullBlkModuleNtCs43vyB533jt3_6kernel13InPlaceModule4init",
        "<rnull::NullBlkModule as kernel::InPlaceModule>::init",
    ),
    (
        "_RNvXs1_CscPPBqWtAqum_11ashmem_rustNtB5_6AshmemNtNtCs43vyB533jt3_6kernel10miscdevice"
        "10MiscDevice4mmap",
        "<ashmem_rust::Ashmem as kernel::miscdevice::MiscDevice>::mmap",
    ),
    (
        "_RNvXs1b_NtCs9jEwPDbx20M_4core3fmtRNtNtNtB8_5panic10panic_info9PanicInfoNtB6_7Display"
        "3fmtCs43vyB533jt3_6kernel",
        "<&core::panic::panic_info::PanicInfo as core::fmt::Display>::fmt",
    ),
]

# Vectors published in rustc-demangle's own test suite (src/v0.rs, alternate form).
RUSTC_DEMANGLE_VECTORS = [
    ("_RNvC6_123foo3bar", "123foo::bar"),
    (
        "_RNqCs4fqI2P2rA04_11utf8_identsu30____7hkackfecea1cbdathfdh9hlq6y",
        "utf8_idents::საჭმელად_გემრიელი_სადილი",
    ),
    ("_RNCNCNgCs6DXkGYLi8lr_2cc5spawn00B5_", "cc::spawn::{closure#0}::{closure#0}"),
    (
        "_RNCINkXs25_NgCsbmNqQUJIY6D_4core5sliceINyB9_4IterhENuNgNoBb_4iter8iterator8Iterator"
        "9rpositionNCNgNpB9_6memchr7memrchrs_0E0Bb_",
        "<core::slice::Iter<u8> as core::iter::iterator::Iterator>::rposition::"
        "<core::slice::memchr::memrchr::{closure#1}>::{closure#0}",
    ),
    (
        "_RINbNbCskIICzLVDPPb_5alloc5alloc8box_freeDINbNiB4_5boxed5FnBoxuEp6OutputuEL_"
        "ECs1iopQbuBiw2_3std",
        "alloc::alloc::box_free::<dyn alloc::boxed::FnBox<(), Output = ()>>",
    ),
    ("_RMC0INtC8arrayvec8ArrayVechKj7b_E", "<arrayvec::ArrayVec<u8, 123>>"),
    (
        "_RMCs4fqI2P2rA04_13const_genericINtB0_8UnsignedKhb_E",
        "<const_generic::Unsigned<11>>",
    ),
    ("_RMCs4fqI2P2rA04_13const_genericINtB0_6SignedKs98_E", "<const_generic::Signed<152>>"),
    ("_RMCs4fqI2P2rA04_13const_genericINtB0_6SignedKanb_E", "<const_generic::Signed<-11>>"),
    ("_RMCs4fqI2P2rA04_13const_genericINtB0_4BoolKb0_E", "<const_generic::Bool<false>>"),
    ("_RMCs4fqI2P2rA04_13const_genericINtB0_4BoolKb1_E", "<const_generic::Bool<true>>"),
    ("_RMCs4fqI2P2rA04_13const_genericINtB0_4CharKc76_E", "<const_generic::Char<'v'>>"),
    ("_RMCs4fqI2P2rA04_13const_genericINtB0_4CharKca_E", "<const_generic::Char<'\\n'>>"),
    (
        "_RNvNvMCs4fqI2P2rA04_13const_genericINtB4_3FooKpE3foo3FOO",
        "<const_generic::Foo<_>>::foo::FOO",
    ),
    ("_RC3foo.llvm.9D1C9369", "foo"),
    ("_RC3foo.llvm.9D1C9369@@16", "foo"),
    ("_RNvC9backtrace3foo.llvm.A5310EB9", "backtrace::foo"),
    (
        "_RNvNtNtNtNtCs92dm3009vxr_4rand4rngs7adapter9reseeding4fork23FORK_HANDLER_REGISTERED.0.0",
        "rand::rngs::adapter::reseeding::fork::FORK_HANDLER_REGISTERED.0.0",
    ),
]

LEGACY = [
    ("_ZN4core9panicking5panic17h1d9ec6ee4a8c2b5eE", "core::panicking::panic"),
    (
        "_ZN6kernel4sync3arc12Arc$LT$T$GT$4drop17hc0ffee00c0ffee00E",
        "kernel::sync::arc::Arc<T>::drop",
    ),
    (
        "_ZN71_$LT$Test$u20$$u2b$$u20$$u27$static$u20$as$u20$foo..Bar$LT$Test$GT$$GT$3bar"
        "17h930b740aa94f1d3aE",
        "<Test + 'static as foo::Bar<Test>>::bar",
    ),
    ("_ZN3foo3bar17h05af221e174051e9E.llvm.1234", "foo::bar"),
    ("_ZN3foo3bar17h05af221e174051e9E.cold", "foo::bar.cold"),
]


@pytest.mark.parametrize(("mangled", "expected"), KERNEL_SYMBOLS + RUSTC_DEMANGLE_VECTORS)
def test_v0(mangled: str, expected: str) -> None:
    assert demangle(mangled) == expected
    assert is_rust_symbol(mangled)


@pytest.mark.parametrize(("mangled", "expected"), LEGACY)
def test_legacy(mangled: str, expected: str) -> None:
    assert demangle(mangled) == expected
    assert is_rust_symbol(mangled)


def test_every_rust_symbol_in_the_syzkaller_corpus_demangles() -> None:
    """Every ``_R`` symbol printed in a real report demangles to a Rust path."""
    found = set()
    for path in (SYZKALLER / "report").iterdir():
        text = path.read_bytes().decode("utf-8", "replace")
        found.update(re.findall(r"\b_R[A-Z][A-Za-z0-9_]{8,}", text))
    assert len(found) >= 10
    for sym in found:
        out = demangle(sym)
        assert out != sym and "::" in out, sym
        assert not re.search(r"Cs[0-9A-Za-z]+_", out), out  # no crate hash left behind


def test_prefixes_and_suffixes() -> None:
    sym = "_RNvMs3_NtCshgDM7dBCdno_11rust_binder7processNtB5_7Process10update_ref"
    plain = "<rust_binder::process::Process>::update_ref"
    assert demangle("__cfi_" + sym) == "__cfi_" + plain
    assert demangle("__pfx_" + sym) == "__pfx_" + plain
    assert demangle(sym + ".llvm.12345678") == plain
    assert demangle(sym + ".cold") == plain + ".cold"
    assert demangle(sym + ".isra.0") == plain + ".isra.0"
    assert is_rust_symbol("__cfi_" + sym)


@pytest.mark.parametrize(
    "name",
    [
        "kmem_cache_free",
        "__cfi_kmem_cache_free",
        "__pfx_do_syscall_64",
        "_Z8fakeNameiii",  # an Itanium name, not Rust
        "_ZN3foo3barEv",  # C++: no Rust hash
        "_ZN3foo3barE",  # legacy without the hash cannot be told from C++
        "_RNvNtCs1234_7mycrate3foo",  # truncated: one identifier missing
        "_Rfoo",
        "_R",
        "_RNv",
        "_RNvC3foo3bar extra",  # trailing junk that is no compiler suffix
        "<rust_binder::process::Process>::update_ref",  # already demangled
        "core::panicking::panic",
        "",
        "R",
        "_RNvC7mycrate7ужас",  # non-ASCII inside a v0 symbol
        "_RNvCs_7mycrate3foo#x",  # trailing junk that is no compiler suffix
        "_RNvB_3foo",  # backref pointing at itself
    ],
)
def test_not_rust_comes_back_unchanged(name: str) -> None:
    assert demangle(name) == name
    assert not is_rust_symbol(name)


def test_exponential_backrefs_are_bounded() -> None:
    # rustc-demangle's own example: 6 backrefs give 2^6 leaves.
    sym = "_RMC0" + "TTTTTT" + "p" + "B8_E" + "B7_E" + "B6_E" + "B5_E" + "B4_E" + "B3_E"
    out = demangle(sym)
    assert out.count("_") == 64 and out.startswith("<((((((_, _)")
    # The same trick 40 levels deep would print 2^40 leaves: must give up quickly instead.
    depth = 40
    body = "T" * depth + "p" + "".join(f"B{_b62(i + 3)}E" for i in reversed(range(depth)))
    evil = "_RMC0" + body
    t0 = time.perf_counter()
    assert demangle(evil) == evil
    assert time.perf_counter() - t0 < 2.0


def _b62(n: int) -> str:
    """Encode a backref target the way v0 does (value-1 in base 62, then '_'; 0 is '_')."""
    if n == 0:
        return "_"
    n -= 1
    digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while True:
        out = digits[n % 62] + out
        n //= 62
        if n == 0:
            return out + "_"


def test_deep_nesting_is_bounded() -> None:
    sym = "_R" + "RRRRRRRRRR" * 500 + "u"
    t0 = time.perf_counter()
    assert demangle(sym) == sym
    nested = "_R" + "Nv" * 1500 + "C3foo" + "3bar" * 1500
    assert demangle(nested) == nested  # deeper than any real name: refused, not crashed
    assert time.perf_counter() - t0 < 2.0


def test_oversized_input_is_not_parsed() -> None:
    sym = "_RNvC3foo" + "3bar" * (MAX_SYMBOL // 4)
    assert demangle(sym) == sym


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    out = demangle(text)
    assert isinstance(out, str)
    if out != text:
        assert is_rust_symbol(text)


_V0_ALPHABET = "_RNCMXYIBKLGDFTAUSQPOEvCsuhjlmnxyabcdeopz0123456789"


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=_V0_ALPHABET, max_size=120))
def test_v0_shaped_garbage_terminates_fast(body: str) -> None:
    t0 = time.perf_counter()
    for sym in ("_R" + body, "_RN" + body, "_ZN" + body):
        assert isinstance(demangle(sym), str)
    assert time.perf_counter() - t0 < 5.0  # generous: the machine is shared
