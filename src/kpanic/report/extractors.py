"""Custom guilty-frame pickers for stalls and hangs, where the top frame is a random victim.

During RCU stalls and lockups the CPU loops somewhere and the trace points at an arbitrary place
inside the loop; hung tasks sleep in generic waiting code. Both pick a representative frame deeper
in the stack instead (syzkaller's linuxStallFrameExtractor / linuxHangTaskFrameExtractor).
"""

from __future__ import annotations

import re

from kpanic.report.syntax import rx

# Generic dispatchers (syscall entry, workqueue, softirq, file and socket operations...): the
# frame just above one of them names the looping code.
STALL_ANCHORS: tuple[re.Pattern[str], ...] = tuple(
    rx(p)
    for p in (
        "process_one_work", "do_syscall_", "do_fast_syscall_", "sysenter_dispatch",
        "tracesys_phase2", "el0_svc_handler", "invoke_syscall", "ret_fast_syscall",
        "netif_receive_skb", "do_softirq", "call_timer_fn", "_run_timers", "run_timer_softirq",
        "hrtimer_run", "run_ksoftirqd", "smpboot_thread_fn", "^kthread$", "start_secondary",
        "cpu_startup_entry", "ret_from_fork",
        "vfs_write", "vfs_read", "vfs_iter_read", "vfs_iter_write", "do_iter_read",
        "do_iter_write", "call_read_iter", "call_write_iter", "new_sync_read", "new_sync_write",
        "vfs_ioctl", "ksys_ioctl", "compat_ioctl", "compat_sys_ioctl", "blkdev_driver_ioctl",
        "blkdev_ioctl", "^call_read_iter", "^call_write_iter", "do_iter_readv_writev",
        "^call_mmap", "mmap_region", "do_mmap", "do_dentry_open", "vfs_open",
        "^sock_sendmsg", "^sock_recvmsg", "^sock_release", "^__sock_release", "^setsockopt$",
        "kernel_setsockopt", "sock_common_setsockopt", "^listen$", "kernel_listen",
        "sk_common_release", "^sock_mmap", "^accept$", "kernel_accept", "^sock_do_ioctl",
        "^sock_ioctl", "^compat_sock_ioctl", "^nfnetlink_rcv_msg", "^rtnetlink_rcv_msg",
        "^netlink_dump", "^(sys_)?(socketpair|connect|ioctl)",
        "__do_fault", "do_page_fault", "^page_fault$",
        "__fput", "task_work_run", "exit_to_usermode", "smp_call_function", "tasklet_action",
        "tasklet_hi_action",
    )
)  # fmt: skip


_ANY_STALL_ANCHOR = re.compile("|".join(f"(?:{a.pattern})" for a in STALL_ANCHORS), re.ASCII)


def stall_frame(frames: list[str]) -> tuple[str, int]:
    """The frame just above the first generic dispatcher, or ("", -1)."""
    if not frames:
        return "", -1
    prev, prev_idx = frames[0], 0
    for i, frame in enumerate(frames):
        if _ANY_STALL_ANCHOR.search(frame):
            if "smp_call_function" in frame:
                prev, prev_idx = "smp_call_function", i
            return prev, prev_idx
        prev, prev_idx = frame, i
    return "", -1


_HANG_ANCHORS = {
    "rtnl_lock": "",
    "synchronize_rcu": "synchronize_rcu",
    "synchronize_srcu": "synchronize_rcu",
    "synchronize_net": "synchronize_rcu",
    "synchronize_sched": "synchronize_rcu",
}
_HANG_SKIP = (
    "sched", "_lock", "_slowlock", "down", "rwsem", "completion", "kthread", "wait",
    "synchronize", "context_switch", "__switch_to", "cancel_delayed_work", "rcu_barrier",
)  # fmt: skip


def hang_frame(frames: list[str]) -> tuple[str, int]:
    """Group hangs on rtnl_lock / synchronize_rcu; else the first non-waiting frame."""
    for i, frame in enumerate(frames):
        for anchor, replacement in _HANG_ANCHORS.items():
            if anchor in frame:
                return (replacement or frame), i
    for i, frame in enumerate(frames):
        if not any(s in frame for s in _HANG_SKIP):
            return frame, i
    return "", -1
