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


# mips-ci20-8-hung-task-malformed-timestamps.txt: the console lost each timestamp's fraction.
MALFORMED_TIMESTAMPS = """\
[  240.] INFO: task kinteractiveup:64 blocked for more than 120 seconds.
[  240.] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
[  240.] kinteractiveup  D 00000000     0    64      2 0x00100000
[  240.] Stack : 00000003 00000001 00000000 8003ca80 00000000 00000000 00000000 00000000
[  240.]         8c031e44 8c031e40 10000000 00000000 80484244 00000000 00000000 00000000
[  240.]         ...
[  240.] Call Trace:
[  240.] [<8066c218>] __schedule+0x2b8/0x7fc
[  240.] [<800735f0>] kthread+0x6c/0x90
[  240.] [<8001e9ac>] kernel_thread_helper+0x10/0x18
[  240.]
[  300.] JZ4780-EFUSE: vddq_set 0
"""


def test_timestamp_without_fraction_is_a_prefix() -> None:
    rep = parse(MALFORMED_TIMESTAMPS).primary
    assert rep is not None
    assert rep.title == "INFO: task hung in kernel_thread_helper"
    assert [f.function for f in rep.frames][:2] == ["__schedule", "kthread"]


# raspberrypi-linux-1587-hung-task-fuse-indented-syslog.txt: syslog lines without a host name,
# indented as a markdown code block under prose; arm "(callee) from (caller)" frames and no
# "Call Trace:" line, so the hang's stack rule finds no frame.
INDENTED_SYSLOG_HANG = """\
Hello. Possibly still relevant.
Ubuntu 16.04

    May 17 18:48:11 kernel: [ 6141.921740] INFO: task kworker/u8:0:5 blocked for more than 120 seconds.
    May 17 18:48:11 kernel: [ 6141.921764]       Tainted: G         C      4.14.17-v7+ #1090
    May 17 18:48:11 kernel: [ 6141.921785] kworker/u8:0    D    0     5      2 0x00000000
    May 17 18:48:11 kernel: [ 6141.921812] Workqueue: writeback wb_workfn (flush-8:1-fuseblk)
    May 17 18:48:11 kernel: [ 6141.921849] [<807762c0>] (__schedule) from [<80776938>] (schedule+0x50/0xa8)
    May 17 18:48:11 kernel: [ 6141.921868] [<80776938>] (schedule) from [<8014ac8c>] (io_schedule+0x20/0x40)
    May 17 18:48:11 kernel: [ 6141.921887] [<8014ac8c>] (io_schedule) from [<8021c4e4>] (__lock_page+0x100/0x128)
    May 17 18:48:11 kernel: [ 6141.921906] [<8021c4e4>] (__lock_page) from [<8022bb78>] (write_cache_pages+0x30c/0x4d4)
    May 17 18:48:11 kernel: [ 6141.921985] [<8022bb78>] (write_cache_pages) from [<7f4ba618>] (fuse_writepages+0x80/0xe4 [fuse])
"""  # noqa: E501


def test_indented_syslog_without_host_and_trace_without_call_trace_line() -> None:
    canon = canonicalize(INDENTED_SYSLOG_HANG).text
    assert "\n[ 6141.921740] INFO: task kworker/u8:0:5 blocked" in canon
    rep = parse(INDENTED_SYSLOG_HANG).primary
    assert rep is not None
    assert rep.title == "INFO: task hung in write_cache_pages"  # past the waiting frames
    # syzkaller's own title stays available
    assert parse(INDENTED_SYSLOG_HANG, syzkaller=True).primary.title == (  # type: ignore[union-attr]
        "INFO: task hung in corrupted"
    )


# ddnet-401-hung-task-only-unreliable-frames.txt: every frame is printed "? func".
UNRELIABLE_ONLY_HANG = """\
INFO: task DDRace64-Server:27090 blocked for more than 120 seconds.
"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
DDRace64-Server D ffff88007a2dd140     0 27090   3047 0x00000000
 ffff88007a2dd140 0000000000000086 0000000000000040 ffff8800081b81c0
Call Trace:
 [<ffffffff8135067c>] ? __mutex_lock_common.isra.5+0xff/0x164
 [<ffffffff8135056a>] ? mutex_lock+0x1a/0x2d
 [<ffffffff81104029>] ? walk_component+0x1f4/0x406
 [<ffffffff81105ea7>] ? do_last+0x108/0x58d
 [<ffffffff81106924>] ? path_openat+0xce/0x33a
 [<ffffffff81106c52>] ? do_filp_open+0x2a/0x6e
 [<ffffffff810fab6d>] ? do_sys_open+0x5e/0xe5
 [<ffffffff813561b2>] ? system_call_fastpath+0x16/0x1b
"""


