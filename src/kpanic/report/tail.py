"""A partial identity for the end of a crash report whose head was lost (a panic QR code's tail).

A drm_panic QR code carries only the newest kmsg lines that fit it: a long report loses its
header (``BUG: KASAN: ...``, ``WARNING: CPU: ...``), often its ``Call Trace:`` line too. What
is left still says a lot: sanitizer frames (``kasan_report``, ``kmsan_report``), the
"Allocated by task" / "Freed by task" stacks, the "buggy address belongs to" and shadow-memory
lines, lockdep's dependency chains and lock lists, kmemleak's backtrace, the registers and the
panic line. :func:`identify` turns that evidence into the title the full report would most
likely get, plus alternative titles for what the tail cannot tell (for example both access
types of a KASAN report, or the fault kinds a bare RIP line fits), so that the tail can join
the group of its full report.

Every rule is a row in :data:`KINDS` (evidence markers, title builder, reason); the first kind
whose evidence is present wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from kpanic.report import stackparams as sp
from kpanic.report.describe import skip_regexp
from kpanic.report.extractors import hang_frame, stall_frame
from kpanic.report.frames import parse_frame_line, rip_frame
from kpanic.report.model import Frame

# Lines that open a new stack section of a report; the section name says whose stack it is.
SECTION_MARKERS: tuple[tuple[str, str], ...] = (
    ("Allocated by task", "alloc"),
    ("Freed by task", "free"),
    ("Last potentially related work creation", "aux"),
    ("Second to last potentially related work creation", "aux"),
    ("Uninit was created at", "origin"),
    ("Uninit was stored to memory at", "store"),
    ("created at:", "origin"),  # KMSAN "Local variable x created at:"
    ("The buggy address belongs to", "meta"),
    ("Memory state around the buggy address", "meta"),
    ("stack backtrace:", "trace"),
    ("Call Trace:", "trace"),
    ("Call trace:", "trace"),
    ("Backtrace:", "trace"),
    ("backtrace (crc", "leak"),
    ("backtrace:", "leak"),
    ("NMI backtrace for cpu", "nmi"),
    ("Showing all locks held", "locks"),
    ("Kernel panic - not syncing", "panic"),
)
# A lockdep dependency-chain entry "-> #1 (&sb->s_type->i_mutex_key#10){++++}-{4:4}:".
_CHAIN_ENTRY = re.compile(r"^-> #[0-9]+ \(", re.ASCII)


@dataclass(slots=True)
class Section:
    """The frames printed after one marker line (``kind`` from :data:`SECTION_MARKERS`)."""

    kind: str
    frames: list[Frame] = field(default_factory=list)


@dataclass(slots=True)
class Evidence:
    """What a tail holds: its lines (prefixes stripped), stack sections and faulting frame."""

    lines: list[str]
    text: str
    sections: list[Section]
    rip: Frame | None

    def functions(self) -> set[str]:
        return {f.function for s in self.sections for f in s.frames}

    def section_frames(self, *kinds: str) -> list[Frame]:
        return [f for s in self.sections if s.kind in kinds for f in s.frames]


def collect(lines: list[str]) -> Evidence:
    """Split the tail's lines into stack sections (frames before any marker: kind "head")."""
    sections = [Section("head")]
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        kind = next((k for marker, k in SECTION_MARKERS if marker in line), None)
        if kind is None and _CHAIN_ENTRY.match(stripped):
            kind = "chain"
        if kind is not None:
            sections.append(Section(kind))
            continue
        frame = parse_frame_line(line)
        if frame is not None:
            sections[-1].frames.append(frame)
    text = "\n".join(lines)
    return Evidence(
        lines, text, [s for s in sections if s.frames or s.kind != "head"], rip_frame(text)
    )


@dataclass(slots=True)
class Identity:
    """The partial identity: title, alternatives, blamed frame and why it was chosen."""

    title: str
    alt_titles: list[str]
    frame: Frame | None
    reason: str


def _first(frames: list[Frame], skip: tuple[str, ...] = ()) -> Frame | None:
    """The first frame a title may name: reliable, not inlined, not on the skip lists."""
    rx = skip_regexp(skip)
    for f in frames:
        if f.unreliable or f.inline or f.function.startswith("0x"):
            continue
        if rx.search(f.function):
            continue
        return f
    return None


