"""Pasted logs: the same crash behind syslog, journald, kmsg, <N>, caller tags, CRLF, mail quotes.

Each variant is derived from a real syzkaller corpus log; the parser must give the title the clean
log gets, and its offsets must point at the crash line in the text as pasted.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from kpanic.report import parse
from kpanic.report.prefixes import canonicalize
from tests.report.conftest import REPORT_DIR, read_corpus_case

TIMESTAMP = re.compile(r"^(?:<[0-9]+>)?\[ *[0-9]+\.[0-9]+\](?:\[ *[CT][0-9]+\])? ?")


def _lines(log: str, fn: Callable[[int, str], str]) -> str:
    return "".join(fn(i, line) + "\n" for i, line in enumerate(log.rstrip("\n").split("\n")))


def syslog(log: str) -> str:
    return _lines(log, lambda i, ln: f"Mar  3 12:00:{i % 60:02d} buildhost kernel: {ln}")


def journald(log: str) -> str:
    return _lines(log, lambda i, ln: f"2024-03-03T12:00:{i % 60:02d}+0000 buildhost kernel: {ln}")


def kmsg(log: str) -> str:
    return _lines(log, lambda i, ln: f"4,{i},{1000 + i},-;{TIMESTAMP.sub('', ln)}")


def loglevel(log: str) -> str:
    return _lines(log, lambda i, ln: "<4>" + TIMESTAMP.sub("", ln))


def caller_tags(log: str) -> str:
    return _lines(log, lambda i, ln: "[  T4242] " + TIMESTAMP.sub("", ln))


def crlf(log: str) -> str:
    return log.replace("\n", "\r\n")


def quoted(log: str) -> str:
    return _lines(log, lambda i, ln: "> " + ln if ln else ">")


def indented(log: str) -> str:
    return _lines(log, lambda i, ln: "\t" + ln if ln else "")


def commit_message(log: str) -> str:
    """Quoted in a commit message: prose, then the console log indented by two spaces."""
    prose = "The broken refcount will result in a warning like:\n"
    return prose + _lines(log, lambda i, ln: "  " + ln)


def no_timestamps(log: str) -> str:
    return _lines(log, lambda i, ln: TIMESTAMP.sub("", ln))


VARIANTS = {
    "syslog": syslog,
    "journald": journald,
    "kmsg": kmsg,
    "loglevel": loglevel,
    "caller-tags": caller_tags,
    "crlf": crlf,
    "mail-quoted": quoted,
    "tab-indented": indented,
    "no-timestamps": no_timestamps,
    "commit-message": commit_message,
}
# Corpus logs whose title does not depend on timestamps/caller tags (single context, whole
# report): KASAN, GPF, WARNING (old and new format), kmemleak, lockdep, KMSAN, Rust panic.
FILES = ("5", "130", "140", "151", "185", "200", "626", "743", "748")


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_keeps_title_and_offsets(name: str, variant: str) -> None:
    log = read_corpus_case(REPORT_DIR / name).log
    clean = parse(log).primary
    assert clean is not None
    messy = VARIANTS[variant](log)
    rep = parse(messy).primary
    assert rep is not None
    assert rep.title == clean.title
    assert rep.type == clean.type
    # The start is the beginning of the pasted crash line, the end a line end.
    assert rep.start == 0 or messy[rep.start - 1] == "\n"
    first_line = messy[rep.start :].split("\n", 1)[0]
    header = clean.text[clean.text_prefix_len :].split("\n", 1)[0]
    assert header.strip() in first_line
    assert rep.end == len(messy) or messy[rep.end] in "\r\n"


def test_clean_logs_are_not_copied() -> None:
    log = read_corpus_case(REPORT_DIR / "5").log
    canon = canonicalize(log)
    assert canon.text is log
    assert canon.to_original(17) == 17


def test_offsets_map_back_through_syslog_prefixes() -> None:
    log = "boot line\n[   1.000000] BUG: KASAN: use-after-free in foo+0x1/0x2\n"
    messy = syslog(log)
    rep = parse(messy).primary
    assert rep is not None
    assert messy[rep.start :].startswith("Mar  3 12:00:01 buildhost kernel: [   1.000000] BUG:")


def test_caller_tags_without_timestamps_separate_tasks() -> None:
    """Lines of another task interleaved in the report are left out of it."""
    log = (
        "[  T100] BUG: sleeping function called from invalid context at mm/slab.c:1\n"
        "[  T200] unrelated chatter from another task\n"
        "[  T100] Call Trace:\n"
        "[  T100]  dump_stack+0x1/0x2\n"
        "[  T100]  my_driver_ioctl+0x10/0x20\n"
        "[  T100]  do_syscall_64+0x1/0x2\n"
    )
    rep = parse(log).primary
    assert rep is not None
    assert rep.title == "BUG: sleeping function called from invalid context in my_driver_ioctl"
    assert "unrelated chatter" not in rep.text


def test_mail_quote_needs_most_lines_quoted() -> None:
    """A single '>' line (shell prompt, diff) does not switch quote stripping on."""
    log = (
        "> echo c > /proc/sysrq-trigger\n"
        "[  1.0] Kernel panic - not syncing: sysrq triggered crash\n"
    )
    rep = parse(log).primary
    assert rep is not None
    assert rep.title == "kernel panic: sysrq triggered crash"