def test_unreliable_frames_name_a_hang_as_a_last_resort() -> None:
    rep = parse(UNRELIABLE_ONLY_HANG).primary
    assert rep is not None
    assert rep.title == "INFO: task hung in walk_component"


# openrisc-linux-11-soft-lockup-ksoftirqd.txt: the excerpt stops two frames into the trace,
# above any dispatcher the stall extractor looks for; the PC line has no symbol.
STALL_EXCERPT = """\
[ 1020.840000] watchdog: BUG: soft lockup - CPU#0 stuck for 187s! [ksoftirqd/0:7]
[ 1020.840000] Modules linked in:
[ 1020.840000] CPU: 0 PID: 7 Comm: ksoftirqd/0 Not tainted 5.5.0-simple-smp #91
[ 1020.840000] CPU #: 0
[ 1020.840000]    PC: c03aa6e0    SR: 00008a7f    SP: c1025c68
[ 1020.840000] GPR00: 00000000 GPR01: c1025c68 GPR02: c1025c8c GPR03: 00000000
[ 1020.840000] Process ksoftirqd/0 (pid: 7, stackpage=c101b400)
[ 1020.840000]
[ 1020.840000] Stack:
[ 1020.840000] Call trace:
[ 1020.840000] [<5344f851>] ktime_get+0x70/0x1bc
[ 1020.840000] [<88164d97>] tcp_mstamp_refresh+0x30/0x190
"""


def test_stall_excerpt_without_dispatcher_is_blamed_on_its_top_frame() -> None:
    rep = parse(STALL_EXCERPT).primary
    assert rep is not None
    assert rep.title == "BUG: soft lockup in ktime_get"
    assert "BUG: soft lockup in corrupted" in rep.alt_titles


# dri-devel-mediatek-dp-null-deref-then-warning-quoted.txt: a "> "-quoted format=flowed reply;
# each cut line kept the space it was cut at (``~`` below), so a hard-wrap join that adds one
# gave "at  drivers/..." and the WARNING format no longer matched.
FLOWED_WARNING = """\
> [    3.183314] mediatek-drm mediatek-drm.9.auto: Not creating crtc 0~
> because component 14 is disabled or missing
> [    3.199404] Bogus possible_crtcs: [ENCODER:31:TMDS-31]~
> possible_crtcs=0x2 (full crtc mask=0x1)
> [    3.208081] WARNING: CPU: 6 PID: 68 at~
> drivers/gpu/drm/drm_mode_config.c:626~
> drm_mode_config_validate+0x1c8/0x548
> [    3.224789] Modules linked in:
> [    3.227838] CPU: 6 PID: 68 Comm: kworker/u16:1 Not tainted~
> 6.5.0-rc3-next-20230728+ #100
> [    3.235918] Hardware name: Google Spherion (rev0 - 3) (DT)
> [    3.241391] Workqueue: events_unbound deferred_probe_work_func
> [    3.247216] pstate: 60400009 (nZCv daif +PAN -UAO -TCO -DIT -SSBS~
> BTYPE=--)
> [    3.254167] pc : drm_mode_config_validate+0x1c8/0x548
> [    3.259209] lr : drm_mode_config_validate+0x1c8/0x548
> [    3.264250] sp : ffff8000804e3970
> [    3.267552] x29: ffff8000804e3980 x28: ffff4841827c1880 x27:~
> 0000000000000001
> [    3.274677] x26: 0000000000000001 x25: ffff4841825f5ab0 x24:~
> ffff4841825f5ab0
> [    3.281801] x23: ffff484182469880 x22: ffffa80dbfbdde28 x21:~
> ffffa80dbfbddba8
> [    3.288925] x20: ffff4841825f5800 x19: ffff4841825f5aa8 x18:~
> 0000000000000030
"""


