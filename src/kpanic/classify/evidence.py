"""Evidence resolvers: read an ambiguous report's text and decide what the bug most likely is.

A general protection fault or a page fault only says "bad pointer". What the pointer looked
like says more: an address in the first 64 KiB is a NULL pointer plus a field offset, a
LIST_POISON value is a list entry used after list_del(), 0x6b6b... is slab memory read after
kfree(). KASAN prints its own hint for non-canonical addresses ("KASAN: null-ptr-deref in
range ..."). Each resolver returns the class, a confidence below 1 and the exact lines it used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from kpanic.classify.model import BugClass


class Decision(NamedTuple):
    bug_class: BugClass
    confidence: float
    evidence: list[str]
    why: str


Lines = Sequence[str]
Resolver = Callable[[Lines], "Decision | None"]

_HEX = r"(?:0x)?([0-9a-fA-F]{4,16})"

# (pattern with one group: the faulting address; how sure the address is the faulting one)
_ADDRESS_LINES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"BUG: kernel NULL pointer dereference, address: " + _HEX), "page fault"),
    (re.compile(r"NULL pointer dereference at (?:virtual address )?" + _HEX), "page fault"),
    (re.compile(r"page fault for address: " + _HEX), "page fault"),
    (re.compile(r"paging request at (?:virtual address )?" + _HEX), "page fault"),
    (re.compile(r"access to user memory .*at virtual address " + _HEX), "page fault"),
    (re.compile(r"non-canonical address 0x([0-9a-fA-F]+)"), "non-canonical address"),
    (re.compile(r"Unhandled fault: .* at 0x([0-9a-fA-F]+)"), "fault"),
    (re.compile(r"Invalid (?:read|write) at 0x([0-9a-fA-F]+)"), "KFENCE access"),
    (re.compile(r"(?:Read|Write) of size \d+ at addr ([0-9a-fA-F]+)"), "KASAN access"),
    (re.compile(r"\bCR2: ([0-9a-fA-F]{8,16})\b"), "CR2"),
    (re.compile(r"\bfar ?: ?([0-9a-fA-F]{8,16})\b"), "FAR"),
    (re.compile(r"\bbadaddr: ([0-9a-fA-F]{8,16})\b"), "badaddr"),
)

_GPF = re.compile(r"general protection fault|stack segment")
_PAGE_FAULT_ONLY = frozenset({"CR2", "FAR", "badaddr"})
_KASAN_NULL_RANGE = re.compile(r"KASAN: null-ptr-deref in range")
_KASAN_WILD_RANGE = re.compile(r"KASAN: maybe wild-memory-access in range \[0x([0-9a-fA-F]+)")
_KASAN_USER_RANGE = re.compile(r"KASAN: probably user-memory-access in range \[0x([0-9a-fA-F]+)")
_KASAN_OLD_GPF = re.compile(r"kasan: GPF could be caused by NULL-ptr deref or user memory access")

NULL_LIMIT = 0x10000  # mmap_min_addr's default: nothing is ever mapped below it
# Generic KASAN shadow offsets: x86-64, arm64 (48-bit VA), arm64 (older 47/48-bit layouts).
KASAN_SHADOW_OFFSETS = (0xDFFFFC0000000000, 0xDFFF800000000000, 0xDFFFA00000000000)
LIST_POISON_BASE = 0xDEAD000000000000  # POISON_POINTER_DELTA on 64-bit


def classify_address(addr: int) -> tuple[BugClass, float, str] | None:
    """What a faulting address says by itself (class, confidence, why), or None."""
    text = f"{addr:016x}"
    if addr < NULL_LIMIT:
        return "null-deref", 0.9, f"address {addr:#x} is below 64 KiB: a NULL pointer + offset"
    if addr >= 0xFFFFFFFFFFFFF000:
        return (
            "null-deref",
            0.6,
            f"address {addr:#x} is an ERR_PTR: an error code used as a pointer (unchecked result)",
        )
    if any(base <= addr < base + (NULL_LIMIT >> 3) for base in KASAN_SHADOW_OFFSETS):
        return "null-deref", 0.8, f"address {addr:#x} is KASAN's shadow of a NULL pointer + offset"
    if LIST_POISON_BASE <= addr < LIST_POISON_BASE + 0x1000:
        return "use-after-free", 0.7, f"address {addr:#x} is LIST_POISON: entry used after list_del"
    if "6b6b6b6b" in text:
        return "use-after-free", 0.75, f"address {addr:#x} holds POISON_FREE bytes (0x6b): freed"
    if "5a5a5a5a" in text:
        return "uninit", 0.6, f"address {addr:#x} holds POISON_INUSE bytes (0x5a): never written"
    return None


def _first(lines: Lines, pattern: re.Pattern[str]) -> tuple[str, re.Match[str]] | None:
    for line in lines:
        m = pattern.search(line)
        if m:
            return line, m
    return None


def invalid_access(lines: Lines) -> Decision | None:
    """A fault on a bad pointer: use KASAN's range hint, then the faulting address."""
    hit = _first(lines, _KASAN_NULL_RANGE)
    if hit:
        return Decision("null-deref", 0.9, [hit[0]], "KASAN: null-ptr-deref in range")
    wild = _first(lines, _KASAN_WILD_RANGE)
    if wild:
        guess = classify_address(int(wild[1].group(1), 16))
        if guess:
            return Decision(guess[0], min(guess[1], 0.7), [wild[0]], guess[2])
        return Decision("unknown", 0.4, [wild[0]], "KASAN: maybe wild-memory-access")
    hit = _first(lines, _KASAN_USER_RANGE)
    if hit:
        guess = classify_address(int(hit[1].group(1), 16))
        if guess:
            return Decision(guess[0], min(guess[1], 0.7), [hit[0]], guess[2])
        return Decision("unknown", 0.4, [hit[0]], "KASAN: probably user-memory-access")
    gpf = any(_GPF.search(line) for line in lines)
    for pattern, kind in _ADDRESS_LINES:
        if gpf and kind in _PAGE_FAULT_ONLY:
            continue  # CR2 keeps the last page fault's address, unrelated to a GP fault
        found = _first(lines, pattern)
        if not found:
            continue
        guess = classify_address(int(found[1].group(1), 16))
        if guess:
            return Decision(guess[0], guess[1], [found[0]], f"{kind}: {guess[2]}")
        return Decision("unknown", 0.4, [found[0]], f"{kind}: a wild kernel address")
    hit = _first(lines, _KASAN_OLD_GPF)
    if hit:
        return Decision("null-deref", 0.6, [hit[0]], "kasan: GPF could be a NULL-ptr deref")
    return None


