"""Title normalisation and the title -> crash type table (syzkaller's report.go / title_to_type.go).

Titles are the key duplicates are grouped by, so everything run-specific is replaced: executor
process numbers, addresses, IPs, line numbers, offsets, CPU and other numbers.
"""

from __future__ import annotations

import re
from functools import lru_cache

_REPLACEMENTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"syz-executor\.?[0-9]+((/|:)[0-9]+)?", re.ASCII), "syz-executor"),
    (re.compile(r"syzkaller[0-9]+((/|:)[0-9]+)?", re.ASCII), "syzkaller"),
    (re.compile(r"([^a-zA-Z0-9])(?:0x)?[0-9a-f]{6,}", re.ASCII), r"\1ADDR"),
    (re.compile(r"([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})", re.ASCII), "IP"),
    (re.compile(r"(\.\w+)(:[0-9]+)+", re.ASCII), r"\1:LINE"),
    (re.compile(r"([a-zA-Z][a-zA-Z0-9_.]+)\+0x[0-9a-z]+/0x[0-9a-z]+", re.ASCII), r"\1"),
    (re.compile(r"CPU#[0-9]+", re.ASCII), "CPU"),
    (re.compile(r"(\W)(\d+)(\W|$)", re.ASCII), r"\1NUM\3"),
    (re.compile(r"(\d+){7,}", re.ASCII), "NUM"),
)

MAX_TITLE_LEN = 120


def _replace_all(pattern: re.Pattern[str], repl: str, text: str) -> str:
    # Go's ReplaceAllString; Python's "$" also matches before a final "\n", Go's does not, and
    # titles never contain a newline, so the two agree here.
    return pattern.sub(repl, text)


@lru_cache(maxsize=4096)
def normalize_title(title: str) -> str:
    """Apply the replacement table (each rule until a fixed point), then sanitise."""
    for pattern, repl in _REPLACEMENTS:
        while True:
            new = _replace_all(pattern, repl, title)
            if new == title:
                break
            title = new
    return sanitize_title(title)


def sanitize_title(title: str) -> str:
    """Tabs to spaces, drop non-printable bytes, squeeze spaces, cut to 120 bytes, trim."""
    raw = title.encode("utf-8", "surrogateescape")
    out = bytearray()
    prev = 0x20
    for ch in raw[:MAX_TITLE_LEN]:
        if ch == 0x09:
            ch = 0x20
        elif ch < 0x20 or ch >= 0x7F:
            continue
        if ch == 0x20 and prev == 0x20:
            continue
        out.append(ch)
        prev = ch
    return out.decode("ascii").strip()