def title_name(function: str) -> str:
    """``func.part.8`` -> ``func`` and syscall wrappers stripped, as syzkaller's titles do."""
    if "::" in function or "<" in function:
        return function
    return sp.strip_frame(function.split(".", 1)[0] or function)


# ---- KASAN ------------------------------------------------------------------------------------

_KASAN_FRAMES = re.compile(
    r"^(?:__)?kasan_report|^kasan_check_range$|^__kasan_check_|^check_memory_region|^__asan_"
    r"|^kasan_end_report$|^__kasan_report",
    re.ASCII,
)
_KASAN_LINES = (
    "The buggy address belongs to", "The buggy address is located", "Memory state around the",
    "page dumped because: kasan", "KASAN: ",
)  # fmt: skip
_LOCATED = re.compile(
    r"The buggy address is located (?:-?[0-9]+ bytes )?(inside|to the right|to the left)"
    r"(?: of\s*(freed|allocated)?)?",
    re.ASCII,
)
_ACCESS_FRAMES = (
    (re.compile(r"^__asan_(?:report_)?load|^__kasan_check_read$|^instrument(?:_atomic)?_read$"),
     "Read"),
    (re.compile(r"^__asan_(?:report_)?store|^__kasan_check_write$"
                r"|^instrument(?:_atomic)?(?:_read)?_write$"), "Write"),
)  # fmt: skip
_SHADOW_ROW = re.compile(r"^>\s*[0-9a-f]+: ((?:[0-9a-f]{2} ?)+)$", re.ASCII)
# Shadow byte under the "^" marker -> KASAN bug type (mm/kasan/kasan.h poison values).
SHADOW_TYPES: dict[str, str] = {
    "fb": "slab-use-after-free",  # KASAN_SLAB_FREE
    "fc": "slab-out-of-bounds",  # KASAN_SLAB_REDZONE
    "fa": "slab-out-of-bounds",  # KASAN_PAGE_REDZONE (kmalloc_large)
    "ff": "use-after-free",  # KASAN_PAGE_FREE
    "f1": "stack-out-of-bounds",  # KASAN_STACK_LEFT
    "f2": "stack-out-of-bounds",  # KASAN_STACK_MID
    "f3": "stack-out-of-bounds",  # KASAN_STACK_RIGHT
    "f9": "global-out-of-bounds",  # KASAN_GLOBAL_REDZONE
    "f8": "vmalloc-out-of-bounds",  # KASAN_VMALLOC_INVALID
}
# KASAN's skip list for the title frame (kinds.py's KASAN row) besides the generic one.
KASAN_SKIP = ("kernel_fault", "tag_check", "mem_abort", "^el1_", "^el1h_")
KASAN_FREE_SKIP = ("slab_", "kfree", "vunmap", "vfree")


def _shadow_type(lines: list[str]) -> str | None:
    for i, line in enumerate(lines[:-1]):
        m = _SHADOW_ROW.match(line.strip())
        if m is None:
            continue
        caret = lines[i + 1].find("^")
        row = line[line.find(m.group(1), line.find(":")) :]
        col = caret - line.find(row) if caret != -1 else -1
        if col < 0:
            continue
        byte = row[col - col % 3 : col - col % 3 + 2]
        return SHADOW_TYPES.get(byte)
    return None


def _kasan_types(ev: Evidence) -> list[str]:
    """KASAN bug types the tail fits, the likeliest first."""
    text = ev.text
    slab = "belongs to the object at" in text or "belongs to the cache" in text
    m = _LOCATED.search(text)
    if m is not None:
        if m.group(1) == "inside" and m.group(2) != "allocated":
            # Kernels that say "inside of freed N-byte region" (6.3+) also title slab objects
            # "slab-use-after-free"; older ones say "inside of N-byte region", "use-after-free".
            if slab and m.group(2) == "freed":
                return ["slab-use-after-free", "use-after-free"]
            return ["use-after-free", "slab-use-after-free"] if slab else ["use-after-free"]
        if "belongs to the variable" in text:
            return ["global-out-of-bounds"]
        if "stack of task" in text or "belongs to stack" in text or "frame" in text:
            return ["stack-out-of-bounds"]
        if "vmalloc" in text:
            return ["vmalloc-out-of-bounds"]
        return ["slab-out-of-bounds", "out-of-bounds"] if slab else ["out-of-bounds"]
    shadow = _shadow_type(ev.lines)
    if shadow is not None:
        alt = {"slab-use-after-free": ["use-after-free"], "slab-out-of-bounds": ["out-of-bounds"]}
        return [shadow, *alt.get(shadow, [])]
    if any(s.kind == "free" for s in ev.sections):
        return ["slab-use-after-free", "use-after-free"]
    return ["slab-out-of-bounds", "slab-use-after-free", "out-of-bounds", "use-after-free"]