_FREED_BY = re.compile(r"^\S*\s*(?:\[[^]]*\]\s*)*Freed by task")
_TAG_BUG = re.compile(r"BUG: KASAN: invalid-access")


def tag_mismatch(lines: Lines) -> Decision | None:
    """Tag-based KASAN (arm64 MTE/SW tags) reports a tag mismatch: was the object freed?"""
    head = _first(lines, _TAG_BUG)
    ev = [head[0]] if head else []
    freed = _first(lines, _FREED_BY)
    if freed:
        return Decision(
            "use-after-free", 0.6, ev + [freed[0]], "tag mismatch on an object that was freed"
        )
    return Decision("out-of-bounds", 0.5, ev, "tag mismatch with no free stack")


_UBSAN_TEXT: tuple[tuple[re.Pattern[str], BugClass, float], ...] = (
    (re.compile(r"shift exponent|shift-out-of-bounds"), "arithmetic", 0.9),
    (
        re.compile(r"(signed|unsigned)? ?integer overflow|negation of|division by zero"),
        "arithmetic",
        0.9,
    ),
    (re.compile(r"index -?\d+ is out of range|array-index-out-of-bounds"), "out-of-bounds", 0.9),
    (re.compile(r"is not a valid value for type"), "uninit", 0.5),
    (re.compile(r"null pointer"), "null-deref", 0.8),
    (re.compile(r"insufficient space for an object"), "out-of-bounds", 0.7),
)


def ubsan_text(lines: Lines) -> Decision | None:
    """Old UBSAN titles ("undefined-behaviour") hide the kind in the line after the header."""
    for pattern, bug_class, conf in _UBSAN_TEXT:
        hit = _first(lines, pattern)
        if hit:
            return Decision(bug_class, conf, [hit[0]], f"UBSAN says: {hit[1].group(0)}")
    return None


_ODEBUG = re.compile(r"ODEBUG: (\w+) (\w+)")


def odebug(lines: Lines) -> Decision | None:
    """ODEBUG "free active": an armed timer/work is freed, so its callback runs on freed memory."""
    hit = _first(lines, _ODEBUG)
    if not hit:
        return None
    op, state = hit[1].group(1), hit[1].group(2)
    if op == "free" and state == "active":
        return Decision(
            "use-after-free", 0.6, [hit[0]], "object freed while still active (armed timer/work)"
        )
    return Decision("assertion", 0.7, [hit[0]], f"debugobjects state check: {op} {state}")


_SLUB: tuple[tuple[re.Pattern[str], BugClass, float], ...] = (
    (re.compile(r"Object already free"), "invalid-free", 0.9),
    (re.compile(r"Poison overwritten"), "use-after-free", 0.7),
    (re.compile(r"Redzone overwritten"), "out-of-bounds", 0.8),
)


def slub_debug(lines: Lines) -> Decision | None:
    """SLUB_DEBUG's own verdict line ("Poison overwritten", "Redzone overwritten", ...)."""
    for pattern, bug_class, conf in _SLUB:
        hit = _first(lines, pattern)
        if hit:
            return Decision(bug_class, conf, [hit[0]], f"SLUB debug: {hit[1].group(0)}")
    return None


RESOLVERS: dict[str, Resolver] = {
    "invalid_access": invalid_access,
    "tag_mismatch": tag_mismatch,
    "ubsan_text": ubsan_text,
    "odebug": odebug,
    "slub_debug": slub_debug,
}
