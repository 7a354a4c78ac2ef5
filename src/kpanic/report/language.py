"""Which language a stack frame is written in, and where a Rust frame sits in the kernel.

The classifier asks "would safe Rust have prevented this?" and "did the Rust side crash?". For
that it needs each frame's language and, for Rust frames, whether the code is a driver or the
shared Rust-for-Linux layers (the ``kernel`` crate abstractions, the C helpers and bindings
that Rust calls, or the Rust standard library). Evidence, strongest first: the source file
(from a symbolized report), a mangled Rust symbol, then the shape of the demangled name.
"""

from __future__ import annotations

import re
from typing import Literal

from kpanic.report.demangle import demangle, is_rust_symbol
from kpanic.report.model import Frame, Language

__all__ = ["frame_language", "rust_location", "RustLocation"]

RustLocation = Literal["ffi", "abstraction", "core", "driver"]

# A C function name as the kernel prints it, with optional compiler clone suffixes
# (foo.cold, foo.isra.0, foo.constprop.0, foo.part.0, foo.llvm.123456).
_C_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
_FILE_LINE = re.compile(r":\d+(?::\d+)?$")

# #[no_mangle] Rust functions keep C-looking names; these are the ones the kernel defines.
_RUST_NO_MANGLE = re.compile(
    r"(rust_begin_unwind|rust_fmt_argument|rust_panic|__rust_[a-z_]+|__rdl_[a-z_]+|__rg_[a-z_]+"
    r"|__rustc_[a-z_]+)(?:\.[A-Za-z0-9_.]+)?"
)

# Crates of the Rust-for-Linux support layers (rust/ in the kernel tree).
_ABSTRACTION_CRATES = frozenset({"kernel", "pin_init", "pin_init_internal", "macros", "ffi"})
_FFI_CRATES = frozenset({"bindings", "uapi"})
_CORE_CRATES = frozenset({"core", "alloc", "std", "compiler_builtins", "__rustc", "build_error"})

_TOOL_PREFIXES = ("__cfi_", "__pfx_", "__pi_", "__efistub_")

_FILE_PLACES: tuple[tuple[str, RustLocation], ...] = (
    ("rust/helpers/", "ffi"),
    ("rust/bindings/", "ffi"),
    ("rust/uapi/", "ffi"),
    ("rust/kernel/", "abstraction"),
    ("rust/pin-init/", "abstraction"),
    ("rust/macros/", "abstraction"),
    ("rust/ffi", "abstraction"),
    ("library/core/", "core"),
    ("library/alloc/", "core"),
    ("library/std/", "core"),
    ("rust/compiler_builtins", "core"),
    ("rust/build_error", "core"),
)


def _clean_file(file: str | None) -> str:
    if not file:
        return ""
    return _FILE_LINE.sub("", file.strip())


def _looks_like_rust_path(name: str) -> bool:
    """Rust path syntax that a C identifier can never contain."""
    return (
        "::" in name
        or (name.startswith("<") and ">::" in name)
        or "{closure#" in name
        or "{shim:" in name
        or bool(_RUST_NO_MANGLE.fullmatch(name))
    )


def frame_language(function: str, raw_function: str, file: str | None) -> Language:
    """Classify one frame as ``"rust"``, ``"c"`` or ``"unknown"``.

    ``function`` is the demangled name, ``raw_function`` the symbol as printed, ``file`` the
    source file when the report was symbolized. The file decides when known (a Rust function
    inlined into C still reports its ``.rs`` file); ``.S`` assembly counts as C, the
    non-Rust side. C helpers named ``rust_helper_*`` are C.
    """
    path = _clean_file(file)
    if path.endswith(".rs"):
        return "rust"
    if path.endswith((".c", ".h", ".S", ".s")):
        return "c"
    raw = (raw_function or "").strip()
    name = (function or "").strip()
    if raw and is_rust_symbol(raw):
        return "rust"
    if name and is_rust_symbol(name):
        return "rust"
    for candidate in (name, raw):
        if candidate and _looks_like_rust_path(candidate):
            return "rust"
    for candidate in (name, raw):
        if candidate and _C_IDENT.fullmatch(candidate):
            return "c"
    return "unknown"


def _leading_crate(text: str) -> str | None:
    """The crate of a type or path: ``&mut kernel::sync::Arc<T>`` -> ``kernel``."""
    text = text.lstrip()
    changed = True
    while changed:
        changed = False
        for prefix in ("&mut ", "&", "*const ", "*mut ", "dyn ", "[", "(", "'_ ", "unsafe "):
            if text.startswith(prefix):
                text = text[len(prefix) :].lstrip()
                changed = True
    if text.startswith("<"):
        return _impl_crates(text)[0]
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", text)
    return m.group(1) if m else None


def _impl_crates(name: str) -> tuple[str | None, str | None]:
    """For ``<Self as Trait>::f`` (or ``<Self>::f``): the crates of Self and of Trait."""
    depth = 0
    for i, ch in enumerate(name):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
            if depth == 0:
                inner = name[1:i]
                break
    else:
        return None, None
    depth = 0
    for i, ch in enumerate(inner):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif depth == 0 and inner.startswith(" as ", i):
            return _leading_crate(inner[:i]), _leading_crate(inner[i + 4 :])
    return _leading_crate(inner), None


def _crate_place(crate: str | None) -> RustLocation | None:
    if crate is None:
        return None
    if crate in _FFI_CRATES:
        return "ffi"
    if crate in _ABSTRACTION_CRATES:
        return "abstraction"
    if crate in _CORE_CRATES:
        return "core"
    return "driver"


def _name_place(name: str) -> RustLocation | None:
    if name.startswith("<"):
        self_crate, trait_crate = _impl_crates(name)
        places = [p for p in (_crate_place(self_crate), _crate_place(trait_crate)) if p]
        if not places:
            return None
        # Orphan rule: the impl lives in the crate of its type or of its trait; if either is
        # a driver's own crate, the code is the driver's.
        return "driver" if "driver" in places else places[0]
    if _RUST_NO_MANGLE.fullmatch(name):
        return "abstraction" if name.startswith("rust_") else "core"
    return _crate_place(_leading_crate(name))


def rust_location(frame: Frame) -> RustLocation | None:
    """Where a Rust (or Rust-support) frame sits: ``ffi``, ``abstraction``, ``core`` or ``driver``.

    - ``ffi``: the C helpers Rust calls (``rust_helper_*``, rust/helpers/) and the generated
      bindings (``bindings::``, rust/bindings/, rust/uapi/);
    - ``abstraction``: the ``kernel`` crate and its companions (rust/kernel/, pin-init, macros);
    - ``core``: the Rust standard library (``core::``, ``alloc::``, ``__rustc::``);
    - ``driver``: any other Rust crate (rust_binder, nova, rnull, ...).

    Returns None for frames that are neither Rust nor a Rust FFI helper.
    """
    name = demangle((frame.function or frame.raw_function or "").strip())
    for prefix in _TOOL_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            name = name[len(prefix) :]
    if name.startswith("rust_helper_") or (frame.raw_function or "").startswith("rust_helper_"):
        return "ffi"
    path = _clean_file(frame.file)
    for marker, place in _FILE_PLACES:
        if marker in path:
            return place
    language = frame.language
    if language == "unknown":
        language = frame_language(frame.function, frame.raw_function, frame.file)
    if language != "rust":
        return None
    if path.endswith(".rs") and not name:
        return "driver"
    return _name_place(name) or "driver"