def _kasan(ev: Evidence) -> Identity | None:
    funcs = ev.functions()
    if not any(_KASAN_FRAMES.search(f) for f in funcs) and not any(
        marker in ev.text for marker in _KASAN_LINES
    ):
        return None
    access_frames = ev.section_frames("head", "trace")
    if "kasan_report_invalid_free" in funcs or "double-free" in ev.text:
        frame = _first(access_frames, KASAN_FREE_SKIP)
        name = title_name(frame.function) if frame else "corrupted"
        return Identity(
            f"KASAN: invalid-free in {name}",
            [f"invalid-free in {name}"],
            frame,
            "KASAN invalid-free: kasan_report_invalid_free frame or double-free line",
        )
    frame = _first(access_frames, KASAN_SKIP)
    name = title_name(frame.function) if frame else "corrupted"
    accesses = [a for rx, a in _ACCESS_FRAMES if any(rx.search(f.function) for f in access_frames)]
    if len(accesses) != 1:
        accesses = ["Read", "Write"]
    titles = [f"KASAN: {t} {a} in {name}" for t in _kasan_types(ev) for a in accesses]
    return Identity(
        titles[0],
        [*titles[1:], f"bad-access in {name}"],
        frame,
        "KASAN report tail: sanitizer frames or buggy-address lines",
    )


# ---- KMSAN ------------------------------------------------------------------------------------

_KMSAN_FRAMES = re.compile(r"^kmsan_|^__msan_|^kmsan_internal", re.ASCII)
KMSAN_SKIP = (
    "alloc_skb",
    "netlink_ack",
    "netlink_rcv_skb",
    "_encrypt$",
    "^(?:crypto|cipher|drbg|rng)_",
)


def _kmsan(ev: Evidence) -> Identity | None:
    if not any(s.kind in ("origin", "store") for s in ev.sections) and not any(
        _KMSAN_FRAMES.search(f) for f in ev.functions()
    ):
        return None
    what = "kernel-infoleak" if "Data copied to user address" in ev.text else "uninit-value"
    frame = _first(ev.section_frames("head", "trace"), KMSAN_SKIP)
    name = title_name(frame.function) if frame else "corrupted"
    return Identity(
        f"KMSAN: {what} in {name}",
        [f"bad-access in {name}"],
        frame,
        "KMSAN report tail: 'Uninit was created at' or kmsan frames",
    )


# ---- lockdep ----------------------------------------------------------------------------------

_LOCKDEP_LINES = (
    "the existing dependency chain", "Possible unsafe locking scenario", "*** DEADLOCK ***",
    "Chain exists of:", "other info that might help us debug this",
)  # fmt: skip
_LOCKDEP_REPORT = re.compile(
    r"^(?:print_circular_bug|check_noncircular|check_prev_add|check_prevs_add|validate_chain"
    r"|print_deadlock_bug|check_deadlock|print_usage_bug|mark_lock|valid_state|print_bad_irq"
    r"|check_irq_usage|mark_lock_irq|mark_usage)",
    re.ASCII,
)
LOCKDEP_SKIP = ("print_circular_bug", "check_noncircular", "check_prev", "validate_chain",
                "print_deadlock_bug", "check_deadlock", "print_usage_bug", "valid_state",
                "print_bad_irq", "check_irq_usage", "mark_usage", "_raw_", "rwsem", "percpu_down",
                "lock_sock_nested")  # fmt: skip


