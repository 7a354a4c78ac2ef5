"""What a report whose head is lost still says: the crash kind of a QR tail.

A drm_panic QR code carries the newest lines of the log. A long report loses its header (the
``BUG: KASAN: ...`` line, the oops line, the Rust ``panicked at`` line), and the parser titles it
``corrupted report (start lost) in <function>``. The rest of the report still names its kind:
sanitizer frames (``kasan_report``, ``kmsan_report``), KASAN's "Freed by task" stack and
"buggy address" lines, lockdep's lock lists, Rust's panic frames, a faulting address in the
registers. ``TAIL_KINDS`` is that knowledge as data, one row per kind with the reason; the
first row that matches wins. The classifier takes the class from it and the signature rebuilds
the title the full report would have had (``KASAN: slab-use-after-free Read in lockref_get``),
with alternatives for what the tail cannot tell (the access type, the slab- prefix older
kernels do not print).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from kpanic.classify.evidence import LineList, invalid_access, matching_lines
from kpanic.classify.model import BugClass
from kpanic.classify.normalize import strip_compiler_suffix
from kpanic.report.model import CrashReport

MAX_TAIL_LINES = 600  # a tail longer than this is scanned in its first lines only
MAX_EVIDENCE = 4

#: Titles that say only "the start of this report is missing" (the parser's placeholder) or
#: only the final panic line; a report with one of them is rebuilt from its body.
PARTIAL_TITLE = re.compile(
    r"^(?:corrupted report \(start lost\)|corrupted report|kernel panic: (?:Oops|Fatal exception)"
    r"|Kernel panic - not syncing: (?:Oops|Fatal exception))"
)


class TailKind(NamedTuple):
    """The kind of a crash as read from the body of a report whose head is lost."""

    row: str  # id of the TAIL_KINDS row that decided
    family: str  # the title the full report has, without access type and function
    alt_families: tuple[str, ...]  # other families the full report may have
    access: tuple[str, ...]  # KASAN/KFENCE access types it may be ("Read", "Write"), or ()
    bug_class: BugClass
    confidence: float
    evidence: list[str]  # exact report lines that decided
    reason: str
    rebuild: bool = True  # False: the body tells the class, not the full report's title


class TailRow(NamedTuple):
    id: str
    frames: re.Pattern[str] | None  # matched against frame function names
    lines: re.Pattern[str] | None  # searched in report lines
    family: str
    bug_class: BugClass
    confidence: float
    reason: str
    # "kasan": memory kind and state from the KASAN body; "no-title": the class only (lockdep
    # titles name a function chosen from stacks a tail has lost: measured on the corpus, the
    # "-> #0" chain's first non-lock frame matches syzkaller's title in 8 of 29 deadlocks)
    refine: str | None = None
    requires: re.Pattern[str] | None = None  # a line that must also be there


_KASAN_FRAMES = re.compile(
    r"^(?:kasan_report\w*|__kasan_report|kasan_check_range|__kasan_check_\w+|kasan_check_\w+"
    r"|check_memory_region\w*|__asan_\w+|kasan_byte_accessible|kasan_report_invalid_free)$"
)
_KASAN_LINES = re.compile(
    r"The buggy address (?:belongs to|is located)|Memory state around the buggy address"
)

_TRAP_CODE = re.compile(r"Code: .*(?:<0f> 0b|\(d4210000\))")

TAIL_KINDS: tuple[TailRow, ...] = (
    TailRow(
        "kasan",
        _KASAN_FRAMES,
        _KASAN_LINES,
        "KASAN",
        "unknown",
        0.6,
        "KASAN's runtime frames or its 'buggy address' lines",
        "kasan",
    ),
    TailRow(
        "kmsan-infoleak",
        None,
        re.compile(r"Bytes \d+-\d+ of \d+ are uninitialized"),
        "KMSAN: kernel-infoleak",
        "uninit",
        0.9,
        "KMSAN's 'Bytes N-M of K are uninitialized' (an infoleak report)",
    ),
    TailRow(
        "kmsan",
        re.compile(r"^(?:kmsan_\w+|__msan_\w+|__kmsan_\w+)$"),
        re.compile(r"Uninit was (?:created|stored)"),
        "KMSAN: uninit-value",
        "uninit",
        0.9,
        "KMSAN's runtime frames or its 'Uninit was created/stored' stacks",
    ),
    TailRow(
        "kcsan",
        None,
        re.compile(r"Reported by Kernel Concurrency Sanitizer|value changed: 0x"),
        "KCSAN: data-race",
        "data-race",
        0.9,
        "KCSAN's 'Reported by Kernel Concurrency Sanitizer' / 'value changed' lines",
    ),
    TailRow(
        "kfence",
        re.compile(r"^(?:kfence_\w+|__kfence_\w+)$"),
        re.compile(r"kfence-#\d+"),
        "KFENCE",
        "unknown",
        0.5,
        "KFENCE's runtime frames or object lines",
    ),
    TailRow(
        "lockdep-deadlock",
        re.compile(
            r"^(?:print_circular_bug\w*|check_noncircular|print_deadlock_bug|check_deadlock)$"
        ),
        re.compile(
            r"\*\*\* DEADLOCK \*\*\*|Possible unsafe locking scenario|the existing dependency chain"
            r"|which lock already depends on the new lock"
        ),
        "possible deadlock",
        "deadlock",
        0.8,
        "lockdep's lock lists ('*** DEADLOCK ***', 'Possible unsafe locking scenario') or its "
        "circular-dependency printer frames",
        "no-title",  # which function syzkaller names is not in a tail's frames (see below)
    ),
    TailRow(
        "rust-panic",
        re.compile(
            r"^(?:rust_begin_unwind|rust_panic|rust_helper_BUG|core::panicking::\w+(?:::\w+)*"
            r"|core::option::\w+_failed|core::result::unwrap_failed)$"
        ),
        re.compile(r"rust_kernel: panicked at|panicked at "),
        "Rust panic",
        "rust-panic",
        0.9,
        "Rust's panic frames (rust_begin_unwind, core::panicking::*) or its 'panicked at' line",
    ),
    TailRow(
        "kmemleak",
        None,
        re.compile(r"unreferenced object 0x[0-9a-f]+ \(size \d+\)"),
        "memory leak",
        "leak",
        0.9,
        "kmemleak's 'unreferenced object' record",
    ),
    TailRow(
        "hung-task",
        None,
        re.compile(r"blocked for more than \d+ seconds"),
        "INFO: task hung",
        "hang",
        0.9,
        "the hung-task detector's 'blocked for more than N seconds'",
    ),
    TailRow(
        "rcu-stall",
        None,
        re.compile(r"rcu: INFO: rcu_\w+ (?:self-)?detected stalls?|rcu_\w+ kthread starved"),
        "INFO: rcu detected stall",
        "hang",
        0.9,
        "RCU's stall report lines",
    ),
    TailRow(
        "soft-lockup",
        None,
        re.compile(r"soft lockup - CPU#\d+ stuck"),
        "BUG: soft lockup",
        "hang",
        0.9,
        "the soft-lockup watchdog line",
    ),
    TailRow(
        "warning",
        re.compile(r"^(?:__warn|warn_slowpath\w*|__warn_printk)$"),
        None,
        "WARNING",
        "assertion",
        0.6,
        "WARN() machinery frames (__warn, warn_slowpath*) in the trace",
    ),
    TailRow(
        "trap-oops",
        None,
        _TRAP_CODE,
        "kernel BUG",
        "assertion",
        0.6,
        "the faulting instruction is a BUG trap (x86 ud2 '<0f> 0b', arm64 brk 'd4210000') and "
        "an oops followed (die()'s 'RIP  [<...>]' trailer, 'Fatal exception', 'Oops - BUG')",
        None,
        re.compile(r"^\S*\s*(?:\[[^]]*\]\s*)*RIP  \[<|Fatal exception|Oops - BUG"),
    ),
    TailRow(
        "trap-warn",
        None,
        _TRAP_CODE,
        "WARNING",
        "assertion",
        0.4,
        "the faulting instruction is a BUG/WARN trap (ud2, brk) and no oops followed: a WARN()",
    ),
)

# KASAN's body, after its header is lost: where the object lives and what state it is in.
# (pattern searched in the report text with line breaks squeezed, region prefix of the title)
KASAN_REGIONS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"which belongs to the cache"), "slab-", "'belongs to the cache': a slab object"),
    (re.compile(r"belongs to the variable"), "global-", "'belongs to the variable': a global"),
    (re.compile(r"(?:located in|belongs to) stack of task"), "stack-", "a task's stack"),
    (re.compile(r"belongs to (?:a|the) vmalloc|virtual mapping at"), "vmalloc-", "vmalloc area"),
)
KASAN_STATES: tuple[tuple[re.Pattern[str], str, BugClass, str], ...] = (
    (re.compile(r"inside of\b.{0,80}?\bfreed \d+-byte region"), "use-after-free", "use-after-free",
     "'located inside of freed region'"),
    (re.compile(r"bytes to the (?:right|left) of\b.{0,80}?\b\d+-byte region"),
     "out-of-bounds", "out-of-bounds", "'located to the right/left of region'"),
    (re.compile(r"\bFreed by task \d+"), "use-after-free", "use-after-free",
     "a 'Freed by task' stack"),
)  # fmt: skip
# Generic KASAN's shadow byte under the "^" of "Memory state around the buggy address" names
# the memory's state (mm/kasan/kasan.h): (byte, region prefix, state, class, why)
KASAN_SHADOW: tuple[tuple[str, str, str, BugClass, str], ...] = (
    ("fb", "slab-", "use-after-free", "use-after-free", "shadow byte fb: a freed slab object"),
    ("fa", "slab-", "use-after-free", "use-after-free", "shadow byte fa: a freed slab object"),
    ("fc", "slab-", "out-of-bounds", "out-of-bounds", "shadow byte fc: a slab red zone"),
    ("f9", "global-", "out-of-bounds", "out-of-bounds", "shadow byte f9: a global's red zone"),
    ("f1", "stack-", "out-of-bounds", "out-of-bounds", "shadow byte f1: a stack left red zone"),
    ("f2", "stack-", "out-of-bounds", "out-of-bounds", "shadow byte f2: a stack mid red zone"),
    ("f3", "stack-", "out-of-bounds", "out-of-bounds", "shadow byte f3: a stack right red zone"),
    ("ff", "", "use-after-free", "use-after-free", "shadow byte ff: a freed page"),
    ("fe", "slab-", "out-of-bounds", "out-of-bounds", "shadow byte fe: a kmalloc red zone"),
)  # fmt: skip
_SHADOW_ROW = re.compile(r">[0-9a-f]{8,16}: ")
_CARET = re.compile(r"^[^^]*\^\s*$")


def shadow_byte(lines: LineList) -> str | None:
    """The shadow byte KASAN's caret points at, or None."""
    for i, line in enumerate(lines[:-1]):
        if _SHADOW_ROW.search(line) and _CARET.match(lines[i + 1]):
            col = lines[i + 1].index("^")
            byte = line[col : col + 2]
            return byte if re.fullmatch(r"[0-9a-f]{2}", byte) else None
    return None