def test_flowed_mail_is_joined_without_doubled_spaces() -> None:
    text = FLOWED_WARNING.replace("~\n", " \n")
    canon = canonicalize(text).text
    assert (
        "WARNING: CPU: 6 PID: 68 at drivers/gpu/drm/drm_mode_config.c:626 "
        "drm_mode_config_validate+0x1c8/0x548\n"
    ) in canon
    rep = parse(text).primary
    assert rep is not None
    assert rep.title == "WARNING in drm_mode_config_validate"


def test_short_console_line_with_trailing_blank_is_not_a_flowed_cut() -> None:
    # syzkaller corpus report 735: "[U] " lines before the executor's own output.
    text = "".join(f"[  460.96309{i}][ T3167] [U] \nexecuting program\n" for i in range(9))
    assert canonicalize(text).text == text


# rust-rnull-bug-then-rust-warning-truncated-symbol.txt: the WARNING header's mangled Rust name
# is cut at the printk line limit; the RIP line has it whole.
TRUNCATED_WARNING_SYMBOL = """\
------------[ cut here ]------------
WARNING: CPU: 0 PID: 31 at /home/fujita/git/linux-rust/drivers/block/rnull.rs:46 _RNvXCsafUg3oOYix8_5rnullNtB2_13NullBlkModu]
Modules linked in: rnull_mod(+)
CPU: 0 UID: 0 PID: 31 Comm: insmod Not tainted 6.14.0-rc1+ #104
RIP: 0010:_RNvXCsafUg3oOYix8_5rnullNtB2_13NullBlkModuleNtCsaYBeKL739Xz_6kernel13InPlaceModule4init+0x71/0x4f0 [rnull_mod]
"""  # noqa: E501


def test_warning_header_with_cut_symbol_is_named_from_rip() -> None:
    rep = parse(TRUNCATED_WARNING_SYMBOL).primary
    assert rep is not None
    assert rep.title == "WARNING in <rnull::NullBlkModule as kernel::InPlaceModule>::init"


# bcachefs-294-capital-kernel-bug-joined-padded-lines.txt: x86 report_bug() without
# CONFIG_DEBUG_BUGVERBOSE ("Kernel BUG at func+0x../0x.. [mod] [verbose debug info ..."), the
# paste's lines padded and joined by the issue tracker.
KERNEL_BUG_NOT_VERBOSE = """\
[49762.145406] ------------[ cut here ]------------                                                                                                            [49762.145409] Kernel BUG at __btree_iter_traverse_all.constprop.0+0x22f/0x2b0 [bcachefs] [verbose debug info unavailable]
[49762.145426] invalid opcode: 0000 [#1] SMP                                                                                                                   [49762.145431] CPU: 27 PID: 5269 Comm: rm Not tainted 5.13.7release+ #13
[49762.145435] Hardware name: Gigabyte Technology Co., Ltd. X399 DESIGNARE EX/X399 DESIGNARE EX-CF, BIOS F12 12/11/2019
[49762.145437] RIP:  0010:__btree_iter_traverse_all.constprop.0+0x22f/0x2b0 [bcachefs]
[49762.145450] Code: e8 16 df fe ff 80 63 16 fb 44 89 e0 48 83 c4 30 5b 5d 41 5c 41 5d 41 5e 41 5f c3 be 01 00
"""  # noqa: E501


def test_kernel_bug_without_file_is_titled_by_its_function() -> None:
    rep = parse(KERNEL_BUG_NOT_VERBOSE).primary
    assert rep is not None
    assert rep.title == "kernel BUG in __btree_iter_traverse_all"


def test_warning_header_cut_in_a_c_name_keeps_syzbots_title() -> None:
    # warning-warning-cpu-num-pid-num-at-net-wireless-6d3935c0.txt: the console was cut after
    # the function; syzbot titled the whole line, so the Rust rule must not take it.
    text = (
        "------------[ cut here ]------------\n"
        "WARNING: CPU: 0 PID: 46 at net/wireless/ibss.c:37 __cfg80211_ibss_join\n"
    )
    rep = parse(text).primary
    assert rep is not None
    assert (
        rep.title == "WARNING: CPU: NUM PID: NUM at net/wireless/ibss.c:LINE __cfg80211_ibss_join"
    )