def _lockdep(ev: Evidence) -> Identity | None:
    funcs = ev.functions()
    if not any(m in ev.text for m in _LOCKDEP_LINES) and not any(
        _LOCKDEP_REPORT.match(f) for f in funcs
    ):
        return None
    trace = ev.section_frames("trace") or ev.section_frames("head")
    frame = _first(trace, LOCKDEP_SKIP)
    name = title_name(frame.function) if frame else "corrupted"
    if (
        "inconsistent" in ev.text
        and "usage" in ev.text
        or any(f.startswith(("print_usage_bug", "mark_lock_irq", "valid_state")) for f in funcs)
    ):
        return Identity(
            f"inconsistent lock state in {name}",
            [f"possible deadlock in {name}"],
            frame,
            "lockdep usage report: print_usage_bug/valid_state frames",
        )
    return Identity(
        f"possible deadlock in {name}",
        [f"inconsistent lock state in {name}"],
        frame,
        "lockdep report tail: dependency chain, scenario or lockdep frames",
    )


# ---- memory leak ------------------------------------------------------------------------------

LEAK_SKIP = ("kmemleak", "mmap", "kmem", "slab", "alloc", "create_object", "idr_get",
             "list_lru_init", "kasprintf", "kvasprintf", "pcpu_create", "strdup", "strndup",
             "memdup")  # fmt: skip


def _leak(ev: Evidence) -> Identity | None:
    leak = [s for s in ev.sections if s.kind == "leak"]
    if not leak or "unreferenced object" not in ev.text and 'comm "' not in ev.text:
        return None
    frame = _first(leak[0].frames, LEAK_SKIP)
    name = title_name(frame.function) if frame else "corrupted"
    return Identity(f"memory leak in {name}", [], frame, "kmemleak backtrace")


# ---- faults with only a RIP/PC line and a panic ------------------------------------------------

_PANIC_KIND = (
    ("panic_on_warn set", "WARNING in {}"),
    ("softlockup: hung tasks", "BUG: soft lockup in {}"),
    ("hung_task: blocked tasks", "INFO: task hung in {}"),
)
# What a fault whose header was lost can have been, when only its faulting IP survives.
# Every kind kinds.py blames on the faulting RIP/PC frame: a tail that kept only that frame
# (and the register dump) could be any of them.
FAULT_TITLES = (
    "general protection fault in {}", "BUG: unable to handle kernel NULL pointer dereference in {}",
    "BUG: unable to handle kernel paging request in {}", "kernel BUG in {}", "WARNING in {}",
    "Internal error in {}", "divide error in {}", "stack segment fault in {}",
    "invalid opcode in {}",
)  # fmt: skip


# A WARNING whose header was lost: the faulting function says which WARNING family it was
# (kinds.py titles these by the header's source file); the title names the first caller that
# the family's skip list lets through.
WARNING_FAMILIES: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = (
    (re.compile(r"^refcount_"), "WARNING: refcount bug in {}", ("refcount", "kobject_")),
    (re.compile(r"^(?:k.?malloc|krealloc|__kmalloc|kmalloc_)"), "WARNING: kmalloc bug in {}",
     ("kmalloc", "krealloc", "slab", "kmem")),
    (re.compile(r"^usercopy_warn"), "WARNING: bad usercopy in {}", ("usercopy", "__check")),
    (re.compile(r"^debug_print_object"), "WARNING: ODEBUG bug in {}",
     ("debug_", "rcu", "hrtimer_", "timer_", "work_", "percpu_", "vunmap", "vfree", "__free_",
      "debug_check", "kobject_")),
    (re.compile(r"^kobject_"), "WARNING: kobject bug in {}", ("kobject_",)),
    (re.compile(r"^(?:__lock_acquire|lock_release|check_flags|lockdep_|__lock_release)"),
     "WARNING: locking bug in {}", ("lock_sock", "release_sock")),
    # kinds.py: a WARNING in usb_submit_urb is titled by the driver function that submitted.
    (re.compile(r"^usb_submit_urb"), "WARNING in {}/usb_submit_urb",
     ("usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg",
      "usb_control_msg")),
)  # fmt: skip


def _warning(ev: Evidence) -> Identity:
    rip = ev.rip
    assert rip is not None
    frames = [rip, *ev.section_frames("head", "trace")]
    for pattern, fmt, skip in WARNING_FAMILIES:
        if pattern.match(rip.function):
            frame = _first(frames, skip) or rip
            name = title_name(frame.function)
            return Identity(
                fmt.format(name),
                [f"WARNING in {name}"],
                frame,
                f"panic_on_warn and a RIP in {rip.function}",
            )
    frame = rip if not skip_regexp(()).search(rip.function) else (_first(frames) or rip)
    name = title_name(frame.function)
    return Identity(f"WARNING in {name}", [], frame, "panic_on_warn set and the RIP line")