# KASAN's check functions name the access type; kasan_check_range takes it as an argument.
KASAN_ACCESS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^__asan_(?:report_)?load\d*\w*$|^(?:__)?kasan_check_(?:read|byte)$"), "Read"),
    (re.compile(r"^__asan_(?:report_)?store\d*\w*$|^(?:__)?kasan_check_write$"), "Write"),
)
_WS = re.compile(r"\s+")
KASAN_FAMILIES = tuple(
    f"KASAN: {kind}"
    for kind in (
        "slab-use-after-free", "use-after-free", "slab-out-of-bounds", "out-of-bounds",
        "global-out-of-bounds", "stack-out-of-bounds", "vmalloc-out-of-bounds", "double-free",
        "invalid-free", "wild-memory-access", "null-ptr-deref", "user-memory-access",
    )
)  # fmt: skip


def is_partial(report: CrashReport) -> bool:
    """A report whose title does not say what crashed because the head of the log is lost."""
    return bool(PARTIAL_TITLE.match(report.title or ""))


def _names(report: CrashReport) -> list[str]:
    return [strip_compiler_suffix(f.function or f.raw_function) for f in report.frames]


def _first_line(lines: LineList, pattern: re.Pattern[str]) -> str | None:
    hits = matching_lines(lines, pattern, 1)
    return hits[0] if hits else None


