"""Small text normalisers shared by the signature rules and the language check.

Each one removes one kind of noise that differs between two reports of the same bug: a
compiler clone suffix, an address, an offset, a number. They are pure functions on strings.
"""

from __future__ import annotations

import re

# GCC/Clang clone suffixes: foo.cold, foo.isra.0, foo.constprop.0, foo.part.0, foo.llvm.1234,
# and syzkaller's normalised forms (foo.part.NUM). Several may be chained.
_COMPILER_SUFFIX = re.compile(
    r"(?<=[A-Za-z0-9_>])(?:\.(?:cold|isra|constprop|part|llvm|lto_priv|clone|localalias|"
    r"specialized|mangled)(?:\.(?:\d+|NUM|[0-9A-F]+))*)+(?=$|[^A-Za-z0-9_.])"
)
_RUST_HASH = re.compile(r"::h[0-9a-f]{16}\b")
_TOOL_PREFIX = re.compile(r"^(?:__cfi_|__pfx_|__pi_|__efistub_)(?=[A-Za-z_<])")
_OFFSET = re.compile(r"\+0x[0-9a-fA-F]+(?:/0x[0-9a-fA-F]+)?")
_HEX_ADDR = re.compile(r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{6,}\b")
_FILE_LINE = re.compile(r"(\.[chS]|\.rs):\d+(?::\d+)?\b")
_CPU = re.compile(r"\bCPU#\d+")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.#-])-?\d+(?![A-Za-z0-9_])")
_EXECUTOR = re.compile(r"\bsyz-executor[.\d]*\d\b|\bsyz\.\d+\.\d+\b")
_SPACES = re.compile(r"\s+")
_NONPRINT = re.compile(r"[^\x20-\x7e]")


def strip_compiler_suffix(name: str) -> str:
    """``foo.isra.0`` -> ``foo``; ``do_con_write.part.NUM`` -> ``do_con_write``."""
    if "." not in name:  # fast path: most names have no suffix
        return name
    return _COMPILER_SUFFIX.sub("", name)


def strip_rust_hash(name: str) -> str:
    """Legacy-mangled Rust names keep a ``::h0123456789abcdef`` hash per build."""
    if "::h" not in name:
        return name
    return _RUST_HASH.sub("", name)


def strip_tool_prefix(name: str) -> str:
    """``__cfi_foo`` (kCFI preamble), ``__pfx_foo`` (padding) -> ``foo``."""
    if not name.startswith("__"):
        return name
    return _TOOL_PREFIX.sub("", name)


def replace_offsets(text: str) -> str:
    """``foo+0x1c/0x80`` -> ``foo``."""
    return _OFFSET.sub("", text)


def replace_addresses(text: str) -> str:
    """Hex addresses (``0x...`` or runs of 6+ hex digits with a digit) -> ``ADDR``."""
    return _HEX_ADDR.sub("ADDR", text)


def replace_numbers(text: str) -> str:
    """``file.c:123`` -> ``file.c:LINE``, ``CPU#3`` -> ``CPU``, other numbers -> ``NUM``."""
    text = _FILE_LINE.sub(r"\1:LINE", text)
    text = _CPU.sub("CPU", text)
    return _NUMBER.sub("NUM", text)


def replace_executor(text: str) -> str:
    """syzkaller's per-process names (``syz-executor.3``, ``syz.0.595``) -> ``syz-executor``."""
    return _EXECUTOR.sub("syz-executor", text)


def squeeze(text: str) -> str:
    """Drop non-printable characters and squeeze whitespace."""
    return _SPACES.sub(" ", _NONPRINT.sub("", text.replace("\t", " "))).strip()
