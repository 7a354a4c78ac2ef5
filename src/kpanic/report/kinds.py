"""Every crash kind the Linux kernel prints, as data (a port of syzkaller's linuxOopses table).

A kind (:class:`Kind`) is a header string that marks a candidate line plus an ordered list of
formats (:class:`Format`). A format says how to recognise the title (``title``, optionally a
longer ``report`` regexp whose groups feed the title), how to print the title (``fmt``, Go-style
``%[N]v`` with 1-based arguments: first the regexp groups, then one frame per stack section),
alternative titles, how to find the blamed frame (:class:`Stack`) and whether the kind is
corrupted by nature. Adding a crash kind is adding a row here.

Differences from the upstream table this was ported from, all checked against the corpus:
rows the corpus needs from newer upstream code ("int3:", "rcu_tasks" stalls, hung tasks "in I/O
wait" or with a newline in the task name), and rows beyond syzkaller for logs people paste
(pre-3.11 "WARNING: at file:line", pre-6.x quoted Rust panics, Android "RUST PANIC:", the
arm64 "Kernel panic - not syncing: Oops - BUG:" line, Rust's BUG() helper in "kernel BUG at").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from kpanic.report.extractors import hang_frame, stall_frame
from kpanic.report.syntax import (
    CALL_TRACE,
    PARSE_STACK,
    RIP_FRAME,
    GappedPattern,
    compile_title,
    literal_prefix,
    rx,
)

Matcher = re.Pattern[str] | GappedPattern
Extractor = Callable[[list[str]], tuple[str, int]]


@dataclass(frozen=True, slots=True)
class Stack:
    """How to find the guilty frame: ``parts`` are matched in order (see stackwalk.py)."""

    parts: tuple[re.Pattern[str], ...]
    parts2: tuple[re.Pattern[str], ...] = ()  # tried when ``parts`` finds no frame
    skip: tuple[str, ...] = ()  # frames never blamed for this kind (substring regexps)
    extractor: Extractor | None = None  # custom picker (stalls, hangs)
    # parts2 only replaces a result that named no frame, and only when it names one itself
    parts2_if_unnamed: bool = False


@dataclass(frozen=True, slots=True)
class Format:
    """One way a kind's report can look, and the title it gets."""

    title: Matcher
    fmt: str
    report: re.Pattern[str] | None = None
    alt: tuple[str, ...] = ()
    stack: Stack | None = None
    no_stack_trace: bool = False  # the report legitimately has no "Call Trace"
    corrupted: bool = False  # matching this format means the report is damaged


@dataclass(frozen=True, slots=True)
class Kind:
    """A crash kind: the header that starts it, its formats, and lookalike lines to ignore."""

    header: str
    formats: tuple[Format, ...]
    suppressions: tuple[Matcher, ...] = field(default=())


def _stack(*parts: re.Pattern[str], skip: tuple[str, ...] = (), **kw: object) -> Stack:
    return Stack(parts=parts, skip=skip, **kw)  # type: ignore[arg-type]


RIP_STACK = (RIP_FRAME, CALL_TRACE, PARSE_STACK)
TRACE_STACK = (CALL_TRACE, PARSE_STACK)


def rip_stack(*, skip: tuple[str, ...] = (), **kw: object) -> Stack:
    """The faulting RIP/PC frame, else (no symbol on the PC line, or no such line: openrisc
    "PC: c03aa6e0", a paste trimmed to the trace) the first frame of the backtrace (beyond
    syzkaller, which calls such reports corrupted)."""
    return Stack(
        parts=RIP_STACK,
        parts2=TRACE_STACK,
        skip=skip,
        parts2_if_unnamed=True,
        **kw,  # type: ignore[arg-type]
    )


def warning_stack(*skip: str) -> Stack:
    """WARNING traps: newer kernels start the stack at the RIP line, older just print it."""
    return Stack(
        parts=(rx("(?:" + RIP_FRAME.pattern + "|--- interrupt: [0-9]+ at {{FUNC}})"), PARSE_STACK),
        parts2=(CALL_TRACE, PARSE_STACK),
        skip=skip,
    )


def F(title: str, fmt: str, **kw: object) -> Format:
    """A format row; ``title``/``report`` are table patterns (placeholders allowed)."""
    report = kw.pop("report", None)
    return Format(
        title=compile_title(title),
        fmt=fmt,
        report=rx(report) if isinstance(report, str) else None,
        **kw,  # type: ignore[arg-type]
    )


def S(*patterns: str) -> tuple[Matcher, ...]:
    """Lookalike / suppression patterns (``.*`` chains matched in linear time)."""
    return tuple(compile_title(p) for p in patterns)


_KFENCE_PART = rx(r"BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}}")
_AT_FUNC = rx(r"at: (?:{{PC}} +)?{{FUNC}}")