def _fault(ev: Evidence) -> Identity | None:
    rip = ev.rip
    if rip is not None and skip_regexp(()).search(rip.function):
        rip = _first(ev.section_frames("head", "trace"))  # RIP in memcpy & co: blame the caller
    if "panic_on_warn set" in ev.text and ev.rip is not None:
        return _warning(ev)
    for marker, _fmt in _PANIC_KIND:
        if marker in ev.text:
            return None
    if rip is None:
        return None
    name = title_name(rip.function)
    titles = [t.format(name) for t in FAULT_TITLES]
    return Identity(
        HEADLESS_TITLE % name, titles, rip, "only the faulting instruction (RIP/PC line) survived"
    )


# ---- stalls, soft lockups and hung tasks ------------------------------------------------------

_RCU_FRAMES = re.compile(
    r"^(?:rcu_dump_cpu_stacks|print_cpu_stall|check_cpu_stall|rcu_pending"
    r"|rcu_sched_clock_irq|print_other_cpu_stall)",
    re.ASCII,
)
_IRQ_ENTRY = re.compile(r"apic_timer_interrupt|el1h_64_irq|el1_irq", re.ASCII)


def _picked(
    frames: list[Frame], extractor: Callable[[list[str]], tuple[str, int]], skip: tuple[str, ...]
) -> tuple[str, Frame | None]:
    """syzkaller's order: skip generic frames, then the stall/hang extractor chooses.

    Returns the title name (the extractor may rename: hangs in synchronize_* are all
    "synchronize_rcu") and the frame it came from.
    """
    rx = skip_regexp(skip)
    kept = [f for f in frames if not f.unreliable and not f.inline and not rx.search(f.function)]
    name, idx = extractor([sp.strip_frame(f.function) for f in kept])
    if not name or idx < 0:
        return "corrupted", None
    return title_name(name), kept[idx]


def _stall(ev: Evidence) -> Identity | None:
    funcs = ev.functions()
    text = ev.text
    if "softlockup: hung tasks" in text or "watchdog_timer_fn" in funcs:
        frames = ([ev.rip] if ev.rip else []) + ev.section_frames("head", "trace")
        name, frame = _picked(frames, stall_frame, ())
        return Identity(
            f"BUG: soft lockup in {name}",
            [f"stall in {name}"],
            frame,
            "soft lockup: watchdog_timer_fn frame or softlockup panic",
        )
    if "kthread starved for" in text or any(_RCU_FRAMES.match(f) for f in funcs):
        frames = ev.section_frames("head", "trace")
        cut = next((i for i, f in enumerate(frames) if _IRQ_ENTRY.search(f.function)), None)
        frames = frames[cut + 1 :] if cut is not None else frames
        name, frame = _picked(frames, stall_frame, ("apic_timer_interrupt", "rcu"))
        return Identity(
            f"INFO: rcu detected stall in {name}",
            [f"stall in {name}"],
            frame,
            "RCU stall: rcu_dump_cpu_stacks/print_cpu_stall frames or kthread starved",
        )
    if "hung_task: blocked tasks" in text or "check_hung_uninterruptible_tasks" in funcs:
        first = next((s.frames for s in ev.sections if s.frames), [])
        name, frame = _picked(first, hang_frame, ())
        return Identity(
            f"INFO: task hung in {name}",
            [f"hang in {name}"],
            frame,
            "hung task: khungtaskd frames or hung_task panic",
        )
    return None


HEADLESS_TITLE = "corrupted report (start lost) in %s"
KINDS: tuple[tuple[str, Callable[[Evidence], Identity | None]], ...] = (
    ("kasan", _kasan),
    ("kmsan", _kmsan),
    ("lockdep", _lockdep),
    ("leak", _leak),
    ("stall", _stall),
    ("fault", _fault),
)


def identify(ev: Evidence) -> Identity | None:
    """The first kind whose evidence is in the tail, or None (the caller falls back)."""
    for _name, rule in KINDS:
        found = rule(ev)
        if found is not None:
            return found
    return None
