"""Titles syzbot gave a crash in its mail subjects, beyond the ones the parser computes.

Only for texts that are syzbot mails (they say "syzbot found the following issue" or carry a
``Reported-by: syzbot+`` tag), so syzkaller's console-log corpus never sees these:

- a crash while booting or testing a freshly built kernel is titled ``<tree> boot error: T`` or
  ``<tree> test error: T``; the mail names the tree (``git tree: linux-next``) but not which
  of the two it was, and such mails have no reproducer nor a fuzzing program's crash (a
  test error may be in ``syz-fuzzer``), so both are alternatives;
- before 2019 syzbot titled ``kernel BUG at`` reports by the BUG's file, as printed:
  ``kernel BUG at fs/ext4/inode.c:LINE!``: that alternative is given to every report,
  mail or not, by titles.earlier_titles (a console log of the crash names it the same).
"""

from __future__ import annotations

import re

_MAIL = re.compile(
    r"^(?:> ?)*(?:syzbot (?:has )?found |syzbot has tested|Reported-by: syzbot\+)", re.M
)
_TREE = re.compile(r"^(?:> ?)*git tree:[ \t]+(\S+)(?:[ \t]+(\S+))?", re.M)
# A crash in a fuzzing program (syz-executor, syz.1.2, syz-executor.3): not a boot or test error.
# syz-fuzzer itself runs when syzbot tests a fresh kernel, so its crashes can be test errors.
_EXECUTOR = re.compile(r"Comm: syz(?!-fuzzer)", re.ASCII)


def is_syzbot_mail(text: str) -> bool:
    return "syzbot" in text and _MAIL.search(text) is not None


def tree_names(text: str) -> list[str]:
    """Names syzbot gives the mail's tree: ``linux-next``; ``usb-testing`` for a URL with a
    branch; ``riscv/fixes`` for ``.../riscv/linux.git fixes``."""
    m = _TREE.search(text)
    if m is None:
        return []
    tree, branch = m.group(1), m.group(2)
    if "/" not in tree:
        return [tree]
    parts = tree.rstrip("/").removesuffix(".git").split("/")
    names = [branch] if branch else []
    if branch and len(parts) >= 2:
        names.append(f"{parts[-2]}/{branch}")
    names.append(parts[-1])
    return list(dict.fromkeys(n for n in names if n))


def mail_titles(text: str, title: str, report_text: str) -> list[str]:
    """Extra titles syzbot may have mailed this crash under (empty unless a syzbot mail)."""
    if not is_syzbot_mail(text):
        return []
    out: list[str] = []
    if "syz repro:" not in text and _EXECUTOR.search(report_text) is None:
        for tree in tree_names(text):
            out += [f"{tree} boot error: {title}", f"{tree} test error: {title}"]
    return out
