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
from functools import lru_cache
from typing import NamedTuple

from kpanic.classify.model import BugClass


class Decision(NamedTuple):
    bug_class: BugClass
    confidence: float
    evidence: list[str]
    why: str


Lines = Sequence[str]
Resolver = Callable[[Lines], "Decision | None"]


class LineList(list[str]):
    """A report's lines with their joined text, so a pattern that is nowhere in the report is
    rejected by one search over the text instead of one per line."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__(lines)
        self.text = "\n".join(self)


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


class AddressRange(NamedTuple):
    """A faulting address in [low, high) means ``bug_class``; ``reason`` is formatted with
    the address as ``{addr:#x}``."""

    id: str
    low: int
    high: int
    bug_class: BugClass
    confidence: float
    reason: str


class AddressPattern(NamedTuple):
    """A faulting address whose 16 hex digits match ``pattern`` (slab poison bytes)."""

    id: str
    pattern: re.Pattern[str]
    bug_class: BugClass
    confidence: float
    reason: str


#: What a faulting address says by itself, tried in order (ranges first, then byte patterns).
ADDRESS_RANGES: tuple[AddressRange, ...] = (
    AddressRange("null", 0, NULL_LIMIT, "null-deref", 0.9,
                 "address {addr:#x} is below 64 KiB: a NULL pointer + offset"),
    AddressRange("err-ptr", 0xFFFFFFFFFFFFF000, 1 << 64, "null-deref", 0.6,
                 "address {addr:#x} is an ERR_PTR: an error code used as a pointer "
                 "(unchecked result)"),
    *(
        AddressRange(f"kasan-shadow-null-{i}", base, base + (NULL_LIMIT >> 3), "null-deref", 0.8,
                     "address {addr:#x} is KASAN's shadow of a NULL pointer + offset")
        for i, base in enumerate(KASAN_SHADOW_OFFSETS)
    ),
    AddressRange("err-ptr-32", 0xFFFFF000, 1 << 32, "null-deref", 0.5,
                 "address {addr:#x} is a 32-bit ERR_PTR: an error code used as a pointer "
                 "(unchecked result)"),
    AddressRange("list-poison", LIST_POISON_BASE, LIST_POISON_BASE + 0x1000, "use-after-free",
                 0.7, "address {addr:#x} is LIST_POISON (0xdead000000000100/122 + offset): a "
                 "list entry used after list_del()"),
    AddressRange("list-poison-32", 0x00100100, 0x00100100 + 0x100, "use-after-free", 0.6,
                 "address {addr:#x} is 32-bit LIST_POISON1 (0x00100100): a list entry used after "
                 "list_del()"),
    AddressRange("list-poison2-32", 0x00200200, 0x00200200 + 0x100, "use-after-free", 0.6,
                 "address {addr:#x} is 32-bit LIST_POISON2 (0x00200200): a list entry used after "
                 "list_del()"),
)  # fmt: skip
ADDRESS_PATTERNS: tuple[AddressPattern, ...] = (
    AddressPattern("poison-free", re.compile(r"6b6b6b6b"), "use-after-free", 0.75,
                   "address {addr:#x} holds POISON_FREE bytes (0x6b): read from a freed object"),
    AddressPattern("poison-inuse", re.compile(r"5a5a5a5a"), "uninit", 0.6,
                   "address {addr:#x} holds POISON_INUSE bytes (0x5a): a never-written field of "
                   "a fresh slab object"),
    AddressPattern("redzone-active", re.compile(r"cccccccc"), "out-of-bounds", 0.6,
                   "address {addr:#x} holds SLUB_RED_ACTIVE bytes (0xcc): read from the red "
                   "zone beyond a live object"),
    AddressPattern("redzone-inactive", re.compile(r"bbbbbbbb"), "use-after-free", 0.5,
                   "address {addr:#x} holds SLUB_RED_INACTIVE bytes (0xbb): the red zone of a "
                   "freed object"),
)  # fmt: skip


def classify_address(addr: int) -> tuple[BugClass, float, str] | None:
    """What a faulting address says by itself (class, confidence, why), or None."""
    for r in ADDRESS_RANGES:
        if r.low <= addr < r.high:
            return r.bug_class, r.confidence, r.reason.format(addr=addr)
    text = f"{addr:016x}"
    for p in ADDRESS_PATTERNS:
        if p.pattern.search(text):
            return p.bug_class, p.confidence, p.reason.format(addr=addr)
    return None


def is_canonical(addr: int) -> bool:
    """x86-64/arm64 48-bit canonical form: bits 63..47 all equal."""
    top = addr >> 47
    return top == 0 or top == (1 << 17) - 1


# Register dumps: x86 "RAX: 6b6b6b6b6b6b6b6b", arm64 "x0 : ...", riscv "a0 : ...".
_REGISTER = re.compile(r"(?<![\w:])([A-Za-z][A-Za-z0-9]{0,3}) ?: ?([0-9a-f]{16})\b")
_NOT_REGISTERS = frozenset(
    {"CR2", "CR0", "CR3", "CR4", "DR0", "DR1", "DR2", "DR3", "DR6", "DR7", "PKRU", "pc", "lr",
     "sp", "RIP", "RSP", "EFLAGS", "ORIG_RAX"}
)  # fmt: skip


# Every value classify_address gives a non-NULL class holds one of these (a cheap prefilter).
_POISON_HEX = re.compile(
    r"6b6b6b6b|5a5a5a5a|cccccccc|bbbbbbbb|dead000000000|00000000001001|00000000002002"
)


def register_evidence(lines: Lines) -> Decision | None:
    """A fault that names no address: a register holding poison or LIST_POISON is the likely
    bad pointer (the faulting instruction dereferenced it)."""
    text = lines.text if isinstance(lines, LineList) else "\n".join(lines)
    if not _POISON_HEX.search(text):
        return None
    for line in lines:
        if not _POISON_HEX.search(line):
            continue
        for m in _REGISTER.finditer(line):
            name, value = m.group(1), int(m.group(2), 16)
            if name in _NOT_REGISTERS or value < NULL_LIMIT:
                continue  # small values are counters and flags, not pointers
            guess = classify_address(value)
            if guess is not None and guess[0] != "null-deref":
                why = f"register {name}: {guess[2]} (the likely bad pointer; no address printed)"
                return Decision(guess[0], min(guess[1], 0.5), [line], why)
    return None


@lru_cache(maxsize=512)
def _multiline(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The pattern with ``^``/``$`` at every line: any match inside one line is then also a
    match in the joined text, so a miss there is a miss in every line."""
    return re.compile(pattern.pattern, pattern.flags | re.M)


def matching_lines(lines: Lines, pattern: re.Pattern[str], limit: int) -> list[str]:
    """Up to ``limit`` distinct lines in which ``pattern`` matches, in order, found by
    searching the joined text (one C-level scan) and checking each hit's own line."""
    text = lines.text if isinstance(lines, LineList) else "\n".join(lines)
    scan = _multiline(pattern)
    out: list[str] = []
    pos = 0
    while len(out) < limit:
        m = scan.search(text, pos)
        if m is None:
            break
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.start())
        end = len(text) if end < 0 else end
        line = text[start:end]
        if pattern.search(line) and line not in out:
            out.append(line)
        pos = end + 1
        if pos > len(text):
            break
    return out


def _first(lines: Lines, pattern: re.Pattern[str]) -> tuple[str, re.Match[str]] | None:
    text = lines.text if isinstance(lines, LineList) else "\n".join(lines)
    if not _multiline(pattern).search(text):
        return None  # a hit inside one line is a hit in the text: nothing is lost
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
        addr = int(found[1].group(1), 16)
        guess = classify_address(addr)
        if guess:
            return Decision(guess[0], guess[1], [found[0]], f"{kind}: {guess[2]}")
        regs = register_evidence(lines)
        if regs is not None:
            return regs._replace(evidence=[found[0], *regs.evidence])
        if not is_canonical(addr):
            why = f"{kind}: {addr:#x} is non-canonical, a corrupted pointer; its kind is unknown"
            return Decision("unknown", 0.4, [found[0]], why)
        return Decision("unknown", 0.4, [found[0]], f"{kind}: a wild kernel address, no pattern")
    hit = _first(lines, _KASAN_OLD_GPF)
    if hit:
        return Decision("null-deref", 0.6, [hit[0]], "kasan: GPF could be a NULL-ptr deref")
    if gpf:
        return register_evidence(lines)
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