LINUX_KINDS: tuple[Kind, ...] = (
    Kind("BUG:", (
        F("BUG: KASAN:", "KASAN: %[1]v %[3]v in %[4]v",
          report=r"BUG: KASAN: ([a-z\-]+) in {{FUNC}}(?:.*\n)+?.*(Read|Write) (?:of size|at addr) (?:[0-9a-f]+)",  # noqa: E501
          alt=("bad-access in %[4]v",),
          stack=_stack(rx(r"BUG: KASAN: (?:[a-z\-]+) in {{FUNC}}"), CALL_TRACE, PARSE_STACK,
                       skip=("kernel_fault", "tag_check", "mem_abort", "^el1_", "^el1h_"))),
        F("BUG: KASAN:", "KASAN: invalid-free in %[2]v",
          report=r"BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}}",  # noqa: E501
          alt=("invalid-free in %[2]v",),
          stack=_stack(rx(r"BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}}"),  # noqa: E501
                       CALL_TRACE, PARSE_STACK, skip=("slab_", "kfree", "vunmap", "vfree"))),
        F(r"BUG: KASAN: ([a-z\-]+) on address(?:.*\n)+?.*(Read|Write) of size ([0-9]+)",
          "KASAN: %[1]v %[2]v"),
        F(r"BUG: KASAN: (.*)", "KASAN: %[1]v", corrupted=True),
        F("BUG: KMSAN: kernel-usb-infoleak", "KMSAN: kernel-usb-infoleak in %[2]v",
          report="BUG: KMSAN: kernel-usb-infoleak in {{FUNC}}",
          alt=("KMSAN origin in %[3]v",),
          stack=_stack(PARSE_STACK, rx("(Local variable .* created at:|Uninit was created at:)"),
                       PARSE_STACK,
                       skip=("alloc_skb", "usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg",
                             "usb_interrupt_msg", "usb_control_msg")),
          no_stack_trace=True),
        F("BUG: KMSAN:", "KMSAN: %[1]v in %[3]v",
          report=r"BUG: KMSAN: ([a-z\-]+) in {{FUNC}}",
          alt=("bad-access in %[3]v",),
          stack=_stack(PARSE_STACK, rx("(Local variable .* created at:|Uninit was created at:)"),
                       PARSE_STACK,
                       skip=("alloc_skb", "netlink_ack", "netlink_rcv_skb", "_encrypt$",
                             "^(?:crypto|cipher|drbg|rng)_")),
          no_stack_trace=True),
        F("BUG: KCSAN: data-race", "KCSAN: %[1]v", report="BUG: KCSAN: (.*)",
          no_stack_trace=True),
        F("BUG: KCSAN:", "KCSAN: %[1]v", report="BUG: KCSAN: (.*)", no_stack_trace=True),
        F("BUG: KFENCE: (use-after-free|out-of-bounds) (read|write) in {{FUNC}}",
          "KFENCE: %[1]v %[2]v in %[4]v", alt=("bad-access in %[4]v",),
          stack=_stack(_KFENCE_PART, PARSE_STACK)),
        F("BUG: KFENCE: invalid free in {{FUNC}}", "KFENCE: invalid free in %[2]v",
          alt=("invalid-free in %[2]v",), no_stack_trace=True,
          stack=_stack(_KFENCE_PART, PARSE_STACK)),
        F("BUG: KFENCE: invalid (read|write) in {{FUNC}}", "KFENCE: invalid %[1]v in %[3]v",
          alt=("bad-access in %[3]v",), stack=_stack(_KFENCE_PART, PARSE_STACK)),
        F("BUG: KFENCE: memory corruption in {{FUNC}}", "KFENCE: memory corruption in %[2]v",
          no_stack_trace=True, stack=_stack(_KFENCE_PART, PARSE_STACK)),
        F("BUG: (?:unable to handle kernel paging request|unable to handle page fault for address|Unable to handle kernel data access)",  # noqa: E501
          "BUG: unable to handle kernel paging request in %[1]v", alt=("bad-access in %[1]v",),
          stack=rip_stack()),
        F("BUG: (?:unable to handle kernel NULL pointer dereference|kernel NULL pointer dereference|Kernel NULL pointer dereference)",  # noqa: E501
          "BUG: unable to handle kernel NULL pointer dereference in %[1]v",
          alt=("bad-access in %[1]v",), stack=rip_stack()),
        # The second half of this header is a separate printk and is sometimes lost.
        F("BUG: (?:unable to handle kernel|Unable to handle kernel)",
          "BUG: unable to handle kernel", corrupted=True),
        F("BUG: (spinlock|rwlock) (lockup suspected|already unlocked|recursion|cpu recursion|bad magic|wrong owner|wrong CPU|trylock failure on UP)",  # noqa: E501
          "BUG: %[1]v %[2]v in %[3]v",
          stack=_stack(*TRACE_STACK, skip=("spin_", "_lock", "_unlock"))),
        F("BUG: soft lockup", "BUG: soft lockup in %[1]v", alt=("stall in %[1]v",),
          stack=rip_stack(extractor=stall_frame)),
        F("BUG: .*still has locks held!", "BUG: still has locks held in %[1]v",
          report=r"BUG: .*still has locks held!(?:.*\n)+?.*{{PC}} +{{FUNC}}"),
        F("BUG: scheduling while atomic", "BUG: scheduling while atomic in %[1]v",
          stack=_stack(*TRACE_STACK, skip=("schedule",))),
        F("BUG: lock held when returning to user space",
          "BUG: lock held when returning to user space in %[1]v",
          report=r"BUG: lock held when returning to user space(?:.*\n)+?.*leaving the kernel with locks still held(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",  # noqa: E501
          no_stack_trace=True),
        F("BUG: bad unlock balance detected!", "BUG: bad unlock balance in %[1]v",
          stack=_stack(rx("{{PC}} +{{FUNC}}"), *TRACE_STACK)),
        F("BUG: held lock freed!", "BUG: held lock freed in %[1]v",
          report=r"BUG: held lock freed!(?:.*\n)+?.*{{PC}} +{{FUNC}}"),
        F("BUG: Bad rss-counter state", "BUG: Bad rss-counter state", no_stack_trace=True),
        F("BUG: non-zero nr_ptes on freeing mm", "BUG: non-zero nr_ptes on freeing mm",
          no_stack_trace=True),
        F("BUG: non-zero nr_pmds on freeing mm", "BUG: non-zero nr_pmds on freeing mm",
          no_stack_trace=True),
        # Filesystem type and block device are left out of the title (loop0/1/2 duplicates).
        F("BUG: Dentry .* still in use", "BUG: Dentry still in use in %[1]v",
          report=r"BUG: Dentry .* still in use \([0-9]+\) \[(unmount) of ([^\]]+)\]",
          alt=("BUG: Dentry still in use [%[1]v of %[2]v]",)),
        F("BUG: Bad page (state|cache)", "BUG: Bad page %[1]v in %[2]v",
          stack=_stack(rx("page last allocated"), PARSE_STACK,
                       skip=("(free|put|get|update|release)_page", "free_unref", "^_*folio",
                             "truncate_inode_pages", "page_frag_free", "alloc", "vmap",
                             "page_owner"))),
        F("BUG: Bad page map", "BUG: Bad page map"),
        F("BUG: workqueue lockup", "BUG: workqueue lockup", no_stack_trace=True),
        F("BUG: sleeping function called from invalid context at (.*)",
          "BUG: sleeping function called from invalid context in %[2]v",
          stack=_stack(*TRACE_STACK)),
        F(r"BUG: using ([a-z_]+)\(\) in preemptible",
          "BUG: using %[1]v() in preemptible code in %[2]v",
          stack=_stack(*TRACE_STACK, skip=("dump_stack", "preemption", "preempt", "debug_",
                                           "processor_id", "this_cpu"))),
        F("BUG: workqueue leaked lock or atomic",
          "BUG: workqueue leaked lock or atomic in %[1]v",
          report=r"BUG: workqueue leaked lock or atomic(?:.*\n)+?.*last function: ([a-zA-Z0-9_]+)\n",  # noqa: E501
          no_stack_trace=True),
        F("BUG: memory leak", "memory leak in %[1]v",
          stack=_stack(rx(r"backtrace(?: \(crc [[:xdigit:]]*\))?:"), PARSE_STACK,
                       skip=("kmemleak", "mmap", "kmem", "slab", "alloc", "create_object",
                             "idr_get", "list_lru_init", "kasprintf", "kvasprintf",
                             "pcpu_create", "strdup", "strndup", "memdup"))),
        F("BUG: .*stack guard page was hit at", "BUG: stack guard page was hit in %[1]v",
          alt=("stack-overflow in %[1]v",), stack=rip_stack(extractor=stall_frame)),
        # arm/arm64 print this differently from amd64; use the amd64 title to merge them.
        F("BUG: Invalid wait context", "WARNING: locking bug in %[1]v",
          stack=_stack(*TRACE_STACK, skip=("lock_sock", "release_sock"))),
        F(r"BUG:[[:space:]]*(?:\n|$)", "BUG: corrupted", corrupted=True),
    ), S("ODEBUG:", "Boot_DEBUG:", "xlog_status:", "DEBUG:",
         "BUG: no syscalls can create resource",
         # arm64 "Kernel panic - not syncing: Oops - BUG: Fatal exception" is a panic line.
         "Kernel panic - not syncing: .*BUG:")),
    Kind("WARNING:", (
        F(r"WARNING: .*lib/debugobjects\.c.* (?:debug_print|debug_check|at)",
          "WARNING: ODEBUG bug in %[1]v",
          stack=warning_stack("debug_", "rcu", "hrtimer_", "timer_", "work_", "percpu_",
                              "vunmap", "vfree", "__free_", "debug_check", "kobject_")),
        F(r"WARNING: .*mm/usercopy\.c.* (?:usercopy_warn|at)", "WARNING: bad usercopy in %[1]v",
          stack=warning_stack("usercopy", "__check")),
        F(r"WARNING: .*lib/kobject\.c.* (?:kobject_|at)", "WARNING: kobject bug in %[1]v",
          stack=warning_stack("kobject_")),
        F(r"WARNING: .*fs/proc/generic\.c.* (?:proc_register|at)",
          "WARNING: proc registration bug in %[1]v", stack=warning_stack("proc_")),
        F(r"WARNING: .*lib/refcount\.c.* (?:refcount_|at)", "WARNING: refcount bug in %[1]v",
          stack=warning_stack("refcount", "kobject_")),
        F(r"WARNING: .*kernel/locking/lockdep\.c.*lock_", "WARNING: locking bug in %[1]v",
          stack=warning_stack("lock_sock", "release_sock")),
        F("WARNING: .*still has locks held!", "WARNING: still has locks held in %[1]v",
          report=r"WARNING: .*still has locks held!(?:.*\n)+?.*at: {{FUNC}}"),
        F("WARNING: Nested lock was not taken", "WARNING: nested lock was not taken in %[1]v",
          stack=warning_stack()),
        F("WARNING: lock held when returning to user space",
          "WARNING: lock held when returning to user space in %[1]v",
          report=r"WARNING: lock held when returning to user space(?:.*\n)+?.*leaving the kernel with locks still held(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",  # noqa: E501
          no_stack_trace=True),
        F(r"WARNING: .*mm/.*\.c.* k?.?malloc", "WARNING: kmalloc bug in %[1]v",
          stack=warning_stack("kmalloc", "krealloc", "slab", "kmem")),
        F("WARNING: .*mm/vmalloc.c.*__vmalloc_node", "WARNING: zero-size vmalloc in %[1]v",
          stack=warning_stack()),
        F("WARNING: .* usb_submit_urb", "WARNING in %[1]v/usb_submit_urb",
          stack=warning_stack("usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg",
                              "usb_interrupt_msg", "usb_control_msg")),
        # Format of https://lore.kernel.org/all/20251110114633.202485143@infradead.org/.
        F(r"WARNING: {{SRC}} at 0x\d+, CPU#\d+", "WARNING in %[2]v", stack=warning_stack()),
        F("WARNING: .* at {{SRC}} {{FUNC}}", "WARNING in %[3]v", stack=warning_stack()),
        F("WARNING: {{SRC}} at {{FUNC}}", "WARNING in %[3]v", stack=warning_stack()),
        # A long mangled Rust name cut off at the printk line limit ("rnull.rs:46 _RNvXCs...
        # _13NullBlkModu]"): the RIP line still names it (beyond syzkaller). Only "_R" names:
        # a C name without "+0x" is a console cut, which syzbot titles as the whole line.
        F(r"(?m)WARNING: .* at {{SRC}} _R[A-Za-z0-9_]+\]?$", "WARNING in %[2]v",
          stack=warning_stack()),
        F(r"WARNING: \[.*\] {{SRC}} at {{FUNC}}.*", "WARNING in %[3]v", stack=warning_stack()),
        # Before 3.11: "WARNING: at file.c:12 func+0x1/0x2()" or, without a symbol, "WARNING: at
        # file.c:12" with the function in the NIP/RIP line.
        F("WARNING: at {{SRC}} {{FUNC}}", "WARNING in %[2]v", stack=warning_stack()),
        # Kernels built without CONFIG_DEBUG_BUGVERBOSE print no file: "WARNING: CPU: 0 PID: 0
        # at setup_nr_cpu_ids+0x24/0x50" (beyond syzkaller).
        F("WARNING: CPU: [0-9]+ PID: [0-9]+ at {{FUNC}}", "WARNING in %[2]v",
          stack=warning_stack()),
        F(r"(?m)WARNING: at {{SRC}}[ \t]*$", "WARNING in %[2]v", stack=warning_stack()),
        F("WARNING: possible circular locking dependency detected", "possible deadlock in %[1]v",
          report="WARNING: possible circular locking dependency detected(?:.*\\n)+?.*is trying to acquire lock",  # noqa: E501
          stack=_stack(_AT_FUNC, _AT_FUNC, PARSE_STACK,
                       skip=("process_one_work", "flush_workqueue", "drain_workqueue",
                             "destroy_workqueue"))),
        F("WARNING: possible irq lock inversion dependency detected", "possible deadlock in %[1]v",
          report=r"WARNING: possible irq lock inversion dependency detected(?:.*\n)+?.*just changed the state of lock(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}"),  # noqa: E501
        F("WARNING: .*-safe -> .*-unsafe lock order detected", "possible deadlock in %[1]v",
          stack=_stack(rx("which became (?:.*) at:"), PARSE_STACK)),
        F("WARNING: possible recursive locking detected", "possible deadlock in %[1]v",
          report=r"WARNING: possible recursive locking detected(?:.*\n)+?.*is trying to acquire lock(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}"),  # noqa: E501
        F("WARNING: inconsistent lock state", "inconsistent lock state in %[2]v",
          report=r"WARNING: inconsistent lock state(?:.*\n)+?.*takes(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",  # noqa: E501
          stack=_stack(*TRACE_STACK)),
        F("WARNING: suspicious RCU usage", "WARNING: suspicious RCU usage in %[2]v",
          report=r"WARNING: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}",
          stack=_stack(*TRACE_STACK, skip=("rcu", "kmem", "slab"))),
        F("WARNING: kernel stack regs at [0-9a-f]+ in [^ ]* has bad '([^']+)' value",
          "WARNING: kernel stack regs has bad '%[1]v' value", no_stack_trace=True),
        F("WARNING: kernel stack frame pointer at [0-9a-f]+ in [^ ]* has bad value",
          "WARNING: kernel stack frame pointer has bad value", no_stack_trace=True),
        F("WARNING: bad unlock balance detected!", "WARNING: bad unlock balance in %[1]v",
          stack=_stack(rx("{{PC}} +{{FUNC}}"), *TRACE_STACK)),
        F("WARNING: held lock freed!", "WARNING: held lock freed in %[1]v",
          report=r"WARNING: held lock freed!(?:.*\n)+?.*at:(?: {{PC}})? +{{FUNC}}"),
        F("WARNING: kernel stack regs .* has bad 'bp' value",
          "WARNING: kernel stack regs has bad value", no_stack_trace=True),
        F("WARNING: kernel stack frame pointer .* has bad value",
          "WARNING: kernel stack regs has bad value", no_stack_trace=True),
        F(r"WARNING:[[:space:]]*(?:\n|$)", "WARNING: corrupted", corrupted=True),
    ), S("WARNING: /etc/ssh/moduli does not exist, using fixed modulus",
         "WARNING: workqueue cpumask: online intersect > possible intersect",
         "WARNING: [Tt]he mand mount option",
         r"WARNING: Unsupported flag value\(s\) of 0x%x in DT_FLAGS_1",
         "WARNING: Unprivileged eBPF is enabled with eIBRS",
         r"WARNING: fbcon: Driver '(.*)' missed to adjust virtual screen size (\((?:\d+)x(?:\d+) vs\. (?:\d+)x(?:\d+)\))",  # noqa: E501
         "WARNING: See https.* for mitigation options.",
         "WARNING: kernel not compiled with CPU_SRSO",
         r"EXT4-[Ff][Ss](?: \(.*\))?:",
         "(?i)warning: .* uses (deprecated v2 capabilities|wireless extensions)",
         r"XFS \(\w+\): WARNING")),
    Kind("INFO:", (
        F("INFO: possible circular locking dependency detected", "possible deadlock in %[1]v",
          report=r"INFO: possible circular locking dependency detected \](?:.*\n)+?.*is trying to acquire lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}}"),  # noqa: E501
        F("INFO: possible irq lock inversion dependency detected", "possible deadlock in %[1]v",
          report=r"INFO: possible irq lock inversion dependency detected \](?:.*\n)+?.*just changed the state of lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}}"),  # noqa: E501
        F("INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected",
          "possible deadlock in %[1]v",
          report=r"INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected \](?:.*\n)+?.*is trying to acquire(?:.*\n)+?.*at: {{PC}} +{{FUNC}}"),  # noqa: E501
        F("INFO: possible recursive locking detected", "possible deadlock in %[1]v",
          report=r"INFO: possible recursive locking detected \](?:.*\n)+?.*is trying to acquire lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}}"),  # noqa: E501
        F("INFO: inconsistent lock state", "inconsistent lock state in %[1]v",
          report=r"INFO: inconsistent lock state \](?:.*\n)+?.*takes(?:.*\n)+?.*at: {{PC}} +{{FUNC}}"),  # noqa: E501
        F("INFO: rcu_(?:preempt|sched|bh|tasks) (?:self-)?detected(?: expedited)? stall",
          "INFO: rcu detected stall in %[1]v", alt=("stall in %[1]v",),
          stack=Stack(parts=(rx("apic_timer_interrupt"), RIP_FRAME, PARSE_STACK),
                      # Beyond syzkaller: el1_irq, the arm64 IRQ entry before 5.11.
                      parts2=(rx(r"(?:apic_timer_interrupt|Exception stack|el1h_64_irq"
                                 r"|el1_irq\+0x)"), PARSE_STACK),
                      skip=("apic_timer_interrupt", "rcu"), extractor=stall_frame)),
        F("INFO: trying to register non-static key",
          "INFO: trying to register non-static key in %[1]v",
          stack=_stack(*TRACE_STACK, skip=("stack", "lock", "IRQ"))),
        F("INFO: suspicious RCU usage", "INFO: suspicious RCU usage in %[2]v",
          report=r"INFO: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}",
          stack=_stack(*TRACE_STACK, skip=("rcu", "kmem", "slab"))),
        # The task name may hold garbage bytes, even a newline; newer kernels say "in I/O wait".
        F(r"INFO: task .*(?:\n.*)? blocked (?:in I/O wait )?for more than [0-9]+ seconds",
          "INFO: task hung in %[1]v",
          alt=("hang in %[1]v",), stack=_stack(*TRACE_STACK, extractor=hang_frame)),
        F("INFO: task .* can't die for more than .* seconds", "INFO: task can't die in %[1]v",
          alt=("hang in %[1]v",), stack=_stack(*TRACE_STACK, skip=("schedule",))),
        # Captured for corrupted old-style KASAN reports.
        F("INFO: (Freed|Allocated) in (.*)", "INFO: %[1]v in %[2]v", corrupted=True),
        F(r"INFO:[[:space:]]*(?:\n|$)", "INFO: corrupted", corrupted=True),
    ), S("INFO: lockdep is turned off", "INFO: Stall ended before state dump start",
         "INFO: NMI handler", "INFO: recovery required on readonly filesystem",
         "(handler|interrupt).*took too long", "INFO: sys_.* is not present in /proc/kallsyms",
         "INFO: no syscalls can create resource", "rmt_storage:INFO:", "_INFO:")),
    Kind("Unable to handle kernel", (
        F("Unable to handle kernel (paging request|NULL pointer dereference|access to user memory)",
          "BUG: unable to handle kernel %[1]v in %[2]v", alt=("bad-access in %[2]v",),
          stack=rip_stack()),
    )),
    Kind("general protection fault", (
        F("general protection fault.*:", "general protection fault in %[1]v",
          alt=("bad-access in %[1]v",), stack=rip_stack()),
    ), S(r"general protection fault .* error:\d+ in ")),
    Kind("stack segment: ", (
        F("stack segment: ", "stack segment fault in %[1]v", stack=rip_stack()),
    )),
    Kind("Kernel panic", (
        # The kernel may fail to print the symbol or unwind a corrupted stack.
        F("Kernel panic - not syncing: stack-protector:", "kernel panic: stack is corrupted in %[1]v",  # noqa: E501
          report="Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: {{FUNC}}",  # noqa: E501
          no_stack_trace=True),
        F("Kernel panic - not syncing: stack-protector:", "kernel panic: stack is corrupted in %[1]v",  # noqa: E501
          report="Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: [a-f0-9]+",  # noqa: E501
          stack=_stack(*TRACE_STACK, skip=("stack_chk",))),
        F("Kernel panic - not syncing: corrupted stack end", "kernel panic: corrupted stack end in %[1]v",  # noqa: E501
          report="Kernel panic - not syncing: corrupted stack end detected inside scheduler",
          alt=("stack-overflow in %[1]v",),
          stack=_stack(*TRACE_STACK, skip=("schedule", "retint_kernel"), extractor=stall_frame)),
        F("Kernel panic - not syncing: kernel stack overflow", "kernel stack overflow in %[1]v",
          alt=("stack-overflow in %[1]v",),
          stack=_stack(*TRACE_STACK, skip=("bad_stack",), extractor=stall_frame)),
        F("Kernel panic - not syncing: Attempted to kill init!",
          "kernel panic: Attempted to kill init!"),
        F("Kernel panic - not syncing: Couldn't open N_TTY ldisc for [^ ]+ --- error -[0-9]+",
          "kernel panic: Couldn't open N_TTY ldisc"),
        # Printed after a BUG/WARNING/hang: seeing it first means the real header was lost.
        F("Kernel panic - not syncing: Fatal exception", "kernel panic: Fatal exception",
          corrupted=True),
        F("Kernel panic - not syncing: panic_on_warn set", "kernel panic: panic_on_warn set",
          corrupted=True),
        F("Kernel panic - not syncing: hung_task: blocked tasks",
          "kernel panic: hung_task: blocked tasks", corrupted=True),
        F("Kernel panic - not syncing: (.*)", "kernel panic: %[1]v"),
    )),
    Kind("PANIC: double fault", (
        F("PANIC: double fault", "PANIC: double fault in %[1]v", stack=_stack(RIP_FRAME)),
    )),
    Kind("rust_kernel: panicked", (
        # Before 6.x the message was quoted on the same line: "panicked at 'msg', file:l:c".
        F("rust_kernel: panicked at '", "%[1]v in %[2]v",
          report=r"rust_kernel: panicked at '(.*)', [^\n]*",
          stack=_stack(*TRACE_STACK, skip=(re.escape("__rustc::rust_begin_unwind"),
                                           "^rust_begin_unwind$", "^rust_helper_BUG$",
                                           "^core::panicking::"))),
        F("rust_kernel: panicked", "%[1]v in %[2]v",
          report=r"rust_kernel: panicked at [^\n]*?\n(.+?)\n",
          stack=_stack(*TRACE_STACK, skip=(re.escape("__rustc::rust_begin_unwind"),))),
    )),
    # Android kernels: "RUST PANIC: CPU: 0 PID: 1 at file.rs:12", then the panic with the message.
    Kind("RUST PANIC:", (
        F("RUST PANIC:", "%[1]v in %[2]v",
          report=r"RUST PANIC:[^\n]*\n(?:[^\n]*\n){0,3}?[^\n]*Kernel panic - not syncing: ([^\n]+)",
          stack=_stack(*TRACE_STACK, skip=("rust_begin_unwind", "^rust_panic$",
                                           "^core::panicking::",
                                           re.escape("__rustc::rust_begin_unwind")))),
    )),
    Kind("kernel BUG", (
        F("kernel BUG at mm/usercopy.c", "BUG: bad usercopy in %[1]v",
          stack=_stack(*TRACE_STACK, skip=("usercopy", "__check"))),
        F("kernel BUG at lib/list_debug.c", "BUG: corrupted list in %[1]v",
          alt=("bad-access in %[1]v",), stack=_stack(*TRACE_STACK)),
        # skb wrappers are full of BUG_ON, but the bug is almost always in the caller; the Rust
        # panic handler's BUG() helper likewise (beyond syzkaller).
        F("kernel BUG at (.*)", "kernel BUG in %[2]v",
          stack=rip_stack(skip=("^skb_", "^rust_helper_BUG$"))),
    )),
    Kind("Kernel BUG", (
        # x86 report_bug() without CONFIG_DEBUG_BUGVERBOSE: "Kernel BUG at func+0x22f/0x2b0
        # [mod] [verbose debug info unavailable]" names the function, as "kernel BUG at
        # file:line" names the file: titled like the latter (beyond syzkaller).
        F("Kernel BUG at {{FUNC}}", "kernel BUG in %[1]v"),
        F("Kernel BUG (.*)", "kernel BUG %[1]v"),
    )),
    Kind("BUG kmalloc-", (F("BUG kmalloc-.*: Object already free", "BUG: Object already free"),)),
    Kind("divide error:", (
        F("divide error: ", "divide error in %[1]v", stack=_stack(RIP_FRAME)),
    )),
    # Misspelling from 9d06c4027f21 ("x86/entry: Convert Divide Error to IDTENTRY").
    Kind("divide_error:", (
        F("divide_error: ", "divide error in %[1]v", stack=_stack(RIP_FRAME)),
    )),
    Kind("invalid opcode:", (
        F("invalid opcode: ", "invalid opcode in %[1]v", stack=_stack(RIP_FRAME)),
    )),
    Kind("int3:", (F("int3: ", "int3 in %[1]v", stack=rip_stack()),)),
    Kind("UBSAN:", (
        F("UBSAN:", "UBSAN: undefined-behaviour in %[1]v", report="UBSAN: Undefined behaviour in",
          stack=_stack(*TRACE_STACK, skip=("ubsan", "overflow"))),
        F("UBSAN: array-index-out-of-bounds in", "UBSAN: array-index-out-of-bounds in %[1]v",
          alt=("bad-access in %[1]v",), stack=_stack(*TRACE_STACK, skip=("ubsan", "overflow"))),
        F("UBSAN:", "UBSAN: %[1]v in %[2]v", report="UBSAN: (.*?) in",
          stack=_stack(*TRACE_STACK, skip=("ubsan", "overflow"))),
    )),
    Kind("Booting the kernel.", (
        F("^Booting the kernel", "unexpected kernel reboot", no_stack_trace=True),
    ), S("Parsing ELF|Decompressing Linux|Unknown parameter '")),
    Kind("unregister_netdevice: waiting for", (
        F("unregister_netdevice: waiting for (?:.*) to become free",
          "unregister_netdevice: waiting for DEV to become free", no_stack_trace=True),
    )),
    # Custom VFS errors printed by older kernels (syzkaller #3621).
    Kind("VFS: Close: file count is 0", (
        F("VFS: Close: file count is 0", "VFS: Close: file count is zero (use-after-free)",
          no_stack_trace=True),
    )),
    Kind("VFS: Busy inodes after unmount", (
        F("VFS: Busy inodes after unmount", "VFS: Busy inodes after unmount (use-after-free)",
          no_stack_trace=True),
    )),
    # arm64 "Internal error: synchronous external abort" is arm's paging request: merge them.
    Kind("Internal error:", (
        F("Internal error:", "Internal error in %[1]v", alt=("bad-access in %[1]v",),
          stack=rip_stack()),
    )),
    # x86_64 prints NULL derefs as GPF, arm as "Unhandled fault: page domain fault".
    Kind("Unhandled fault:", (
        F("Unhandled fault:", "Unhandled fault in %[1]v", alt=("bad-access in %[1]v",),
          stack=rip_stack()),
    )),
    Kind("Alignment trap:", (
        F("Alignment trap:", "Alignment trap in %[1]v", stack=rip_stack()),
    )),
    Kind("trusty: panic", (
        F("trusty: panic.* ASSERT FAILED", "trusty: ASSERT FAILED: %[1]v",
          report=r"trusty: panic \(.*?\):(?: DEBUG)? ASSERT FAILED at \(.*?\): (.+)",
          no_stack_trace=True),
        F("trusty: panic.* ASSERT FAILED.*: *(.*)", "trusty: ASSERT FAILED: %[1]v",
          corrupted=True),
        F("trusty: panic", "trusty: panic: %[1]v", report=r"trusty: panic \(.*?\): (.+)",
          no_stack_trace=True),
    )),
    Kind("fatal error:", (F("fatal error:", "go runtime error", no_stack_trace=True),),
         S("ALSA", "fatal error: cannot create timer")),
    # Produced by syzkaller itself (executor fail(), log.Fatal) and by Go programs.
    Kind("SYZFAIL:", (F("SYZFAIL:(.*)", "SYZFAIL:%[1]v", no_stack_trace=True),)),
    Kind("SYZFATAL:", (
        F("SYZFATAL:(.*)()", "SYZFATAL:%[1]v", alt=("SYZFATAL%[2]s",), no_stack_trace=True),
    )),
    Kind("panic:", (
        F("panic: Sentry detected .* stuck task", "panic: Sentry detected stuck tasks",
          no_stack_trace=True),
        F("panic:(.*)", "panic:%[1]v", no_stack_trace=True),
    ), S("_panic:", "xlog_status:", r"ddb\.onpanic:", "evtlog_status:")),
)  # fmt: skip

