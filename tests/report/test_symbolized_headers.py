"""Symbolized headers: one crash, the raw log's title (issue 10, items 2 and 7).

syzbot and scripts/decode_stacktrace.sh repeat a header line for every inlined function,
innermost first (``BUG: KASAN: ... in instrument_atomic_read_write include/..h:96 [inline]``
... ``BUG: KASAN: ... in __sco_sock_close+0x2bc/0x690 net/bluetooth/sco.c:444``). The chain
is one report, and its title names what the raw console log names: the last, non-inlined
function (or, when only the first line survived, the first non-inlined frame after it).
"""

from __future__ import annotations

from pathlib import Path

from kpanic.report import parse

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "syzbot-kasan-uaf-sco-symbolized.txt"
SUBJECT = "KASAN: slab-use-after-free Write in __sco_sock_close"
CHAIN_TAIL = (
    "BUG: KASAN: slab-use-after-free in atomic_dec_and_test "
    "include/linux/atomic/atomic-instrumented.h:1375 [inline]\n"
    "BUG: KASAN: slab-use-after-free in hci_conn_drop include/net/bluetooth/hci_core.h:1523 "
    "[inline]\n"
    "BUG: KASAN: slab-use-after-free in __sco_sock_close+0x2bc/0x690 net/bluetooth/sco.c:444\n"
)
# Header and RIP chains as syzbot mailed them (net: "ipv6: ... skb_reset_transport_header_careful",
# upstream commit d45cf1e7d718 quoting the syzbot report; indentation as in the commit message).
WARNING_2024 = """------------[ cut here ]------------
WARNING: CPU: 0 PID: 5871 at ./include/linux/skbuff.h:3032 skb_reset_transport_header include/linux/skbuff.h:3032 [inline]
WARNING: CPU: 0 PID: 5871 at ./include/linux/skbuff.h:3032 ipv6_gso_segment+0x15e2/0x21e0 net/ipv6/ip6_offload.c:151
Modules linked in:
CPU: 0 UID: 0 PID: 5871 Comm: syz-executor211 Not tainted 6.16.0-rc6-syzkaller-g7abc678e3084 #0 PREEMPT(full)
Hardware name: Google Google Compute Engine/Google Compute Engine, BIOS Google 07/12/2025
 RIP: 0010:skb_reset_transport_header include/linux/skbuff.h:3032 [inline]
 RIP: 0010:ipv6_gso_segment+0x15e2/0x21e0 net/ipv6/ip6_offload.c:151
Call Trace:
 <TASK>
  skb_mac_gso_segment+0x31c/0x640 net/core/gso.c:53
  nsh_gso_segment+0x54a/0xe10 net/nsh/nsh.c:110
  skb_mac_gso_segment+0x31c/0x640 net/core/gso.c:53
  __skb_gso_segment+0x342/0x510 net/core/gso.c:124
  skb_gso_segment include/net/gso.h:83 [inline]
  validate_xmit_skb+0x857/0x11b0 net/core/dev.c:3950
"""  # noqa: E501


def _mail() -> str:
    return FIXTURE.read_text().partition("\n\n")[2]


def test_header_chain_is_one_report_with_the_subject_title() -> None:
    result = parse(_mail())
    assert [r.title for r in result.reports] == [SUBJECT]
    assert result.primary is not None and result.primary.guilty_frame == "__sco_sock_close"
    assert result.primary.type == "KASAN-USE-AFTER-FREE-WRITE"


def test_lone_inline_header_names_the_first_outer_frame() -> None:
    # Only the innermost line of the chain survived (a paste that kept the first line).
    mail = _mail().replace(CHAIN_TAIL, "")
    assert "sco_sock_close+0x2bc/0x690 net/bluetooth/sco.c:444\n" in mail  # the stack frame
    assert [r.title for r in parse(mail).reports] == [SUBJECT]


def test_header_chain_with_console_timestamps() -> None:
    lines = _mail().split("\n")
    stamped = "\n".join(f"[  101.{i:06d}] {line}" for i, line in enumerate(lines))
    assert [r.title for r in parse(stamped).reports] == [SUBJECT]


def test_2024_warning_header_chain() -> None:
    for text in (WARNING_2024, WARNING_2024.replace(WARNING_2024.split("\n")[2] + "\n", "")):
        reports = parse(text).reports
        assert [r.title for r in reports] == ["WARNING in ipv6_gso_segment"]


def test_kmsan_inline_header_is_a_kmsan_title() -> None:
    # Constructed from the sco fixture's frames in KMSAN's layout (stack right after the
    # header, no "Call Trace:"): "BUG: " and the file must not leak into the title.
    text = (
        "BUG: KMSAN: uninit-value in hci_conn_drop include/net/bluetooth/hci_core.h:1523 [inline]\n"
        " hci_conn_drop include/net/bluetooth/hci_core.h:1523 [inline]\n"
        " __sco_sock_close+0x2bc/0x690 net/bluetooth/sco.c:444\n"
        " sco_sock_release+0x6f/0x2c0 net/bluetooth/sco.c:1246\n"
        "\nUninit was created at:\n"
        " hci_conn_add+0xc2/0x1770 net/bluetooth/hci_conn.c:957\n"
    )
    rep = parse(text).primary
    assert rep is not None
    assert (rep.title, rep.type) == (
        "KMSAN: uninit-value in __sco_sock_close",
        "KMSAN-UNINIT-VALUE",
    )
