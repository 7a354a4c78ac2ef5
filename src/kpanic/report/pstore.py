"""Put the parts of a split pstore (ramoops/efi-pstore) dump back in the order they were printed.

A kmsg dump bigger than one pstore record is stored as several records, each starting with a
``Panic#1 Part1`` / ``Oops#2 Part3`` header line. Part1 holds the *end* of the log and each higher
part the text printed before it, so the files catted in name order (``dmesg-ramoops-0``,
``-1``...) put the end of the oops before its start. :func:`reassembly_order` gives the line order
that undoes this: the parts of one dump, highest part first, with their header lines dropped.
"""

from __future__ import annotations

import re

# The header kmsg_dump() backends write at the top of each record (the reason is
# kmsg_dump_reason_str(): Panic, Oops, Emergency, Shutdown, ...).
_HEADER = re.compile(r"([A-Z][a-z]{1,12})#([0-9]{1,6}) Part([0-9]{1,4})", re.ASCII)
# Fast test for logs without any header (almost all of them); unanchored, as quoting or a
# syslog prefix may precede the header before canonicalisation.
HEADER_HINT = re.compile(r"[a-z]#[0-9]{1,6} Part[0-9]", re.ASCII)


def _header(line: str) -> tuple[str, int] | None:
    """(``Reason#N``, part number) when ``line`` is a pstore record header."""
    m = _HEADER.fullmatch(line.strip())
    if m is None:
        return None
    return f"{m.group(1)}#{m.group(2)}", int(m.group(3))


def reassembly_order(lines: list[str]) -> list[int] | None:
    """Indices of ``lines`` in printing order, or None when nothing needs reordering.

    Consecutive records of one dump (same ``Reason#N``) are sorted by descending part number and
    lose their header lines; text before the first header and records of other dumps keep their
    place. A dump whose parts are already in printing order, or that has a single part, is left
    alone (its header line is kept, as an ordinary line).
    """
    blocks: list[tuple[str, int, list[int]]] = []  # (dump, part, line indices incl. header)
    order: list[int] = []
    for i, line in enumerate(lines):
        head = _header(line)
        if head is not None:
            blocks.append((head[0], head[1], [i]))
        elif blocks:
            blocks[-1][2].append(i)
        else:
            order.append(i)
    changed = False
    k = 0
    while k < len(blocks):
        j = k + 1
        while j < len(blocks) and blocks[j][0] == blocks[k][0]:
            j += 1
        dump = blocks[k:j]
        parts = [b[1] for b in dump]
        if len(dump) > 1 and parts != sorted(parts, reverse=True):
            changed = True
            for _name, _part, indices in sorted(dump, key=lambda b: -b[1]):
                order.extend(indices[1:])
        else:
            for _name, _part, indices in dump:
                order.extend(indices)
        k = j
    return order if changed else None