# ayufan-rock64-187-paging-request-two-cpus.txt: two CPUs fault at once; their headers are
# printed back to back before the one oops ([#1]) that follows: one crash, one report.
TWO_HEADERS_ONE_OOPS = """\
[  625.659654] Unable to handle kernel paging request at virtual address 000ee028
[  625.659773] Unable to handle kernel paging request at virtual address 000e1028
[  625.659777] pgd = ffffffc0e4139000
[  625.659782] [000e1028] *pgd=0000000000000000, *pud=0000000000000000
[  625.659788] Internal error: Oops: 96000005 [#1] SMP
[  625.659801] Modules linked in: zram lz4_decompress lz4_compress ip_tables x_tables autofs4
[  625.659809] CPU: 1 PID: 709 Comm: gstglcontext Not tainted 4.4.120-rockchip-ayufan-209 #1
[  625.659811] Hardware name: Pine64 Rock64 (DT)
[  625.659814] task: ffffffc0f34a7000 task.stack: ffffffc0e4268000
[  625.659828] PC is at anon_vma_interval_tree_remove+0x20/0x258
[  625.659833] LR is at vma_adjust+0x214/0x510
[  625.659835] pc : [<ffffff80081b06ac>] lr : [<ffffff80081ba1c8>] pstate: 20000145
[  625.659837] sp : ffffffc0e426bc40
[  625.659841] x29: ffffffc0e426bc40 x28: 0000000000000000
"""


def test_back_to_back_headers_of_one_kind_are_one_report() -> None:
    reports = parse(TWO_HEADERS_ONE_OOPS).reports
    assert [r.title for r in reports] == [
        "BUG: unable to handle kernel paging request in anon_vma_interval_tree_remove"
    ]


# fedora-ask-15757-list-del-corruption-journal-ru.txt: journalctl in a Russian locale, the
# month is "июл"; with the prefix left on, the trace's frames were not read.
LOCALIZED_SYSLOG = """\
июл 27 14:08:03 laptop kernel: list_del corruption. prev->next should be ffff98679438a5d0, but was ca53e83f5e8cf5a8
июл 27 14:08:04 laptop kernel: ------------[ cut here ]------------
июл 27 14:08:04 laptop kernel: kernel BUG at lib/list_debug.c:51!
июл 27 14:08:04 laptop kernel: invalid opcode: 0000 [#1] SMP PTI
июл 27 14:08:04 laptop kernel: CPU: 4 PID: 148 Comm: kswapd0 Tainted: P           OE     5.13.4-200.fc34.x86_64 #1
июл 27 14:08:04 laptop kernel: Hardware name: ASUSTeK COMPUTER INC. N551JM/N551JM, BIOS N551JM.204 10/06/2014
июл 27 14:08:04 laptop kernel: RIP: 0010:__list_del_entry_valid.cold+0x31/0x47
июл 27 14:08:04 laptop kernel: Call Trace:
июл 27 14:08:04 laptop kernel:  __dentry_kill+0x89/0x180

"""  # noqa: E501


def test_syslog_prefix_with_a_localized_month_is_stripped() -> None:
    canon = canonicalize(LOCALIZED_SYSLOG).text
    assert canon.startswith("list_del corruption. prev->next should be ")
    rep = parse(LOCALIZED_SYSLOG).primary
    assert rep is not None
    assert rep.title == "BUG: corrupted list in __dentry_kill"


# kfence-kvm-fastop-exception-07b56969.txt: syzbot titled KFENCE reports without the access
# type until 2023; that name stays an alternative (not in syzkaller mode).
KFENCE_UAF = """\
==================================================================
BUG: KFENCE: use-after-free read in kvm_fastop_exception+0xf6a/0x1058

Use-after-free read at 0xffff88823bd2c020 (in kfence-#149):
 kvm_fastop_exception+0xf6a/0x1058
 d_lookup+0xd8/0x170 fs/dcache.c:2370
 lookup_dcache+0x1e/0x130 fs/namei.c:1520
 __lookup_hash+0x29/0x180 fs/namei.c:1543
 kern_path_locked+0x17e/0x320 fs/namei.c:2567
 handle_remove+0xa2/0x5fe drivers/base/devtmpfs.c:312
 handle drivers/base/devtmpfs.c:382 [inline]
 devtmpfs_work_loop drivers/base/devtmpfs.c:395 [inline]
 devtmpfsd+0x1b9/0x2a3 drivers/base/devtmpfs.c:437
"""