# Prefix -> type; the first row with a matching prefix wins (order matters).
TITLE_TO_TYPE: tuple[tuple[tuple[str, ...], str], ...] = (
    (("KFENCE: use-after-free write",), "KFENCE-USE-AFTER-FREE-WRITE"),
    (("KFENCE: use-after-free read", "KFENCE: use-after-free"), "KFENCE-USE-AFTER-FREE-READ"),
    (("KFENCE: invalid write", "KFENCE: out-of-bounds write"), "KFENCE-WRITE"),
    (("KFENCE: invalid read", "KFENCE: out-of-bounds read", "KFENCE: out-of-bounds"),
     "KFENCE-READ"),
    (("KFENCE: memory corruption",), "KFENCE-MEMORY-CORRUPTION"),
    (("KFENCE: invalid free",), "KFENCE-INVALID-FREE"),
    (("KMSAN: uninit-value",), "KMSAN-UNINIT-VALUE"),
    (("KMSAN: kernel-infoleak-after-free", "KMSAN: kernel-usb-infoleak-after-free",
      "KMSAN: use-after-free"), "KMSAN-USE-AFTER-FREE-READ"),
    (("KMSAN: kernel-infoleak", "KMSAN: kernel-usb-infoleak"), "KMSAN-INFO-LEAK"),
    (("KASAN: null-ptr-deref Write",), "KASAN-NULL-POINTER-DEREFERENCE-WRITE"),
    (("KASAN: null-ptr-deref Read",), "KASAN-NULL-POINTER-DEREFERENCE-READ"),
    (("BUG: unable to handle kernel NULL pointer dereference in",), "NULL-POINTER-DEREFERENCE"),
    (("KASAN: global-out-of-bounds Write", "KASAN: out-of-bounds Write",
      "KASAN: slab-out-of-bounds Write", "KASAN: stack-out-of-bounds Write",
      "KASAN: user-memory-access Write", "KASAN: vmalloc-out-of-bounds Write",
      "KASAN: wild-memory-access Write"), "KASAN-WRITE"),
    (("KASAN: global-out-of-bounds Read", "KASAN: invalid-access Read",
      "KASAN: out-of-bounds Read", "KASAN: slab-out-of-bounds Read", "KASAN: slab-out-of-bounds",
      "KASAN: stack-out-of-bounds Read", "KASAN: stack-out-of-bounds",
      "KASAN: unknown-crash Read", "KASAN: user-memory-access Read",
      "KASAN: vmalloc-out-of-bounds Read", "KASAN: wild-memory-access Read",
      "KASAN: wild-memory-access"), "KASAN-READ"),
    (("KASAN: double-free or invalid-free", "KASAN: invalid-free"), "KASAN-INVALID-FREE"),
    (("KASAN: slab-use-after-free Write", "KASAN: use-after-free Write"),
     "KASAN-USE-AFTER-FREE-WRITE"),
    (("KASAN: slab-use-after-free Read", "KASAN: use-after-free Read", "KASAN: use-after-free"),
     "KASAN-USE-AFTER-FREE-READ"),
    (("BUG: corrupted list", "BUG: unable to handle kernel paging request"),
     "MEMORY_SAFETY_BUG"),
    (("WARNING: refcount bug",), "REFCOUNT_WARNING"),
    (("UBSAN: array-index-out-of-bounds",), "MEMORY_SAFETY_UBSAN"),
    (("KCSAN: data-race",), "KCSAN-DATARACE"),
    (("KCSAN: assert: race in",), "KCSAN-ASSERT"),
    (("BUG: bad unlock balance in", "BUG: held lock freed in", "BUG: rwlock", "BUG: spinlock",
      "BUG: still has locks held in", "BUG: using", "WARNING: bad unlock balance in",
      "WARNING: held lock freed in", "WARNING: lock held", "WARNING: locking bug in",
      "WARNING: nested lock was not taken in", "WARNING: still has locks held in",
      "WARNING: suspicious RCU usage in", "inconsistent lock state in", "possible deadlock in"),
     "LOCKDEP"),
    (("BUG: scheduling while atomic in", "BUG: sleeping function called from invalid context in"),
     "ATOMIC_SLEEP"),
    (("memory leak in",), "LEAK"),
    (("BUG: bad usercopy in", "kernel BUG"), "BUG"),
    (("WARNING in",), "WARNING"),
    (("BUG: stack guard page was hit in", "WARNING: corrupted",
      "WARNING: kernel stack frame pointer has bad value", "WARNING: kernel stack regs has bad"),
     "unknown"),  # printk()
    (("BUG: soft lockup in", "INFO: rcu detected stall in", "INFO: task can't die in",
      "INFO: task hung in"), "HANG"),
    (("Alignment trap in", "BUG: Object already free", "Internal error in",
      "PANIC: double fault", "Unhandled fault in",
      "VFS: Busy inodes after unmount (use-after-free)",
      "VFS: Close: file count is zero (use-after-free)", "divide error in",
      "general protection fault in", "go runtime error", "int3 in", "invalid opcode in",
      "kernel panic:", "kernel stack overflow", "panic:", "rust_kernel panicked",
      "stack segment fault in", "trusty:", "unregister_netdevice: waiting for DEV to become free"),
     "DoS"),
    (("unexpected kernel reboot",), "REBOOT"),
    (("SYZFAIL", "SYZFATAL:"), "SYZ_FAILURE"),
    # Defaults.
    (("WARNING:",), "WARNING"),
    (("BUG:",), "unknown"),
    (("INFO:",), "unknown"),
    (("KASAN:",), "KASAN-UNKNOWN"),
    (("KFENCE:",), "KFENCE-UNKNOWN"),
    (("KMSAN:",), "KMSAN-UNKNOWN"),
    (("UBSAN:",), "UBSAN"),
    (("KCSAN:",), "KCSAN-UNKNOWN"),
)  # fmt: skip