def _kasan(lines: LineList, names: list[str], ev: list[str]) -> TailKind:
    text = _WS.sub(" ", " ".join(lines))  # a continuation line may carry any prefix
    region, region_why = "", "no region line"
    for pattern, prefix, why in KASAN_REGIONS:
        if pattern.search(text):
            region, region_why = prefix, why
            break
    state, state_why = "", "no state line"
    bug_class: BugClass = "unknown"
    for pattern, name, cls, why in KASAN_STATES[:2]:  # where the address lies: decisive
        if pattern.search(text):
            state, bug_class, state_why = name, cls, why
            break
    if not state:
        byte = shadow_byte(lines) if "Memory state" in text else None
        row = next((r for r in KASAN_SHADOW if r[0] == byte), None)
        if row is not None:
            region = region or row[1]
            state, bug_class, state_why = row[2], row[3], row[4]
    if not state and KASAN_STATES[2][0].search(text):  # a free stack alone: weaker
        pattern, state, bug_class, state_why = KASAN_STATES[2]
    access: tuple[str, ...] = ("Read", "Write")
    for name in names:
        hit = next((a for p, a in KASAN_ACCESS if p.match(name)), None)
        if hit:
            access = (hit,)
            break
    if not state:
        # the kind is lost with the header: every KASAN kind is an alternative, so the report
        # joins the one group of this function and access type that exists, if only one does
        return TailKind("kasan", "KASAN: kind unknown", KASAN_FAMILIES, access, "unknown", 0.4,
                        ev, "KASAN, kind lost with the header")  # fmt: skip
    family = f"KASAN: {region}{state}"
    alts: tuple[str, ...] = ()
    if region == "slab-" and state == "use-after-free":
        alts = ("KASAN: use-after-free",)  # kernels before 6.5 print no slab- prefix for it
    reason = f"KASAN {state} ({state_why}; {region_why})"
    return TailKind("kasan", family, alts, access, bug_class, 0.8, ev, reason)


