"""The November 2026 signature rule sets, frozen: ``2026-11-15`` and ``2026-11-22``.

Nothing here may change: stored groups are keyed by (version, signature), and the golden files
``tests/classify/golden/2026-11-15.tsv`` and ``2026-11-22.tsv`` fail on any change to these
versions' output. Every table is immutable (compiled regexes, tuples) and belongs to these
versions alone; a newer version builds its own tables (``kpanic.classify.sig_2026_12_03``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kpanic.classify import normalize
from kpanic.classify.sigcore import (
    RuleSet,
    SigFrame,
    SigRule,
    SigState,
    collapse_recursion,
    frame_filter,
    frame_rename,
    inline_to_caller,
    kasan_at_addr,
    no_frames,
    title_function,
    title_step,
)

# Reporting and exception machinery, sanitizer runtimes, lock primitives and string helpers:
# they sit on top of many unrelated stacks and say nothing about the bug (compare Socorro's
# irrelevant/prefix signature lists and syzkaller's skip list for titles).
MACHINERY_2026_11_22 = re.compile(
    r"^(?:dump_stack\w*|show_stack|show_regs|__show_regs|print_address_description\w*"
    r"|print_report|print_trailer|print_track|describe_object\w*|kasan_\w+|__kasan_\w+"
    r"|____kasan_\w+|__asan_\w+|asan_\w+|kmsan_\w+|__msan_\w+|__kmsan_\w+|kcsan_\w+"
    r"|__tsan_\w+|kfence_\w+|__kfence_\w+|check_memory_region\w*|memory_is_poisoned\w*"
    r"|__warn|warn_slowpath\w*|__warn_printk|report_bug|handle_bug|fixup_bug\w*|do_error_trap"
    r"|do_trap|do_invalid_op|exc_\w+|asm_exc_\w+|invalid_op|die|__die\w*|oops_\w+|no_context"
    r"|__bad_area\w*|bad_area\w*|page_fault_oops|kernelmode_fixup_or_oops|do_user_addr_fault"
    r"|handle_page_fault|__do_page_fault|do_page_fault|do_general_protection|general_protection"
    r"|panic|nmi_\w+|rcu_dump_cpu_stacks|print_cpu_stall\w*|check_cpu_stall|rcu_sched_clock_irq"
    r"|debug_print_object|__debug_object_\w+|debug_object_\w+|debug_check_no_obj_freed\w*"
    r"|ubsan_\w+|__ubsan_\w+|lockdep_\w+|__lock_acquire|lock_acquire|lock_release"
    r"|print_\w+_bug|print_usage_bug|mark_lock\w*|validate_chain|check_\w+_usage"
    r"|__might_sleep|__might_resched|___might_sleep|__might_fault|might_fault"
    r"|refcount_warn_saturate|refcount_\w+|kmemleak_\w+|create_object\w*"
    r"|rust_begin_unwind|__rustc::\w+|rust_helper_BUG|rust_panic|core::panicking::\w+|core::result::unwrap_failed"
    r"|core::option::\w+_failed|__rust_\w+"
    r"|dump_backtrace\w*|show_trace\w*|sched_show_task|arch_stack_walk|stack_trace_save\w*"
    r"|save_trace|save_stack\w*|__save_stack_trace|print_stack_trace|stack_depot_\w+"
    r"|should_fail\w*|should_failslab|fail_dump|__should_failslab|warn_alloc\w*"
    r"|__sanitizer_cov_\w+|write_comp_data|msan_\w+|check_preemption_disabled"
    r"|debug_smp_processor_id|__this_cpu_preempt_check|trace_hardirqs_\w+|lockdep_hardirqs_\w+"
    r"|print_irqtrace_events|debug_lockdep_rcu_enabled|rcu_lockdep_current_cpu_online"
    r"|lockdep_rcu_suspicious|arch_trigger_cpumask_backtrace|nmi_trigger_cpumask_backtrace"
    r"|trigger_single_cpu_backtrace|rcu_dump_\w+|rcu_check_gp_kthread_starvation"
    r"|rcu_print_\w+|print_other_cpu_stall|__switch_to\w*|context_switch|finish_task_switch\w*"
    r"|_*preempt_schedule\w*|bad_page|__cond_resched|_cond_resched|schedule_\w+|__schedule_\w+"
    r"|_raw_spin_\w+|_raw_read_\w+|_raw_write_\w+|do_raw_spin_\w+|queued_spin_lock_slowpath"
    r"|native_queued_spin_lock_slowpath|__mutex_lock\w*|mutex_lock\w*|mutex_unlock|down_\w+"
    r"|up_\w+|rwsem_\w+|__rwsem_\w+|__schedule|schedule|schedule_timeout|schedule_preempt_\w+"
    r"|io_schedule\w*|__wait_for_common|wait_for_completion\w*"
    r"|memcpy|__memcpy|memmove|__memmove|memset|__memset|memcmp|strlen|strnlen|strcmp|strncmp"
    r"|strcpy|strncpy|strscpy|sized_strscpy|copy_user_\w+|_copy_to_user|_copy_from_user"
    r"|__copy_user\w*|copy_to_user|copy_from_user|rep_movs_alternative|kmalloc\w*|__kmalloc\w*"
    r"|kfree|kvfree|kmem_cache_\w+|slab_free\w*|__slab_free|__kmem_cache_\w+)$"
)


def _not_machinery(f: SigFrame) -> bool:
    return not MACHINERY_2026_11_22.match(normalize.strip_compiler_suffix(f.function))


# Where every stack ends: syscall entry, kthreads, interrupts. Never meaningful.
ENTRY_2026_11_22 = re.compile(
    r"^(?:entry_SYSCALL\w*|do_syscall_\w+|do_fast_syscall\w*|__do_fast_syscall\w*|ret_from_fork\w*"
    r"|kthread|worker_thread|process_one_work|process_scheduled_works|smpboot_thread_fn"
    r"|asm_sysvec_\w+|sysvec_\w+|irq_exit_rcu|__irq_exit_rcu|__do_softirq|handle_softirqs"
    r"|do_softirq\w*|__sysvec_\w+|el0_\w+|el1_\w+|el0t_\w+|el1h_\w+|invoke_syscall|cpu_startup_entry"
    r"|do_idle|start_secondary|secondary_startup_64\w*|common_startup_64)$"
)


def _frames_for_generic_titles(n_named: int, n_generic: int) -> Callable[[SigState], str | None]:
    """A title that names a function needs fewer frames than one that does not."""

    def apply(st: SigState) -> str | None:
        n = n_named if title_function(st.title) else n_generic
        if len(st.frames) <= n:
            return None
        st.frames = st.frames[:n]
        kind = "names a function" if n == n_named else "names no function"
        return f"kept the top {n} frames (the title {kind})"

    return apply


# ---------------------------------------------------------------------------------------------
# Rule sets
# ---------------------------------------------------------------------------------------------

TITLE_RULES_2026_11: tuple[SigRule, ...] = (
    SigRule(
        "title-whitespace",
        "squeeze whitespace, drop non-printables",
        title_step(normalize.squeeze, "whitespace"),
    ),
    SigRule(
        "title-offsets",
        "func+0x1c/0x80 -> func",
        title_step(normalize.replace_offsets, "offsets removed"),
    ),
    SigRule(
        "title-addresses",
        "hex addresses -> ADDR",
        title_step(normalize.replace_addresses, "addresses"),
    ),
    SigRule(
        "title-executor",
        "syz-executor.N, syz.P.N -> syz-executor",
        title_step(normalize.replace_executor, "executor name"),
    ),
    SigRule(
        "title-numbers",
        "file.c:N -> file.c:LINE, CPU#N -> CPU, numbers -> NUM",
        title_step(normalize.replace_numbers, "numbers"),
    ),
    SigRule(
        "title-compiler-suffix",
        ".cold/.isra.N/.constprop.N/.part.N/.llvm.N removed",
        title_step(normalize.strip_compiler_suffix, "compiler clone suffix"),
    ),
    SigRule(
        "title-kasan-at-addr",
        "old KASAN titles end in 'at addr ADDR'",
        title_step(kasan_at_addr, "old KASAN 'at addr' suffix"),
    ),
)

FRAME_CLEANUP_2026_11: tuple[SigRule, ...] = (
    SigRule(
        "frames-drop-unreliable",
        "'? ' frames are stack garbage the unwinder guessed",
        frame_filter(lambda f: not f.unreliable, "unreliable '?' frames"),
    ),
    SigRule(
        "frames-tool-prefix",
        "__cfi_/__pfx_ prefixes removed",
        frame_rename(normalize.strip_tool_prefix, "tool prefix"),
    ),
    SigRule(
        "frames-compiler-suffix",
        "compiler clone suffixes removed",
        frame_rename(normalize.strip_compiler_suffix, "compiler clone suffix"),
    ),
    SigRule(
        "frames-rust-hash",
        "legacy Rust ::h<hash> removed",
        frame_rename(normalize.strip_rust_hash, "Rust symbol hash"),
    ),
)

RULES_2026_11_22: tuple[SigRule, ...] = (
    *TITLE_RULES_2026_11,
    *FRAME_CLEANUP_2026_11,
    SigRule(
        "title-inline-caller", "an inlined title function becomes its caller", inline_to_caller
    ),
    SigRule(
        "frames-drop-inline",
        "[inline] frames exist only in symbolized reports",
        frame_filter(lambda f: not f.inline, "inline frames"),
    ),
    SigRule(
        "frames-drop-machinery",
        "reporting, sanitizer, lock and string helpers dropped",
        frame_filter(_not_machinery, "machinery frames"),
    ),
    SigRule(
        "frames-drop-entry",
        "syscall/kthread/irq entry frames dropped",
        frame_filter(lambda f: not ENTRY_2026_11_22.match(f.function), "entry frames"),
    ),
    SigRule("frames-collapse-recursion", "consecutive repeats count once", collapse_recursion),
    SigRule(
        "frames-top",
        "the first meaningful frame, only when the title names no function",
        _frames_for_generic_titles(0, 1),
    ),
)

RULES_2026_11_15: tuple[SigRule, ...] = (
    *TITLE_RULES_2026_11,
    SigRule("frames-none", "title only (syzkaller's own grouping)", no_frames),
)


RULESET_2026_11_15 = RuleSet(
    "2026-11-15",
    "Normalised title only, as syzkaller groups bugs.",
    RULES_2026_11_15,
)
RULESET_2026_11_22 = RuleSet(
    "2026-11-22",
    "Normalised title (an inlined title function becomes its caller); when the title "
    "names no function (generic or corrupted), plus the first meaningful frame.",
    RULES_2026_11_22,
)