def test_kfence_title_has_its_earlier_name_as_alternative() -> None:
    rep = parse(KFENCE_UAF).primary
    assert rep is not None
    assert rep.title == "KFENCE: use-after-free read in kvm_fastop_exception"
    assert "KFENCE: use-after-free in kvm_fastop_exception" in rep.alt_titles
    upstream = parse(KFENCE_UAF, syzkaller=True).primary
    assert upstream is not None
    assert upstream.alt_titles == ["bad-access in kvm_fastop_exception"]


def test_earlier_titles_table() -> None:
    from kpanic.report.titles import earlier_titles

    assert earlier_titles("KASAN: slab-use-after-free Read in f2fs_write_end_io") == [
        "KASAN: use-after-free Read in f2fs_write_end_io"
    ]
    assert earlier_titles("BUG: Bad page state in corrupted") == ["BUG: Bad page state"]
    assert earlier_titles("KASAN: slab-out-of-bounds Read in foo") == []


# warning-mod-memcg-lruvec-state-4306b714.txt: a test error of a fresh linux-next kernel; the
# crash is in syz-fuzzer (which runs while syzbot tests the image), not in a fuzzing program.
SYZ_FUZZER_TEST_ERROR = """\
Hello,

syzbot found the following issue on:

HEAD commit:    06aeb1495c39 Add linux-next specific files for 20220225
git tree:       linux-next
console output: https://syzkaller.appspot.com/x/log.txt?x=17a69c8e700000
kernel config:  https://syzkaller.appspot.com/x/.config?x=8d8bf144f45f9b3
dashboard link: https://syzkaller.appspot.com/bug?extid=a526c269335f529d25c8
compiler:       gcc (Debian 10.2.1-6) 10.2.1 20210110, GNU ld (GNU Binutils for Debian) 2.35.2

IMPORTANT: if you fix the issue, please add the following tag to the commit:
Reported-by: syzbot+a526c269335f529d25c8@syzkaller.appspotmail.com

------------[ cut here ]------------
WARNING: CPU: 1 PID: 3590 at mm/memcontrol.c:749 __mod_memcg_lruvec_state+0x1ab/0x220
Modules linked in:
CPU: 1 PID: 3590 Comm: syz-fuzzer Not tainted 5.17.0-rc5-next-20220225-syzkaller #0
Hardware name: Google Google Compute Engine/Google Compute Engine, BIOS Google 01/01/2011
RIP: 0010:__mod_memcg_lruvec_state+0x1ab/0x220
"""


def test_crash_in_syz_fuzzer_may_be_a_test_error() -> None:
    rep = parse(SYZ_FUZZER_TEST_ERROR).primary
    assert rep is not None
    assert "linux-next test error: WARNING in __mod_memcg_lruvec_state" in rep.alt_titles
    executor = SYZ_FUZZER_TEST_ERROR.replace("Comm: syz-fuzzer", "Comm: syz-executor.0")
    rep = parse(executor).primary
    assert rep is not None
    assert not any("test error" in t for t in rep.alt_titles)


# gpf-ext4-acquire-dquot-72a6cb13.txt: arm64 KASAN faults on the shadow of a NULL-based
# address; syzbot titled the bug by its x86 form (general protection fault), and a kernel
# without KASAN calls it a NULL pointer dereference: both are alternatives.
ARM64_KASAN_SHADOW_FAULT = """\
Unable to handle kernel paging request at virtual address dfff800000000005
KASAN: null-ptr-deref in range [0x0000000000000028-0x000000000000002f]
Mem abort info:
  ESR = 0x0000000096000006
  EC = 0x25: DABT (current EL), IL = 32 bits
  SET = 0, FnV = 0
  EA = 0, S1PTW = 0
  FSC = 0x06: level 2 translation fault
Data abort info:
  ISV = 0, ISS = 0x00000006
  CM = 0, WnR = 0
[dfff800000000005] address between user and kernel address ranges
Internal error: Oops: 0000000096000006 [#1] PREEMPT SMP
Modules linked in:
CPU: 0 PID: 6080 Comm: syz-executor747 Not tainted 6.3.0-rc7-syzkaller-g14f8db1c0f9a #0
Hardware name: Google Google Compute Engine/Google Compute Engine, BIOS Google 04/14/2023
pstate: 80400005 (Nzcv daif +PAN -UAO -TCO -DIT -SSBS BTYPE=--)
pc : ext4_acquire_dquot+0x1d4/0x398 fs/ext4/super.c:6766
"""


