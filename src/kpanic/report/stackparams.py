"""How Linux stack traces look and which frames never carry blame (syzkaller's linuxStackParams).

``SKIP`` lists generic frames (sanitizer internals, printk, locking, allocation, string and list
helpers, ...): the guilty frame is the first frame that matches none of them nor the crash kind's
own skip list. ``STRIP_PREFIXES`` are syscall-wrapper prefixes that differ per architecture.
"""

from __future__ import annotations

import re
from functools import lru_cache

from kpanic.report.syntax import rx

# "status: ... badaddr: ... cause: ..." is the last line of a RISC-V show_regs() before its stack.
RISCV_STACK_START = rx(r"status: [0-9a-f]{16} badaddr: [0-9a-f]{16} cause: [0-9a-f]{16}")

STACK_START: tuple[re.Pattern[str], ...] = (
    rx(r"Call (?:T|t)race"),
    rx(r"Allocated:"),
    rx(r"Allocated by task [0-9]+:"),
    rx(r"Freed:"),
    rx(r"Freed by task [0-9]+:"),
    # "backtrace:" but not "stack backtrace:"; kmemleak adds a crc.
    rx(r"[^k] backtrace(?: \(crc [[:xdigit:]]*\))?:"),
    rx(r"Backtrace:"),
    rx(r"Uninit was stored to memory at"),
    RISCV_STACK_START,
)

FRAME_RES: tuple[re.Pattern[str], ...] = (
    rx(r"^ *(?:{{PC}} ){0,2}\.?{{FUNC}}"),  # "\." : ppc64 ELFv1 dot-symbols
    # arm: "[<pc>] (callee) from [<pc>] (caller+0x..)": both frames are captured.
    rx(r"^ *{{PC}} \(([a-zA-Z0-9_.]+)\) from {{PC}} \({{FUNC}}"),
    # Beyond syzkaller: scripts/decode_stacktrace.sh output, "func (path/file.c:12)", where
    # func may be a demangled Rust path such as "<a::B as c::D>::f".
    rx(r"^ *([A-Za-z0-9_:<>&*, ]+?) \([A-Za-z0-9_\-./]+\.[a-zS]+:[0-9]+[ :)]"),
)

