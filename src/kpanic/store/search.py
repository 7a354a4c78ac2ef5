"""Text search of the groups and reports lists: a compact word list per report and per group.

At ingest every report gets ``reports.search_text``: the distinct words of its title and
signature, the guilty function and file, every stack frame's function, module and file, the
"Modules linked in" list, the task name, the hardware name and then the words of the crash
report's own text, lower-cased, split at everything that is not a letter, a digit or an
underscore, an identifier giving the joins of its tails (``btrfs_commit_transaction`` ->
``btrfscommittransaction committransaction transaction``), without addresses, offsets and
long numbers, at most ``MAX_CHARS`` characters. A new group gets the same from its first
report (``crash_groups.search_text``).

Migration 0008 indexes both columns: an FTS5 table over each (SQLite; kept in step by
triggers) and a GIN index on the stored ``to_tsvector('simple', search_text)`` (PostgreSQL).
A query is split into words the same way (an identifier is one word, its underscores
dropped); a row matches when each query word starts one of its words (``q=btrfs_commit`` and
``q=commit_trans`` find ``btrfs_commit_transaction``, ``q=ext4`` the module and
``fs/ext4/inode.c``), found through the index, never by scanning texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import ColumnElement, column, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import TSVECTOR

from kpanic.store.models import CrashGroup, Report

__all__ = [
    "COMMON",
    "FTS_TABLES",
    "common_words",
    "MAX_CHARS",
    "MAX_QUERY_WORDS",
    "group_match",
    "holds",
    "is_search_index",
    "query_words",
    "report_match",
    "search_text",
    "words",
]

FTS_TABLES = ("reports_fts", "crash_groups_fts")  # SQLite, made by migration 0008
MAX_CHARS = 2000  # per report: title, frames and modules come first, then the text's words
MAX_QUERY_WORDS = 8
_CHUNK = re.compile(r"[0-9a-z_]+")
_NOISE = re.compile(r"0x[0-9a-f]*|[0-9a-f]{8,}|[0-9]{5,}")  # addresses, offsets, stamps


def _ok(word: str) -> bool:
    return 2 <= len(word) <= 64 and not _NOISE.fullmatch(word)


def words(value: str | None) -> Iterator[str]:
    """The searchable words of ``value``: lower-case runs of letters and digits (2-64
    characters), without hexadecimal addresses, offsets and long numbers. An identifier
    with underscores gives the joins of its tails too (``btrfs_commit_transaction`` ->
    ``btrfscommittransaction committransaction transaction``), so that a query for any tail
    of it (``commit_trans``) is one selective prefix."""
    if not value:
        return
    for chunk in _CHUNK.findall(value.lower()):
        parts = [p for p in chunk.split("_") if p]
        for i in range(len(parts)):
            word = "".join(parts[i:])
            if _ok(word):
                yield word


def query_words(q: str | None) -> list[str]:
    """The words of a search query (at most MAX_QUERY_WORDS, each a prefix to match): an
    identifier with underscores is one word (its parts joined)."""
    out: dict[str, None] = {}
    for chunk in _CHUNK.findall((q or "").lower()):
        word = chunk.replace("_", "")
        if _ok(word):
            out[word] = None
    return list(out)[:MAX_QUERY_WORDS]


def _fields(report: dict[str, Any]) -> Iterator[Any]:
    yield report.get("title")
    yield from report.get("alt_titles") or ()
    yield report.get("guilty_frame")
    yield report.get("guilty_file")
    for frame in report.get("frames") or ():
        if isinstance(frame, dict):
            yield frame.get("function")
            yield frame.get("module")
            yield frame.get("file")
    yield from report.get("modules") or ()
    yield report.get("comm")
    yield report.get("hardware")


def search_text(parse: dict[str, Any] | None, *extra: str | None) -> str:
    """The search words of a parse result (``ParseResult`` as stored) and of ``extra``
    strings (title, signature), space-separated, most telling first, at most MAX_CHARS."""
    reports = [r for r in ((parse or {}).get("reports") or ()) if isinstance(r, dict)]
    sources: list[Iterable[Any]] = [extra, *(_fields(r) for r in reports)]
    sources += [[r.get("text")] for r in reports]
    seen: dict[str, None] = {}
    size = 0
    for source in sources:
        for value in source:
            if not isinstance(value, str):
                continue
            for word in words(value):
                if word in seen:
                    continue
                if size + len(word) + 1 > MAX_CHARS:
                    return " ".join(seen)
                seen[word] = None
                size += len(word) + 1
    return " ".join(seen)


PG_INDEXES = ("ix_reports_search", "ix_crash_groups_search")  # GIN, made by migration 0008
PG_COLUMN = "search_vector"  # PostgreSQL: generated tsvector column, made by migration 0008


def is_search_index(name: str | None) -> bool:
    """True for what migration 0008 makes outside the models: the FTS5 tables (with their
    shadow tables) on SQLite, the generated tsvector columns and their GIN indexes on
    PostgreSQL."""
    if not name:
        return False
    if name in PG_INDEXES or name == PG_COLUMN:
        return True
    return any(name == t or name.startswith(t + "_") for t in FTS_TABLES)


def holds(value: str, found: list[str]) -> bool:
    """Whether the words of ``value`` hold every query word as a prefix (in Python)."""
    have = set(words(value))
    return bool(found) and all(any(h.startswith(w) for h in have) for w in found)


def _fts_ids(table: str, found: list[str]) -> Any:
    """SQLite: rowids whose FTS5 entry has every word as a prefix of one of its words."""
    match = " AND ".join(f'"{w}"*' for w in found)  # words are [0-9a-z] only: no quoting
    return (
        select(literal_column("rowid"))
        .select_from(text(table))
        .where(text(f"{table} MATCH :match").bindparams(match=match))
    )


def _tsquery(found: list[str]) -> Any:
    return func.to_tsquery(
        literal_column("'simple'::regconfig"), " & ".join(f"{w}:*" for w in found)
    )


def _tsvector(model: Any) -> Any:
    # The stored to_tsvector('simple', search_text) of migration 0008 (GIN-indexed): a
    # column of the table that the models do not map (it exists on PostgreSQL only).
    return column(PG_COLUMN, TSVECTOR, _selectable=model.__table__)


COMMON = 2000  # SQLite: a search with more hits than this walks the lists' own order


def report_match(dialect: str, found: list[str], *, common: bool = False) -> ColumnElement[bool]:
    """Reports whose search words hold every query word (as a prefix), through the index.

    ``common`` (SQLite): the words have many hits, so a list sorted by time had better walk
    its time index and look each row up in the hits (``id + 0`` keeps SQLite from fetching
    every hit by id and sorting them all). PostgreSQL's planner makes that choice itself.
    """
    if dialect == "postgresql":
        return _tsvector(Report).op("@@")(_tsquery(found))
    ids = _fts_ids("reports_fts", found)
    return (Report.id + 0).in_(ids) if common else Report.id.in_(ids)


def common_words(session: Any, found: list[str]) -> bool:
    """SQLite: whether the words have more than COMMON hits (counted in the FTS index)."""
    hits = _fts_ids("reports_fts", found).limit(COMMON + 1).subquery()
    return int(session.scalar(select(func.count()).select_from(hits)) or 0) > COMMON


def group_match(dialect: str, found: list[str]) -> ColumnElement[bool]:
    """Groups whose search words (from their first report) hold every query word."""
    if dialect == "postgresql":
        # A semi-join answered by the GIN index once: in an OR with the title substring the
        # tsvector would otherwise be read (detoasted) for every group.
        hits = select(CrashGroup.id).where(_tsvector(CrashGroup).op("@@")(_tsquery(found)))
        return CrashGroup.id.in_(hits)
    return CrashGroup.id.in_(_fts_ids("crash_groups_fts", found))
