"""Atom feeds of crash groups (RFC 4287), for any filter of the groups list.

A feed entry is a group: its id is a stable tag URI of the group, ``updated`` is the group's
last crash, the summary says class, counts, releases and status. Built with feedgen, which
writes valid Atom (id, title, updated on the feed and on every entry, a self link).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]

__all__ = ["FeedGroup", "atom_feed"]


@dataclass(frozen=True)
class FeedGroup:
    group_id: int
    title: str
    url: str
    last_seen: dt.datetime
    first_seen: dt.datetime
    summary: str


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def atom_feed(
    *,
    title: str,
    self_url: str,
    site_url: str,
    tag_authority: str,
    groups: Iterable[FeedGroup],
) -> bytes:
    """The Atom document for ``groups`` (newest first as given). ``tag_authority`` is the
    installation's host name, used for tag: URIs (``tag:host,2026:group/42``)."""
    items = list(groups)
    fg = FeedGenerator()
    fg.id(self_url)
    fg.title(title)
    fg.author({"name": "kpanic"})
    fg.link(href=self_url, rel="self", type="application/atom+xml")
    fg.link(href=site_url, rel="alternate", type="text/html")
    fg.generator("kpanic")
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    newest = max((_aware(g.last_seen) for g in items), default=epoch)
    fg.updated(newest)
    for g in reversed(items):  # feedgen prepends: add oldest first to keep the given order
        fe = fg.add_entry()
        fe.id(f"tag:{tag_authority},{_aware(g.first_seen).year}:group/{g.group_id}")
        fe.title(g.title or f"group {g.group_id}")
        fe.link(href=g.url, rel="alternate", type="text/html")
        fe.updated(_aware(g.last_seen))
        fe.published(_aware(g.first_seen))
        fe.summary(g.summary)
    data: bytes = fg.atom_str(pretty=True)
    return data