SKIP: tuple[str, ...] = (
    "__sanitizer", "__asan", "kasan", "hwasan", "__msan", "kmsan", "kcsan_setup_watchpoint",
    "check_memory_region", "check_heap_object", "check_object", "read_word_at_a_time",
    "(read|write)_once_.*nocheck", "print_address_description", "panic", "invalid_op",
    "report_bug", "fixup_bug", "print_report", "print_usage_bug", "do_error", "invalid_op",
    "_trap$|do_trap", "show_stack", "dump_stack", "walk_stack", "dump_backtrace",
    "warn_slowpath", "warn_alloc", "warn_bogus", "__warn", "alloc_page",
    "k?v?(?:m|z|c)alloc", "krealloc", "kmem_cache", "allocate_slab",
    "__alloc_frozen_pages_noprof", "folio_(?:alloc|unlock)", "filemap_alloc_folio",
    "__filemap_get_folio", "find_or_create_page", "do_read_cache_folio", "read_cache_page",
    "pagecache_get_page", "grab_cache_page_write_begin", "slab_", "debug_object",
    "timer_is_static_object", "work_is_static_object", "__might_fault", "print_unlock",
    "imbalance_bug", "lockdep", "bh_enable", "bh_disable", "perf_trace", "lock_acquire",
    "lock_release", "lock_class", "mark_lock", "(reacquire|mark)_held_locks", "raw_spin_rq",
    "spin_lock", "spin_trylock", "spin_unlock", "read_lock", "read_trylock", "write_lock",
    "write_trylock", "read_unlock", "write_unlock", "^down$", "down_read", "down_write",
    "down_read_trylock", "down_write_trylock", "down_trylock", "up_read", "up_write",
    "^mutex_", "^__mutex_", "^rt_mutex_", "owner_on_cpu", "osq_lock", "osq_unlock",
    "atomic(64)?_(dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)",
    "(set|clear|change|test)_bit", "__wake_up", "^refcount_", "^kref_", "ref_tracker",
    "seqprop_assert", "memcpy", "memcmp", "memset", "memchr", "memmove", "memdup", "strcmp",
    "strncmp", "strcpy", "strlcpy", "strncpy", "strscpy", "strlen", "strstr", "strnstr",
    "strnlen", "strchr", "strdup", "strndup", "copy_to_user", "copy_from_user", "copy_to_iter",
    "copy_from_iter", "copy_page_to_iter", "copy_page_from_iter", "copy_folio_to_iter",
    "^copyin$", "^copyout$", "put_user", "get_user", "might_fault", "might_sleep", "list_add",
    "list_del", "list_replace", "list_move", "list_splice", "^rb_", "^__rb_",
    "_indirect_thunk_", "string", "pointer", "snprintf", "scnprintf", "kasprintf",
    "kvasprintf", "printk", "va_format", "dev_info", "dev_notice", "dev_warn", "dev_err",
    "dev_alert", "dev_crit", "dev_emerg", "program_check_exception", "program_check_common",
    "del_timer", "flush_work", "__cancel_work_timer", "cancel_work_sync",
    "try_to_grab_pending", "flush_workqueue", "drain_workqueue", "destroy_workqueue",
    "queue_work", "finish_wait", "kthread_stop", "kobject_", "add_uevent_var",
    "get_device_parent", "device_add", "device_del", "device_unregister", "device_destroy",
    "device_release", "devres_release_all", "hwrng_unregister", "i2c_del_adapter",
    "__unregister_client", "device_for_each_child", "rollback_registered",
    "unregister_netdev", "sysfs_remove", "device_remove_file", "tty_unregister_device",
    "dummy_urb_enqueue", "usb_kill_urb", "usb_kill_anchored_urbs", "usb_control_msg",
    "usb_hcd_submit_urb", "usb_submit_urb", "^complete$", "wait_for_completion", "^kv?free$",
    "kfree_skb", "readb$", "readw$", "readl$", "readq$", "writeb$", "writew$", "writel$",
    "writeq$", "logic_in", "logic_out", r"^crc\d+", "crc_itu_t", "__might_resched",
    "assertfail", "^iput$", "^iput_final$", "^ihold$", "hex_dump_to_buffer", "print_hex_dump",
    "^klist_", "(trace|lockdep)_(hard|soft)irq", "^(un)?lock_page",
    "stack_trace_consume_entry", "arch_stack_walk", "stack_trace_save", "insert_work",
    "__queue_delayed_work", "queue_delayed_work_on", "ida_free",
    # arm64 translation exception handling path.
    "do_(kernel|translation)_fault", "do_mem_abort", "el1_abort", "el1h_64_sync(?:_handler)?",
    "print_tainted", "xas_(?:start|load|find)", "find_lock_entries",
    "truncate_inode_pages_range", "__phys_addr", "__fortify_report", "cleanup_srcu_struct",
    "rhashtable_lookup", "extract_(user|iter)_to_sg", "drop_nlink", "^get_taint$",
    "^put_device$", "lock_timer_base", "__timer_delete_sync", "sk_stop_timer_sync",
    "__mod_timer", "fast_dput", "dput",
    # Buffer-head helpers WARN about their caller's buffer.
    "mark_buffer_dirty",
    # Beyond syzkaller: the Rust panic machinery (demangled), never the culprit.
    "rust_begin_unwind", "^core::panicking::", "^core::option::(?:unwrap|expect)_failed",
    "^core::result::unwrap_failed",
)  # fmt: skip

# Fault-injection stacks are often interleaved with a crash report: a report that shows one is
# not trusted (the symbol may carry suffixes such as ".isra.7" or ".cold").
CORRUPTED_LINES: tuple[re.Pattern[str], ...] = (
    rx(r"^( \[\<?(?:0x)?[0-9a-f]+\>?\])? should_fail(slab)?(\.[a-z0-9.]+)?\+0x"),
)

STRIP_PREFIXES: tuple[str, ...] = (
    "SYSC_", "SyS_", "sys_", "__x64_", "__ia32_", "__arm64_", "____sys_", "___sys_", "__sys_",
    "__se_", "__se_sys_", "__do_sys_", "compat_SYSC_", "compat_SyS_", "ksys_",
)  # fmt: skip


def is_stack_start(line: str) -> bool:
    """Whether ``line`` opens a stack trace (any of STACK_START; cheap substring prefilter)."""
    if not (
        "race" in line or "Allocated" in line or "Freed" in line or "Uninit" in line
        or "badaddr" in line
    ):  # fmt: skip
        return False
    return any(p.search(line) for p in STACK_START)


def is_corrupted_line(line: str) -> bool:
    return "should_fail" in line and any(p.search(line) for p in CORRUPTED_LINES)


@lru_cache(maxsize=16384)
def strip_frame(frame: str) -> str:
    """The shortest name left after removing one syscall-wrapper prefix."""
    best = frame
    for prefix in STRIP_PREFIXES:
        if frame.startswith(prefix) and len(frame) - len(prefix) < len(best):
            best = frame[len(prefix) :]
    return best
