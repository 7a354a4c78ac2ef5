"""Undo a mail client's hard line wrap in a pasted console log.

Mail clients break long lines at about 72 columns: at the last space that fits (the space is
lost) or, for a word longer than the width, right at the width. A kernel line cut that way loses
its end to a new line that has no timestamp, so the crash line ("WARNING: CPU: 1 PID: 61 at
lib/refcount.c:28" without its function) or a lock line ("at: [<..>]" without the frame) no
longer carries what the title needs.

Only logs whose lines, once glued, mostly (half) start with a timestamp (or another console
prefix) are unwrapped: there a continuation line is unambiguous. A line is glued back to the one
before when it has no prefix (nor a timestamp anywhere), every line of the log fits in the wrap
width (the longest line, 60 to 100 columns), and the previous physical line was full: one
space-less word exactly the width long (a cut inside a word, glued without a space) or too long
to also take the next line's first word (a cut at a space, glued with one; ">=": wrappers keep
the cut space within the width). A log with fewer than ``MIN_JOINS`` such lines is left alone.

Mails wrapped by the sender (syzbot's mails before 2020, as the archives keep them) mark each
soft break instead: the cut line ends with two spaces (the one cut at plus one added), the rest
follows on the next line whether or not the log had timestamps. Those are glued back with one
space (:func:`soft_break_plan`) when a text has ``MIN_JOINS`` of them and each is within a mail
width; a kernel line never ends in exactly two spaces after a word in that position twice.
Mails sent as format=flowed (RFC 3676) end each soft-broken line with one space: in a mostly
timestamped log, an unprefixed line after a prefixed line (or its continuation) that ends in a
space is its continuation (:func:`flowed_plan`), whatever the width.
"""

from __future__ import annotations

import re

MIN_WIDTH = 60
MAX_WIDTH = 100
# A wrapped oops breaks many lines; one unprefixed line after a long one in a short log is more
# likely a program's own output (syzkaller's "executing program 1:") than a wrap.
MIN_LINES = 8
MIN_JOINS = 2
MAX_CONTINUATIONS = 8  # lines per prefixed line a wrapped log may have before gluing
# A line holding a console timestamp is a garbled line of its own, never a wrapped tail.
_TIMESTAMP = re.compile(r"\[ *[0-9]+\.[0-9]+\]", re.ASCII)
# A log with a line longer than any mail wrap width was not wrapped: cheap early rejection.
LONG_LINE = re.compile(rf"[^\n]{{{MAX_WIDTH + 1}}}")
# A soft break: a word, exactly two spaces, the end of the line, a line starting with a word.
SOFT_BREAK = re.compile(r"[^ \n]  \r?\n(?:> ?)*[^ \t\r\n]")
SOFT_WIDTH = 80  # the wrapped mails cut at 76-78 columns (the two spaces included)
# A flowed soft break: a line ending in a space, then a line starting with a word.
FLOWED_WIDTH = 66  # format=flowed senders cut at 72 or 78 columns; never below this
FLOWED_BREAK = re.compile(r"[^ \n] \r?\n(?:> ?)*[^ \t\r\n\[>]")


def join_plan(
    lengths: list[int], lines: list[str], prefixed: list[bool]
) -> list[tuple[int, str]] | None:
    """Which lines continue the line before, or None when the log does not look wrapped.

    ``lengths`` are the original physical line lengths (without CR), ``lines`` the canonical
    lines and ``prefixed`` whether each had a timestamp or console prefix. The result lists
    ``(index, glue)`` for every line to append to its predecessor with ``glue`` ("" or " ").
    """
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    if len(nonblank) < MIN_LINES:
        return None
    width = max(lengths)
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        return None
    # Not a timestamped log (a line without prefix is ordinary) unless a wrapped one: a long
    # line ("Modules linked in:") wraps into many, so only the check after gluing is strict.
    if MAX_CONTINUATIONS * sum(1 for i in nonblank if prefixed[i]) < len(nonblank):
        return None
    plan: list[tuple[int, str]] = []
    joinable = False  # the previous line is a prefixed line or a continuation of one
    for i, line in enumerate(lines):
        if not line.strip():
            joinable = False
            continue
        if prefixed[i]:
            joinable = True
            continue
        if joinable and i > 0 and _TIMESTAMP.search(line) is None:
            prev = lengths[i - 1]
            word = line.lstrip().split(" ", 1)[0]
            if prev == width and " " not in lines[i - 1].strip():
                plan.append((i, ""))  # one long word (a path) cut at the width
                continue
            if prev + 1 + len(word) >= width:
                plan.append((i, " "))
                continue
        joinable = False
    if len(plan) < MIN_JOINS:
        return None
    # Once glued, the log must be a timestamped one: most of its lines carry a prefix.
    if len(nonblank) - len(plan) > 2 * sum(1 for i in nonblank if prefixed[i]):
        return None
    return plan


def soft_break_plan(lines: list[str], prefixed: list[bool]) -> list[tuple[int, str]] | None:
    """Lines that continue a line ending in a two-space soft break, glued with none.

    ``lines`` are the canonical lines (quote marks already removed), ``prefixed`` whether each
    had a timestamp or console prefix: those are left to :func:`join_plan` (a console line that
    is only its prefix and two spaces is blank, not cut). The caller keeps one of the two
    spaces; see the module docstring for when a text counts as soft-wrapped.
    """
    plan: list[tuple[int, str]] = []
    for i in range(1, len(lines)):
        prev, line = lines[i - 1], lines[i]
        if (
            prev.endswith("  ")
            and not prev.endswith("   ")
            and len(prev) <= SOFT_WIDTH
            and not prefixed[i - 1]
            and not prefixed[i]
            and line[:1] not in ("", " ", "\t")
        ):
            plan.append((i, ""))
    return plan if len(plan) >= MIN_JOINS else None


def flowed_plan(
    lengths: list[int], lines: list[str], prefixed: list[bool]
) -> list[tuple[int, str]] | None:
    """Continuations of format=flowed soft breaks in a timestamped log, glued with none (the
    break's space stays), or None when the log is not mostly timestamped or has fewer than
    ``MIN_JOINS`` of them. ``lengths`` are the physical line lengths (quote marks included):
    a break is a cut only where the next word did not fit a mail width (``FLOWED_WIDTH``); a
    short console line with a trailing blank ("[U] ") before a program's output is no cut."""
    nonblank = sum(1 for line in lines if line.strip())
    if nonblank < MIN_LINES or 3 * sum(prefixed) < nonblank:
        return None
    plan: list[tuple[int, str]] = []
    joinable = False
    for i, line in enumerate(lines):
        if prefixed[i]:
            joinable = True
            continue
        prev = lines[i - 1] if i else ""
        word = len(line.split(" ", 1)[0])
        if (
            joinable
            and prev.endswith(" ")
            and FLOWED_WIDTH < lengths[i - 1] + word
            and lengths[i - 1] <= MAX_WIDTH
            and line[:1] not in ("", " ", "\t")
            and _TIMESTAMP.search(line) is None
        ):
            plan.append((i, ""))
            continue
        joinable = False
    return plan if len(plan) >= MIN_JOINS else None