# Other names of one crash, as (title pattern, other title, why): what earlier kernels or
# earlier syzkaller formats called it, or what the other detector of the same condition calls
# it. A title matching a pattern gets the other one as an alternative (default mode only:
# syzkaller's own alternatives stay upstream's), so the same bug reported before and after a
# change, or caught by the other watchdog, joins one group.
EARLIER_TITLES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^KFENCE: (use-after-free|out-of-bounds) (?:read|write) in (.+)$"),
     r"KFENCE: \1 in \2",
     "syzkaller titled KFENCE reports without the access type until 2023"),
    (re.compile(r"^KASAN: slab-use-after-free (.+)$"), r"KASAN: use-after-free \1",
     'Linux 6.3 renamed "use-after-free" of slab objects "slab-use-after-free"'),
    (re.compile(r"^BUG: Bad page (state|cache) in corrupted$"), r"BUG: Bad page \1",
     "without the page owner's stack syzkaller once titled the kind alone"),
    # syzkaller gives both "stall in f" as an alternative for this reason; spelled out, a title
    # from either detector matches.
    (re.compile(r"^BUG: soft lockup in (.+)$"), r"INFO: rcu detected stall in \1",
     "a CPU looping in f trips the soft-lockup watchdog or the RCU stall detector, first wins"),
    (re.compile(r"^INFO: rcu detected stall in (.+)$"), r"BUG: soft lockup in \1",
     "a CPU looping in f trips the soft-lockup watchdog or the RCU stall detector, first wins"),
)  # fmt: skip


# Other names that need evidence from the report body: (title pattern, line the body holds,
# other titles, why).
_NULL_RANGE = "KASAN: null-ptr-deref in range ["
EVIDENCE_TITLES: tuple[tuple[re.Pattern[str], str, tuple[str, ...], str], ...] = (
    (re.compile(r"^BUG: unable to handle kernel paging request in (.+)$"), _NULL_RANGE,
     (r"general protection fault in \1", r"BUG: unable to handle kernel NULL pointer dereference in \1"),  # noqa: E501
     "arm64 KASAN faults on the shadow of a NULL-based address; x86 KASAN reports the same "
     "access as a general protection fault, a kernel without KASAN as a NULL dereference"),
    (re.compile(r"^general protection fault in (.+)$"), _NULL_RANGE,
     (r"BUG: unable to handle kernel paging request in \1",
      r"BUG: unable to handle kernel NULL pointer dereference in \1"),
     "the x86 form of the arm64 KASAN shadow fault above"),
)  # fmt: skip


def earlier_titles(title: str, body: str = "") -> list[str]:
    """The other names of ``title`` (see :data:`EARLIER_TITLES`, :data:`EVIDENCE_TITLES`)."""
    out = []
    for pattern, earlier, _why in EARLIER_TITLES:
        if pattern.match(title):
            out.append(pattern.sub(earlier, title))
    for pattern, marker, others, _why in EVIDENCE_TITLES:
        if marker in body and pattern.match(title):
            out += [pattern.sub(other, title) for other in others]
    if title.startswith("kernel BUG"):
        # Before 2019 syzbot titled these by the BUG's file, as printed.
        m = _BUG_AT.search(body)
        if m is not None:
            out.append(f"kernel BUG at {m.group(1)}!")
    return out


_BUG_AT = re.compile(r"kernel BUG at ([A-Za-z0-9_\-./]+:[0-9]+)!", re.ASCII)


def title_to_type(title: str) -> str:
    """The crash type of a (normalised) title; "unknown" when no prefix matches."""
    for prefixes, crash_type in TITLE_TO_TYPE:
        if title.startswith(prefixes):
            return crash_type
    return "unknown"


_FRAME_IN_TITLE = re.compile(r".* in ((?:<[a-zA-Z0-9_: ]+>)?[a-zA-Z0-9_:]+)", re.ASCII)


def title_frame(title: str) -> str | None:
    """The function a title blames: the identifier after the last " in "."""
    m = _FRAME_IN_TITLE.match(title)
    return m.group(1) if m else None