def infer_tail(report: CrashReport) -> TailKind | None:
    """The crash kind of a report whose head is lost, from its body; None when nothing tells."""
    lines = LineList(report.text.splitlines()[:MAX_TAIL_LINES])
    names = _names(report)
    for row in TAIL_KINDS:
        ev: list[str] = []
        frame = None
        if row.frames is not None:
            frame = next((n for n in names if row.frames.match(n)), None)
        line = _first_line(lines, row.lines) if row.lines is not None else None
        if frame is None and line is None:
            continue
        if row.requires is not None and _first_line(lines, row.requires) is None:
            continue
        if line is not None:
            ev.append(line)
        if frame is not None:
            ev.extend(x for x in lines if frame in x and x not in ev)
        ev = ev[:MAX_EVIDENCE]
        if row.refine == "kasan":
            return _kasan(lines, names, ev)
        return TailKind(
            row.id, row.family, (), (), row.bug_class, row.confidence, ev, row.reason,
            row.refine != "no-title",
        )  # fmt: skip
    fault = invalid_access(lines)
    if fault is not None and fault.bug_class != "unknown":
        null = fault.bug_class == "null-deref"
        family = (
            "BUG: unable to handle kernel NULL pointer dereference"
            if null
            else "BUG: unable to handle kernel paging request"
        )
        alts = () if null else ("general protection fault",)
        return TailKind(
            "fault-address", family, alts, (), fault.bug_class, min(fault.confidence, 0.7),
            fault.evidence, f"the faulting address: {fault.why}",
        )  # fmt: skip
    return None
