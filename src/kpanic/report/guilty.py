"""Which source file a symbolised report blames (syzkaller's extractGuiltyFile).

The first ``file.c:123`` in the report that is not generic infrastructure (headers, lib/, KASAN,
allocators, locking, scheduler, traps, ...) wins; a deeper path in the same directory further down
the stack then refines it (``drivers/usb/core`` -> ``drivers/usb/core/hub/x.c``). RCU stall
reports start the search at the interrupt entry, above which only the stall machinery lies.
"""

from __future__ import annotations

import posixpath
import re
from functools import lru_cache

IGNORED_FILES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.ASCII)
    for p in (
        r".*\.h", r"^lib/.*", r"^virt/lib/.*", r"^mm/kasan/.*", r"^mm/kmsan/.*",
        r"^kernel/kcov.c", r"^mm/sl.b.c", r"^mm/filemap.c", r"^mm/folio-compat.c",
        r"^mm/truncate.c", r"^mm/memory.c", r"^mm/percpu.*", r"^mm/vmalloc.c",
        r"^mm/page_alloc.c", r"^mm/mempool.c", r"^mm/util.c", r"^kernel/rcu/.*",
        r"^arch/.*/kernel/traps.c", r"^arch/.*/kernel/unwind.*.c", r"^arch/.*/mm/fault.c",
        r"^arch/.*/mm/physaddr.c", r"^arch/.*/kernel/stacktrace.c",
        r"^arch/.*/kernel/apic/apic.c", r"^arch/arm64/kernel/entry.*.c",
        r"^arch/arm64/kernel/process\.c", r"^kernel/locking/.*", r"^kernel/panic.c",
        r"^kernel/printk/printk.*.c", r"^kernel/softirq.c", r"^kernel/kthread.c",
        r"^kernel/sched/.*.c", r"^kernel/stacktrace.c", r"^kernel/time/timer.c",
        r"^kernel/workqueue.c", r"^net/core/dev.c", r"^net/core/sock.c", r"^net/core/skbuff.c",
        r"^fs/proc/generic.c",
        r"^trusty/",  # Trusty sources are not in the Linux tree.
        r"^drivers/usb/core/urb.c",  # a WARNING in urb.c is a driver bug
        r"^arch/.*/lib/crc.*",  # crashes here are the caller's
    )
)  # fmt: skip
# Lines naming where locks were taken or IRQs toggled describe context, not the bug.
_IGNORED_LINE = re.compile(
    r"(hardirqs|softirqs)\s+last\s+(enabled|disabled)|^Register r\d+ information"
    r"|^\s*#[0-9]+: .*, at: ",
    re.ASCII,
)
_DEEPER = re.compile(r"/[a-zA-Z0-9_\-./]+/[a-zA-Z0-9_\-]+\.(c|h)", re.ASCII)
_CANDIDATE = re.compile(r"[a-zA-Z0-9_\-]\.[ch]:[0-9]", re.ASCII)
_PATH_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./")
MAX_PATH = 1024
_STALL_ENTRIES = ("apic_timer_interrupt+0x", "el1h_64_irq+0x", "el1_irq+0x", "Exception stack")


def source_file(line: str) -> str | None:
    """The first ``path.c``/``path.h`` followed by ``:<line>`` on ``line``.

    Equivalent to ``([a-zA-Z0-9_\\-\\./]*[a-zA-Z0-9_\\-]+\\.(c|h)):[0-9]+`` but linear: that
    expression backtracks quadratically on long runs of path characters.
    """
    if ".c:" not in line and ".h:" not in line:
        return None
    m = _CANDIDATE.search(line)
    if m is None:
        return None
    end = m.start() + 3  # just past ".c"
    s = m.start()
    floor = max(0, s - MAX_PATH)
    while s > floor and line[s - 1] in _PATH_CHARS:
        s -= 1
    return line[s:end]


def clean_path(path: str) -> str:
    """Go's filepath.Clean."""
    if not path:
        return "."
    out = posixpath.normpath(path)
    return "/" + out.lstrip("/") if out.startswith("//") else out


def _dir(path: str) -> str:
    return clean_path(posixpath.dirname(path))


_ANY_IGNORED = re.compile("|".join(f"(?:{p.pattern})" for p in IGNORED_FILES), re.ASCII)


@lru_cache(maxsize=16384)
def _ignored_file(file: str) -> bool:
    """Whether any IGNORED_FILES pattern matches (one alternation, cached: files repeat)."""
    return _ANY_IGNORED.search(file) is not None


def _ignored(file: str, line: str) -> bool:
    return _ignored_file(file) or bool(_IGNORED_LINE.search(line))


def _guilty(report: str) -> str:
    guilty = ""
    lines = report.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        file = source_file(line)
        if file is None:
            continue
        if not guilty:
            # Better some file than none (else the report is mailed to nobody).
            guilty = file
        if _ignored(file, line):
            continue
        guilty = clean_path(file)
        break
    deepest = _dir(guilty)
    for line in lines[i:]:
        file = source_file(line)
        if file is None or _ignored(file, line):
            continue
        clean = clean_path(file)
        if clean.startswith(deepest) and _DEEPER.fullmatch(clean[len(deepest) :]):
            guilty = clean
            deepest = _dir(guilty)
    return guilty


def guilty_file(title: str, report: str) -> str | None:
    """The blamed source file of a (symbolised) report body, or None."""
    if title.startswith("INFO: rcu detected stall"):
        for entry in _STALL_ENTRIES:
            pos = report.find(entry)
            if pos != -1:
                file = _guilty(report[pos:])
                if file:
                    return file
    return _guilty(report) or None