# These do not start a new report: they appear in the middle of one.
REPORT_START_IGNORES: tuple[Matcher, ...] = S(
    "invalid opcode: 0000",
    "Kernel panic - not syncing",
    "unregister_netdevice: waiting for",
    # A double fault can happen while handling a page fault on badly corrupted memory.
    "PANIC: double fault",
    "Internal error:",
    # The Rust panic handler calls BUG(): its oops continues the "rust_kernel: panicked" report.
    "kernel BUG at rust/helpers",
)

# Informational messages with a stack: inside another report they mean interleaving.
INFO_MESSAGES_WITH_STACK: tuple[str, ...] = (
    "vmalloc: allocation failure:",
    "FAULT_INJECTION: forcing a failure",
    "FAULT_FLAG_ALLOW_RETRY missing",
)

# Matching anywhere in the log marks the report suppressed (not worth reporting to a person).
SUPPRESSIONS: tuple[Matcher, ...] = S(
    "panic: failed to start executor binary",
    "panic: executor failed: pthread_create failed",
    "panic: failed to create temp dir",
    "fatal error: unexpected signal during runtime execution",  # OOM turned into SIGBUS
    "signal SIGBUS: bus error",  # OOM turned into SIGBUS
    "SYZFAIL: SIGBUS",
    r"Out of memory: Kill process .* \(syz-executor\)",
    r"Out of memory: Kill process .* \(sshd\)",
    r"Killed process .* \(syz-executor\)",
    r"Killed process .* \(sshd\)",
    "lowmemorykiller: Killing 'syz-executor'",
    "lowmemorykiller: Killing 'sshd'",
    "INIT: PANIC: segmentation violation!",
    r"\*\*\* stack smashing detected \*\*\*: terminated",
    # Go runtime out of memory.
    "fatal error: runtime: out of memory",
    "fatal error: runtime: cannot allocate memory",
    "fatal error: out of memory",
    "fatal error: newosproc",
    "panic: .*cannot allocate memory",
)

# (literal every match contains, pattern): a substring test skips most regex searches.
SUPPRESSION_CHECKS: tuple[tuple[str, Matcher], ...] = tuple(
    (literal_prefix(p.pattern), p) for p in SUPPRESSIONS
)


def is_suppressed(text: str) -> bool:
    """Whether any suppression pattern matches anywhere in ``text``."""
    return any(lit in text and p.search(text) for lit, p in SUPPRESSION_CHECKS)
