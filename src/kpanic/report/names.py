"""Frame-name clean-up shared by the title code and the frame list: demangling.

syzkaller demangles every captured frame (Go's demangle.Filter with NoParams) before skip lists
and titles see it: Rust functions appear as ``<crate::Type>::method`` (helper module
:mod:`kpanic.report.demangle`) and the rare C++ symbol as its plain name without parameters
(``_Z8fakeNameiii`` -> ``fakeName``, handled here for plain and nested names only).
"""

from __future__ import annotations

import re
from functools import lru_cache

from kpanic.report.demangle import demangle

_ITANIUM_PARAMS = re.compile(r"[a-zA-Z0-9_]*")


def _source_names(text: str, pos: int) -> tuple[list[str], int] | None:
    """Consecutive ``<len><identifier>`` items from ``pos``."""
    names: list[str] = []
    while pos < len(text) and text[pos].isdigit():
        end = pos
        while end < len(text) and text[end].isdigit():
            end += 1
        size = int(text[pos:end])
        if size == 0 or end + size > len(text):
            return None
        names.append(text[end : end + size])
        pos = end + size
    return (names, pos) if names else None


def itanium_name(symbol: str) -> str | None:
    """The qualified name of a simple C++ symbol without its parameters, else None."""
    if not symbol.startswith("_Z") or len(symbol) > 1024:
        return None
    pos = 2
    nested = symbol.startswith("_ZN")
    if nested:
        pos = 3
    found = _source_names(symbol, pos)
    if found is None:
        return None
    names, pos = found
    if nested:
        if pos >= len(symbol) or symbol[pos] != "E":
            return None
        pos += 1
    if not _ITANIUM_PARAMS.fullmatch(symbol, pos):
        return None
    return "::".join(names)


@lru_cache(maxsize=8192)
def demangle_frame(name: str) -> str:
    """The human-readable name of a printed symbol (unchanged when it is not mangled)."""
    if "_R" not in name and "_Z" not in name:
        return name
    out = demangle(name)
    if out == name and name.startswith("_Z"):
        return itanium_name(name) or name
    return out
