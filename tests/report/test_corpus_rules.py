"""Rules added for the real corpora (issue 10): each with the real snippet that needs it.

The snippets are cut from the mails and pastes in tests/data/corpus (file named per test).
"""

from __future__ import annotations

from kpanic.report import parse
from kpanic.report.prefixes import canonicalize


def soft(text: str) -> str:
    """The snippet as mailed: ``~~`` stands for the two trailing spaces of a soft break."""
    return text.replace("~~\n", "  \n")


# kasan-css-task-iter-advance-58ed49c8.txt: a 2019 syzbot mail, soft-wrapped by the sender
# (a cut line ends in two spaces), so the inlined helper's header and its "file:line" part,
# and the "Read of size" line's header, are on different lines.
SOFT_WRAPPED_KASAN = soft("""\
==================================================================
BUG: KASAN: null-ptr-deref in atomic_read~~
include/asm-generic/atomic-instrumented.h:26 [inline]
BUG: KASAN: null-ptr-deref in css_task_iter_advance+0x240/0x540~~
kernel/cgroup/cgroup.c:4503
Read of size 4 at addr 0000000000000004 by task syz-executor.2/26575

CPU: 1 PID: 26575 Comm: syz-executor.2 Not tainted 5.2.0-rc3-next-20190607~~
#11
Hardware name: Google Google Compute Engine/Google Compute Engine, BIOS~~
Google 01/01/2011
Call Trace:
  __dump_stack lib/dump_stack.c:77 [inline]
  dump_stack+0x172/0x1f0 lib/dump_stack.c:113
  __kasan_report.cold+0x5/0x36 mm/kasan/report.c:486
  kasan_report+0x12/0x20 mm/kasan/common.c:614
  check_memory_region_inline mm/kasan/generic.c:185 [inline]
  check_memory_region+0x123/0x190 mm/kasan/generic.c:191
  kasan_check_read+0x11/0x20 mm/kasan/common.c:94
  atomic_read include/asm-generic/atomic-instrumented.h:26 [inline]
  css_task_iter_advance+0x240/0x540 kernel/cgroup/cgroup.c:4503
  css_task_iter_start+0x18b/0x230 kernel/cgroup/cgroup.c:4543
""")


def test_soft_wrapped_mail_lines_are_glued() -> None:
    canon = canonicalize(SOFT_WRAPPED_KASAN).text
    assert "BUG: KASAN: null-ptr-deref in atomic_read include/asm-generic/" in canon
    assert "Not tainted 5.2.0-rc3-next-20190607 #11\n" in canon
    assert "BIOS Google 01/01/2011\n" in canon
    rep = parse(SOFT_WRAPPED_KASAN).primary
    assert rep is not None
    assert rep.title == "KASAN: null-ptr-deref Read in css_task_iter_advance"


# warning-warning-ath10k-usb-support-is-incomplete-7d4f1b30.txt: the message is the title.
SOFT_WRAPPED_WARNING = soft("""\
usb 1-1: New USB device found, idVendor=13b1, idProduct=0042,~~
bcdDevice=f9.d4
usb 1-1: New USB device strings: Mfr=0, Product=0, SerialNumber=0
usb 1-1: config 0 descriptor??
usb 1-1: WARNING: ath10k USB support is incomplete, don't expect anything~~
to work!
""")


def test_soft_wrapped_message_title_is_whole() -> None:
    rep = parse(SOFT_WRAPPED_WARNING).primary
    assert rep is not None
    assert rep.title == "WARNING: ath10k USB support is incomplete, don't expect anything to work!"


def test_one_line_ending_in_two_spaces_is_not_a_wrap() -> None:
    # One such line is a kernel line with trailing blanks, not a mail's soft break.
    text = soft("usb 1-1: WARNING: ath10k USB support is incomplete~~\nto work!\nfoo\n")
    assert canonicalize(text).text == text


def test_console_line_that_is_only_a_prefix_is_not_glued() -> None:
    # syzkaller corpus report 428: "[   44.382748][    C4]  " is a blank line of the console.
    text = "".join(
        f"[   44.38274{i}][    C4]  \n[   44.38274{i}][    C4] line {i}\n" for i in range(3)
    )
    assert canonicalize(text).text == text