def test_arm64_kasan_shadow_fault_has_its_other_names() -> None:
    rep = parse(ARM64_KASAN_SHADOW_FAULT).primary
    assert rep is not None
    assert rep.title == "BUG: unable to handle kernel paging request in ext4_acquire_dquot"
    assert "general protection fault in ext4_acquire_dquot" in rep.alt_titles
    assert (
        "BUG: unable to handle kernel NULL pointer dereference in ext4_acquire_dquot"
        in rep.alt_titles
    )
    # Without the KASAN line the fault is not known to be a NULL dereference.
    plain = ARM64_KASAN_SHADOW_FAULT.replace("KASAN: null-ptr-deref in range", "")
    rep = parse(plain).primary
    assert rep is not None
    assert not any(t.startswith("general protection") for t in rep.alt_titles)


def test_soft_lockup_and_rcu_stall_name_each_other() -> None:
    from kpanic.report.titles import earlier_titles

    assert earlier_titles("BUG: soft lockup in sys_mount") == [
        "INFO: rcu detected stall in sys_mount"
    ]
    assert earlier_titles("INFO: rcu detected stall in debug_check_no_obj_freed") == [
        "BUG: soft lockup in debug_check_no_obj_freed"
    ]


# broadcom-wl-32-cfg80211-connect-result-warning.txt, wrapped by a mail client at 72 columns:
# the "Modules linked in:" line alone becomes a dozen lines, so before gluing far fewer than a
# third of the lines carry a timestamp; the check after gluing still holds.
WARNING_WITH_LONG_MODULE_LIST = """\
Not sure if anyone else is seeing this, but I've seen this with both the 5.19 and 6.0-rc1 kernels, and maybe earlier too...

```
[40089.502762] ------------[ cut here ]------------
[40089.502768] WARNING: CPU: 4 PID: 409095 at net/wireless/sme.c:823 __cfg80211_connect_result+0x5ed/0x680 [cfg80211]
[40089.502875] Modules linked in: rfcomm nls_utf8 cifs cifs_arc4 cifs_md4 fscache netfs qrtr cmac algif_hash algif_skcipher af_alg bnep nls_iso8859_1 intel_rapl_msr intel_rapl_common snd_hda_codec_cirrus x86_pkg_temp_thermal snd_hda_codec_generic intel_powerclamp ledtrig_audio snd_hda_codec_hdmi snd_hda_intel snd_intel_dspcfg snd_intel_sdw_acpi snd_hda_codec snd_hda_core snd_hwdep snd_pcm kvm_intel btusb snd_seq_midi snd_seq_midi_event btrtl btbcm btintel btmtk sch_fq_codel snd_rawmidi kvm joydev wl(POE) snd_seq mei_pxp mei_hdcp sbs rapl bluetooth cmdlinepart input_leds bcm5974 applesmc ecdh_generic snd_seq_device intel_cstate ecc sbshc spi_nor mei_me apple_mfi_fastcharge snd_timer cfg80211 snd mei soundcore acpi_als industrialio_triggered_buffer kfifo_buf apple_gmux industrialio apple_bl mac_hid facetimehd(OE) videobuf2_dma_sg videobuf2_memops videobuf2_v4l2 videobuf2_common videodev mc coretemp ipmi_devintf ipmi_msghandler msr parport_pc ppdev lp ramoops parport reed_solomon pstore_blk

"""  # noqa: E501


def test_wrapped_log_with_a_long_module_list_is_unwrapped() -> None:
    from tests.corpus.corpus import mv

    text = mv.wrap(WARNING_WITH_LONG_MODULE_LIST, 72)
    assert max(len(line) for line in text.split("\n")) <= 72
    rep = parse(text).primary
    assert rep is not None
    assert rep.title == "WARNING in __cfg80211_connect_result"


# bug-commit-creds-2a6bcd8b.txt as a console log (no mail around it): syzbot's pre-2019 title
# "kernel BUG at file:LINE!" is an alternative of every such report, mail or not.
KERNEL_BUG_AT_FILE = """\
------------[ cut here ]------------
kernel BUG at kernel/cred.c:456!
invalid opcode: 0000 [#1] PREEMPT SMP KASAN
CPU: 1 PID: 3596 Comm: syz-executor409 Not tainted 5.18.0-rc2-next-20220414-syzkaller #0
Hardware name: Google Google Compute Engine/Google Compute Engine, BIOS Google 01/01/2011
RIP: 0010:commit_creds+0xf33/0x1360 kernel/cred.c:456
"""


