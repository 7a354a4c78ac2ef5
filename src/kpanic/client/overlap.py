"""One crash found in two places (an oops in the journal and in pstore; kdump's dmesg and
kern.log) is offered once: the fuller text is kept and the other source is noted. Only
crashes of different sources recorded within an hour of each other are compared.

Texts are compared by their message lines with the prefixes that differ between sources
removed (syslog and journal prefixes, ``<N>`` levels, ``[ 12.345]`` timestamps, ``[ T1]``
caller tags); a crash whose lines are (nearly) all in another crash's text is the same crash.
"""

from __future__ import annotations

import re
from typing import Final

from kpanic.client.model import Crash

_PREFIX: Final = re.compile(
    r"^(?:\S+\s+\d+\s+\d\d:\d\d:\d\d\s+\S+\s+kernel:\s*"  # syslog "Nov 22 01:02:03 host kernel:"
    r"|\d{4}-\d\d-\d\dT\S+\s+\S+\s+kernel:\s*)?"  # ISO syslog prefix
    r"(?:<\d{1,3}>)?\s*(?:\[\s*\d+\.\d+\]\s*)?(?:\[\s*[TC]\d+\]\s*)?"
)
MIN_LINE: Final = 12  # shorter lines ("---[ end trace ]---", blank) say little
SAME_SHARE: Final = 0.9
SAME_TIME_S: Final = 3600.0  # the journal's and pstore's times of one crash are close


def message_lines(text: str) -> set[str]:
    out = set()
    for line in text.splitlines():
        msg = _PREFIX.sub("", line).strip()
        if len(msg) >= MIN_LINE:
            out.add(msg)
    return out


def _may_be_one(a: Crash, b: Crash) -> bool:
    """Only crashes of different sources recorded close in time can be one crash: the same
    warning in two boots' journals is two crashes (two reports for the server to count)."""
    if a.source == b.source:
        return False
    if a.time is not None and b.time is not None:
        return abs((a.time - b.time).total_seconds()) <= SAME_TIME_S
    return True


def merge_overlapping(crashes: list[Crash]) -> list[Crash]:
    """``crashes`` with each crash that another one contains dropped (noted on the keeper)."""
    lines = [message_lines(c.text) for c in crashes]
    dropped: set[int] = set()
    order = sorted(range(len(crashes)), key=lambda i: -len(lines[i]))  # fullest first
    for pos, i in enumerate(order):
        if i in dropped:
            continue
        for j in order[pos + 1 :]:
            if j in dropped or not lines[j]:
                continue
            if not _may_be_one(crashes[i], crashes[j]):
                continue
            shared = len(lines[j] & lines[i]) / len(lines[j])
            if shared >= SAME_SHARE:
                dropped.add(j)
                keeper, other = crashes[i], crashes[j]
                keeper.notes.append(
                    f"also found in {other.source} ({', '.join(other.origin[:2])}); "
                    "the fuller text is kept"
                )
                keeper.origin = keeper.origin + [o for o in other.origin if o not in keeper.origin]
    return [c for k, c in enumerate(crashes) if k not in dropped]
