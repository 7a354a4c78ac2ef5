"""Bug-class rules as data: (title/type pattern -> class), tried in order, first match wins.

Each rule names the report lines that count as its evidence (``lines``) and, for the reports
whose title alone is ambiguous (a general protection fault, a page fault, an ODEBUG warning),
an evidence resolver (``resolve``, see :mod:`kpanic.classify.evidence`) that reads the report
text and may pick another class with a confidence below 1.

Titles are syzkaller's (``KASAN: slab-use-after-free Read in foo``); ``type`` is syzkaller's
crash type (``KASAN-USE-AFTER-FREE-READ``), used only when no title rule matched.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from kpanic.classify.model import BugClass


class ClassRule(NamedTuple):
    id: str
    title: str | None  # regex searched in the title
    type: str | None  # regex matched (re.match) against the crash type
    bug_class: BugClass
    confidence: float
    lines: str | None = None  # regex: report lines matching it are the evidence
    resolve: str | None = None  # evidence resolver for ambiguous reports


_KASAN_LINES = r"BUG: KASAN: |(Read|Write) of size \d+ at addr|^\S*\s*(\[[^]]*\]\s*)*Freed by task"
_KASAN_OOB_LINES = r"BUG: KASAN: |(Read|Write) of size \d+ at addr"
_FAULT_LINES = (
    r"general protection fault|unable to handle|Unable to handle|page fault for address"
    r"|paging request|KASAN: (null-ptr-deref|maybe wild-memory-access|probably user-memory-access)"
    r"|Unhandled fault|Internal error"
)

CLASS_RULES: tuple[ClassRule, ...] = (
    # --- Rust panics: the code is Rust already -------------------------------------------------
    ClassRule(
        "rust-panic",
        r"^(attempt to .* with overflow|index out of bounds|called `(Option|Result)::unwrap\(\)`"
        r"|rust_kernel: panicked|panicked at)",
        None,
        "rust-panic",
        1.0,
        r"rust_kernel: panicked at|panicked at |attempt to .* with overflow|index out of bounds",
    ),
    # --- KASAN -----------------------------------------------------------------------------------
    ClassRule(
        "kasan-uaf", r"^KASAN: (slab-)?use-after-free", None, "use-after-free", 1.0, _KASAN_LINES
    ),
    ClassRule(
        "kasan-invalid-free",
        r"^KASAN: (double-free|invalid-free)",
        None,
        "invalid-free",
        1.0,
        r"BUG: KASAN: (double-free|invalid-free)|KASAN: double-free or invalid-free",
    ),
    ClassRule(
        "kasan-null", r"^KASAN: null-ptr-deref", None, "null-deref", 1.0, r"KASAN: null-ptr-deref"
    ),
    ClassRule(
        "kasan-oob",
        r"^KASAN: ([a-z]+-)?out-of-bounds",
        None,
        "out-of-bounds",
        1.0,
        _KASAN_OOB_LINES,
    ),
    ClassRule(
        "kasan-wild",
        r"^KASAN: (wild-memory-access|user-memory-access)",
        None,
        "unknown",
        0.4,
        r"KASAN: (wild|user)-memory-access|(Read|Write) of size \d+ at addr",
        "invalid_access",
    ),
    ClassRule(
        "kasan-tag-mismatch",
        r"^KASAN: invalid-access",
        None,
        "out-of-bounds",
        0.5,
        _KASAN_LINES,
        "tag_mismatch",
    ),
    # --- KFENCE ----------------------------------------------------------------------------------
    ClassRule("kfence-uaf", r"^KFENCE: use-after-free", None, "use-after-free", 1.0, r"KFENCE: "),
    ClassRule("kfence-oob", r"^KFENCE: out-of-bounds", None, "out-of-bounds", 1.0, r"KFENCE: "),
    ClassRule(
        "kfence-invalid-free", r"^KFENCE: invalid free", None, "invalid-free", 1.0, r"KFENCE: "
    ),
    # A write into the canary bytes around an object, found when the object is freed.
    ClassRule(
        "kfence-corruption", r"^KFENCE: memory corruption", None, "out-of-bounds", 0.8, r"KFENCE: "
    ),
    ClassRule(
        "kfence-invalid-access",
        r"^KFENCE: invalid (read|write)",
        None,
        "unknown",
        0.4,
        r"KFENCE: |Invalid (read|write) at",
        "invalid_access",
    ),
    # --- KMSAN / KCSAN / kmemleak ----------------------------------------------------------------
    ClassRule(
        "kmsan",
        r"^KMSAN: (uninit-value|kernel-infoleak|kernel-usb-infoleak|.*infoleak)",
        None,
        "uninit",
        1.0,
        r"BUG: KMSAN: |Uninit was (created|stored)|Bytes \d+-\d+ of \d+ are uninitialized",
    ),
    ClassRule("kcsan", r"^KCSAN: ", None, "data-race", 1.0, r"BUG: KCSAN: |(read|write).* to 0x"),
    ClassRule(
        "kmemleak",
        r"^memory leak in",
        None,
        "leak",
        1.0,
        r"unreferenced object|BUG: memory leak",
    ),
    # --- UBSAN -----------------------------------------------------------------------------------
    ClassRule(
        "ubsan-index",
        r"^UBSAN: array-index-out-of-bounds",
        None,
        "out-of-bounds",
        1.0,
        r"UBSAN: array-index-out-of-bounds|index -?\d+ is out of range",
    ),
    ClassRule(
        "ubsan-arith",
        r"^UBSAN: (shift-out-of-bounds|signed-integer-overflow|integer-overflow|divide-by-zero)",
        None,
        "arithmetic",
        1.0,
        r"UBSAN: |shift exponent|integer overflow|division",
    ),
    ClassRule(
        "ubsan-null", r"^UBSAN: null-ptr-deref", None, "null-deref", 1.0, r"UBSAN: |null pointer"
    ),
    ClassRule(
        "ubsan-invalid-load",
        r"^UBSAN: invalid-load",
        None,
        "uninit",
        0.6,
        r"UBSAN: |is not a valid value",
    ),
    ClassRule(
        "ubsan-object-size",
        r"^UBSAN: object-size-mismatch",
        None,
        "out-of-bounds",
        0.7,
        r"UBSAN: |insufficient space",
    ),
    ClassRule("ubsan-other", r"^UBSAN: ", None, "unknown", 0.3, r"UBSAN: ", "ubsan_text"),
    # --- hardening checks that catch overruns ----------------------------------------------------
    ClassRule(
        "fortify",
        r"^(detected buffer overflow|fortify|BUG: bad usercopy|WARNING: bad usercopy"
        r"|kernel panic: stack is corrupted in|kernel BUG: .*fortify)",
        None,
        "out-of-bounds",
        0.9,
        r"buffer overflow|usercopy|stack is corrupted|stack-protector|fortify",
    ),
    # Stack exhaustion (deep recursion): no class in the vocabulary fits; not memory-unsafe code.
    ClassRule(
        "stack-exhaustion",
        r"^(BUG: stack guard page was hit|kernel stack overflow|kernel panic: corrupted stack end"
        r"|PANIC: double fault)",
        None,
        "unknown",
        0.5,
        r"stack guard page|stack overflow|corrupted stack end|double fault",
    ),
    # --- slab debugging (SLUB_DEBUG) -------------------------------------------------------------
    ClassRule(
        "slub-double-free",
        r"^BUG: Object already free",
        None,
        "invalid-free",
        0.9,
        r"Object already free",
    ),
    ClassRule(
        "slub-debug",
        r"^INFO: (Allocated|Freed) in",
        None,
        "unknown",
        0.3,
        r"Poison overwritten|Redzone overwritten|Object already free|INFO: (Allocated|Freed) in",
        "slub_debug",
    ),
    # --- NULL pointers and other faults ----------------------------------------------------------
    ClassRule(
        "null-deref",
        r"NULL pointer dereference",
        None,
        "null-deref",
        0.95,
        r"NULL pointer dereference|CR2: |page fault for address|paging request",
        "invalid_access",
    ),
    ClassRule(
        "invalid-access",
        r"^(general protection fault|BUG: unable to handle|Unable to handle|unable to handle"
        r"|stack segment fault|Internal error|Unhandled fault|kernel panic: Fatal exception"
        r"|Kernel panic - not syncing: Fatal exception|Oops|INFO: corrupted)",
        None,
        "unknown",
        0.3,
        _FAULT_LINES,
        "invalid_access",
    ),
    ClassRule(
        "alignment-trap", r"^Alignment trap", None, "unknown", 0.3, r"Alignment trap|alignment"
    ),
    # --- refcounts (before the generic WARNING and the use-after-free phrasing in VFS titles) ----
    ClassRule(
        "refcount",
        r"^(WARNING: refcount bug|refcount_t: )",
        None,
        "refcount",
        1.0,
        r"refcount_t: ",
    ),
    ClassRule(
        "netdev-refcount-leak",
        r"^unregister_netdevice: waiting for .* to become free",
        None,
        "refcount",
        0.8,
        r"unregister_netdevice: waiting for",
    ),
    ClassRule(
        "vfs-refcount",
        r"^(VFS: Busy inodes after unmount|VFS: Close: file count is zero"
        r"|BUG: Dentry .*still in use)",
        None,
        "refcount",
        0.7,
        r"VFS: |Dentry .*still in use",
    ),
    # --- locking: deadlocks first, then misuse ---------------------------------------------------
    ClassRule(
        "deadlock",
        r"^(possible deadlock|WARNING: possible circular locking dependency"
        r"|WARNING: possible recursive locking|inconsistent lock state|WARNING: inconsistent lock"
        r"|BUG: spinlock recursion|BUG: spinlock lockup suspected|WARNING: possible irq lock"
        r"|possible (irq|circular|recursive))",
        None,
        "deadlock",
        0.9,
        r"possible (circular|recursive)? ?locking|deadlock|inconsistent lock state"
        r"|spinlock (recursion|lockup)|irq lock inversion",
    ),
    ClassRule(
        "atomic-sleep",
        r"^(BUG: sleeping function called from invalid context|BUG: scheduling while atomic"
        r"|BUG: using .* in preemptible|BUG: workqueue leaked lock or atomic)",
        None,
        "lock-misuse",
        1.0,
        r"sleeping function called|scheduling while atomic|in preemptible|leaked lock or atomic",
    ),
    ClassRule(
        "lock-misuse",
        r"^(BUG|WARNING): (bad unlock balance|held lock freed|lock held when returning to user"
        r"|still has locks held|nested lock was not taken|spinlock already unlocked"
        r"|spinlock bad magic|rwlock bad magic|spinlock wrong owner|locking bug"
        r"|suspicious RCU usage|lock held)|^INFO: (trying to register non-static key"
        r"|suspicious RCU usage)|^(WARNING|BUG): .*lock.* bug",
        None,
        "lock-misuse",
        0.9,
        r"bad unlock balance|held lock freed|lock held when returning|still has locks held"
        r"|nested lock|already unlocked|bad magic|DEBUG_LOCKS_WARN_ON|suspicious RCU usage"
        r"|non-static key|locking bug",
    ),
    # --- hangs -----------------------------------------------------------------------------------
    ClassRule(
        "hang",
        r"^(INFO: task hung|INFO: task can't die|INFO: rcu (detected|.*) stall|BUG: soft lockup"
        r"|watchdog: BUG: soft lockup|BUG: workqueue lockup|kernel panic: hung_task"
        r"|Watchdog detected hard LOCKUP|INFO: rcu_(sched|preempt|bh) (self-)?detected stall"
        r"|BUG: hard lockup|NMI watchdog: .*lockup|INFO: NMI handler)",
        None,
        "hang",
        1.0,
        r"blocked for more than|rcu.*detected stall|soft lockup|hard LOCKUP|hung_task"
        r"|workqueue lockup|task can't die",
    ),
    # --- arithmetic ------------------------------------------------------------------------------
    ClassRule("divide-error", r"^divide error", None, "arithmetic", 1.0, r"divide error"),
    # --- ODEBUG: freeing an object that is still armed is a use-after-free in waiting ------------
    ClassRule(
        "odebug",
        r"^WARNING: ODEBUG bug",
        None,
        "assertion",
        0.6,
        r"ODEBUG: ",
        "odebug",
    ),
    # --- assertions and consistency checks -------------------------------------------------------
    ClassRule(
        "assertion",
        r"^(kernel BUG|BUG: corrupted list|list_(add|del) corruption|BUG: Bad page (state|map)"
        r"|BUG: Bad rss-counter|WARNING|BUG: MAX_LOCK|BUG: MAX_STACK_TRACE_ENTRIES"
        r"|kernel panic: panic_on_warn|trusty: ASSERT FAILED)",
        None,
        "assertion",
        0.9,
        r"kernel BUG at|WARNING: CPU: \d+ PID: \d+ at|list_(add|del) corruption"
        r"|Bad page (state|map)|Bad rss-counter|ASSERT FAILED|panic_on_warn",
    ),
    # --- syzkaller's crash types, when the title matched nothing above ---------------------------
    ClassRule("type-kasan-uaf", None, r"KASAN-USE-AFTER-FREE", "use-after-free", 0.9, _KASAN_LINES),
    ClassRule("type-kasan-free", None, r"(KASAN|KFENCE)-INVALID-FREE", "invalid-free", 0.9),
    ClassRule("type-kasan-null", None, r"KASAN-NULL", "null-deref", 0.9),
    ClassRule("type-kfence-uaf", None, r"KFENCE-USE-AFTER-FREE", "use-after-free", 0.9),
    ClassRule("type-kmsan", None, r"KMSAN-", "uninit", 0.9),
    ClassRule("type-kcsan", None, r"KCSAN-", "data-race", 0.9),
    ClassRule("type-leak", None, r"LEAK$", "leak", 0.9),
    ClassRule("type-null", None, r"NULL-POINTER-DEREFERENCE", "null-deref", 0.9),
    ClassRule("type-refcount", None, r"REFCOUNT_WARNING", "refcount", 0.9),
    ClassRule("type-atomic-sleep", None, r"ATOMIC_SLEEP", "lock-misuse", 0.9),
    ClassRule("type-hang", None, r"HANG$", "hang", 0.9),
    ClassRule("type-lockdep", None, r"LOCKDEP$", "lock-misuse", 0.6),
    ClassRule("type-warning", None, r"(WARNING|BUG)$", "assertion", 0.6),
    ClassRule("type-ubsan", None, r"(MEMORY_SAFETY_)?UBSAN$", "unknown", 0.3, None, "ubsan_text"),
    ClassRule(
        "type-memory-safety", None, r"MEMORY_SAFETY_BUG", "unknown", 0.3, None, "invalid_access"
    ),
)

_COMPILED: list[tuple[ClassRule, re.Pattern[str] | None, re.Pattern[str] | None]] = [
    (r, re.compile(r.title) if r.title else None, re.compile(r.type) if r.type else None)
    for r in CLASS_RULES
]


@lru_cache(maxsize=4096)
def match_rule(title: str, crash_type: str) -> ClassRule | None:
    """The first rule whose title pattern (or, for type rules, type pattern) matches."""
    for rule, title_re, type_re in _COMPILED:
        if title_re is not None and title_re.search(title):
            return rule
        if title_re is None and type_re is not None and type_re.match(crash_type or ""):
            return rule
    return None


class ClassOverride(NamedTuple):
    """A report line that says more than its title: when the decided class is one of
    ``applies_to`` and a line matches ``lines``, the class becomes ``bug_class``."""

    id: str
    applies_to: frozenset[str]
    lines: re.Pattern[str]
    bug_class: BugClass
    confidence: float
    reason: str
    needles: tuple[str, ...] = ()  # plain substrings, one of which any match contains


CLASS_OVERRIDES: tuple[ClassOverride, ...] = (
    ClassOverride(
        "rust-bug-frames",
        frozenset({"assertion", "unknown"}),
        re.compile(
            r"\brust_begin_unwind\b|\bcore::panicking::|_RNvNtCs\w+_4core9panicking"
            r"|rust_kernel: panicked at"
        ),
        "rust-panic",
        0.9,
        "the BUG is raised by Rust's panic handler (rust_begin_unwind, core::panicking): a Rust "
        "panic (rust_helper_BUG alone is not enough: Rust code may call BUG() itself)",
        ("rust_begin_unwind", "core::panicking::", "4core9panicking", "rust_kernel: panicked at"),
    ),
    ClassOverride(
        "fortify-warning",
        frozenset({"assertion", "unknown"}),
        re.compile(r"detected field-spanning write|detected buffer overflow|: detected .*overflow"),
        "out-of-bounds",
        0.8,
        "FORTIFY_SOURCE's 'detected field-spanning write' / 'buffer overflow' line: a write "
        "beyond the destination object",
        ("detected ",),
    ),
)