def test_kernel_bug_at_file_title_is_an_alternative_outside_mails() -> None:
    rep = parse(KERNEL_BUG_AT_FILE).primary
    assert rep is not None
    assert rep.title == "kernel BUG in commit_creds"
    assert "kernel BUG at kernel/cred.c:LINE!" in rep.alt_titles
    assert parse(KERNEL_BUG_AT_FILE, syzkaller=True).primary.alt_titles == []  # type: ignore[union-attr]


# other-dballocag-5913ff8a.txt: a panic QR tail that kept only the end of a divide error (the
# "end trace" line and the repeated RIP/register dump); the title cannot say which fault it
# was, so every fault kind blamed on the RIP frame is an alternative, divide error included.
RIP_ONLY_TAIL = """\
 </TASK>
Modules linked in:
---[ end trace 0000000000000000 ]---
RIP: 0010:dbAllocAG+0x414/0xd30 fs/jfs/jfs_dmap.c:1399
Code: 03 0f b6 0c 11 48 89 fa 83 e2 07 83 c2 03 38 ca 7c 08 84 c9 0f 85 a7 08 00 00 41 8b 4d 2c 49 8d 7d 30 99 48 89 fe 48 c1 ee 03 <f7> f9 48 ba 00 00 00 00 00 fc ff df 0f b6 14 16 84 d2 74 09 80 fa
RSP: 0018:ffffc9000450fbc8 EFLAGS: 00010216
RAX: 0000000000000400 RBX: 000000000000000a RCX: 0000000000000000
RDX: 0000000000000000 RSI: 1ffff11004cce406 RDI: ffff888026672030
RBP: 0000000000000000 R08: 0000000000000005 R09: 000000000000001f
R10: 000000000000000a R11: 0000000000000002 R12: ffff88807650f000
R13: ffff888026672000 R14: 0000000000000000 R15: 000000000000000c
FS:  000055558401d380(0000) GS:ffff8880b8600000(0000) knlGS:0000000000000000
CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033
CR2: 0000557f78216048 CR3: 00000000772e0000 CR4: 0000000000350ef0
Kernel panic - not syncing: Fatal exception
"""  # noqa: E501


def test_rip_only_tail_has_every_rip_blamed_fault_as_alternative() -> None:
    rep = parse(RIP_ONLY_TAIL, tail=True).primary
    assert rep is not None
    assert rep.title == "corrupted report (start lost) in dbAllocAG"
    for title in (
        "divide error in dbAllocAG",
        "stack segment fault in dbAllocAG",
        "invalid opcode in dbAllocAG",
        "general protection fault in dbAllocAG",
    ):
        assert title in rep.alt_titles


# syzkaller corpus report 387 (WARNING in aiptek_open/usb_submit_urb), the V30 panic-QR tail:
# the header is lost, panic_on_warn and the RIP in usb_submit_urb remain; kinds.py titles such
# a WARNING by the driver function that submitted the URB, and so does the tail now.
USB_SUBMIT_URB_TAIL = """\
[  383.362753][ T5643]  do_invalid_op+0x32/0x40
[  383.367177][ T5643]  ? usb_submit_urb+0x119a/0x13c0
[  383.372216][ T5643]  invalid_op+0x14/0x20
[  383.376395][ T5643] RIP: 0010:usb_submit_urb+0x119a/0x13c0
[  383.402333][ T5643] RSP: 0018:ffff8881af737030 EFLAGS: 00010282
[  383.448333][ T5643]  ? vprintk_func+0x7d/0x113
[  383.452948][ T5643]  aiptek_open+0xd5/0x130
[  383.457281][ T5643]  input_open_device+0x173/0x280
[  383.467329][ T5643]  kbd_connect+0xfe/0x160
[  383.777638][ T5643] Kernel Offset: disabled
[  383.782074][ T5643] Rebooting in 86400 seconds..
[  383.782074] Kernel panic - not syncing: panic_on_warn set ...
[  383.782074] Kernel Offset: disabled
[  383.782074] ---[ end Kernel panic - not syncing: panic_on_warn set ... ]---
"""


def test_headless_warning_in_usb_submit_urb_names_the_driver() -> None:
    rep = parse(USB_SUBMIT_URB_TAIL, tail=True).primary
    assert rep is not None
    assert rep.title == "WARNING in aiptek_open/usb_submit_urb"
    assert "WARNING in aiptek_open" in rep.alt_titles


# wz-mini-hacks-460-mips-kthread-data-recursive-fault.txt: a MIPS oops (3.10) names the faulting
# function only on its "epc   : <address> func+0x4/0xc" line; no Call Trace follows.
MIPS_EPC_ONLY = """\
[   16.883564] CPU 0 Unable to handle kernel paging request at virtual address fffffff0, epc == 8005d844, ra == 800575ec
[   16.894519] Oops[#6]:
[   16.896857] CPU: 0 PID: 4 Comm: kworker/0:0 Tainted: G      D    O 3.10.14__isvp_swan_1.0__ #120
[   16.905924] task: 8402d440 ti: 84042000 task.ti: 84042000
[   16.911496] $ 0   : 00000000 10001c00 00000000 84003380
[   16.916887] $ 4   : 8402d440 00000000 ffffffff 00000000
[   16.922280] $ 8   : 9c35848e 00000000 00000000 746f6f62
[   16.927674] $12   : 00000000 00000000 00000000 00000050
[   16.933066] $16   : 00000000 804e4100 0000000b 00000028
[   16.938458] $20   : 804e0000 804e0000 80481270 8402d5cc
[   16.943866] $24   : 00000003 8006bd8c
[   16.949257] $28   : 84042000 84043378 8402d550 800575ec
[   16.954663] Hi    : 00000000
[   16.957630] Lo    : 00000000
[   16.960605] epc   : 8005d844 kthread_data+0x4/0xc
[   16.965454]     Tainted: G      D    O
[   16.969318] ra    : 800575ec wq_worker_sleeping+0x14/0xcc
[   16.974889] Status: 10001c02 KERNEL EXL
[   16.978932] Cause : 80800008
[   16.981890] BadVA : fffffff0
[   16.984854] PrId  : 00d00100 (Ingenic Xburst)
"""  # noqa: E501


def test_mips_epc_line_names_the_function() -> None:
    rep = parse(MIPS_EPC_ONLY).primary
    assert rep is not None
    assert rep.title == "BUG: unable to handle kernel paging request in kthread_data"


# openzfs-3640-gpf-header-interleaved-with-shell-prompt.txt: a shell prompt was printed into the
# header line and garbled its timestamp; the lines after it are stamped, so the report follows
# their console and keeps its RIP line.
GARBLED_HEADER_STAMP = """\
[root@[arch - te s3t 0.653714] general protection fault: 0000 [#1] ~]# PREEMPT SMP
[   30.656008] Modules linked in: loop nls_iso8859_1 nls_cp437 vfat fat ext4 crc16 mbcache jbd2 mousedev ppdev bochs_drm ttm e1000 drm_kms_helper evdev pcspkr psmouse drm mac_hid syscopyarea sysfillrect sysimgblt serio_raw parport_pc i2c_piix4 i2c_core acpi_cpufreq parport button intel_agp intel_gtt processor sch_fq_codel ip_tables x_tables zfs(PO) zunicode(PO) zcommon(PO) znvpair(PO) spl(O) zavl(PO) sr_mod cdrom sd_mod ata_generic pata_acpi atkbd libps2 floppy ata_piix i8042 serio libata scsi_mod virtio_net virtio_pci virtio_blk virtio_ring virtio
[   30.656679] CPU: 1 PID: 618 Comm: vdev_id Tainted: P           O    4.1.2-2-ARCH #1
[   30.674522] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.8.2-20150617_082717-anatol 04/01/2014
[   30.674522] task: ffff88007b5cbd20 ti: ffff880072428000 task.ti: ffff880072428000
[   30.679796] RIP: 0010:[<ffffffff81174cae>]  [<ffffffff81174cae>] put_compound_page+0x6e/0x230
[   30.679796] RSP: 0018:ffff88007242bc78  EFLAGS: 00010282
[   30.679796] RAX: 0000000055abe9db RBX: ffffea0001ca4f80 RCX: ffff88007242bcd0
[   30.684248] RDX: ffffea0001c90b60 RSI: 0000000000000206 RDI: ffffea0001ca4f80
"""  # noqa: E501


def test_header_with_a_garbled_timestamp_follows_the_next_lines() -> None:
    rep = parse(GARBLED_HEADER_STAMP).primary
    assert rep is not None
    assert rep.title == "general protection fault in put_compound_page"
