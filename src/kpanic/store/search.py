"""Text search of the groups and reports lists: a compact word list per report and per group.

At ingest every report gets ``reports.search_text``: the distinct words of its title and
signature, the guilty function and file, every stack frame's function, module and file, the
"Modules linked in" list, the task name, the hardware name and then the words of the crash
report's own text, lower-cased, split at everything that is not a letter or a digit
(``btrfs_commit_transaction`` -> ``btrfs commit transaction``), without addresses, offsets and
long numbers, at most ``MAX_CHARS`` characters. A new group gets the same from its first
report (``crash_groups.search_text``).

Migration 0008 indexes both columns: an FTS5 table over each (SQLite; kept in step by
triggers) and a GIN index on ``to_tsvector('simple', search_text)`` (PostgreSQL). A query
is split into words the same way; a row matches when each word starts one of its words
(``q=btrfs_commit`` finds ``btrfs_commit_transaction``, ``q=ext4`` finds the module and
``fs/ext4/inode.c``), found through the index, never by scanning texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, select, text

from kpanic.store.models import CrashGroup, Report

__all__ = [
    "FTS_TABLES",
    "MAX_CHARS",
    "MAX_QUERY_WORDS",
    "group_match",
    "is_search_index",
    "query_words",
    "report_match",
    "search_text",
    "words",
]

FTS_TABLES = ("reports_fts", "crash_groups_fts")  # SQLite, made by migration 0008
MAX_CHARS = 2000  # per report: title, frames and modules come first, then the text's words
MAX_QUERY_WORDS = 8
_WORD = re.compile(r"[0-9a-z]+")
_NOISE = re.compile(r"0x[0-9a-f]*|[0-9a-f]{8,}|[0-9]{5,}")  # addresses, offsets, stamps


def words(value: str | None) -> Iterator[str]:
    """The searchable words of ``value``: lower-case runs of letters and digits (2-64
    characters), without hexadecimal addresses, offsets and long numbers."""
    if not value:
        return
    for word in _WORD.findall(value.lower()):
        if 2 <= len(word) <= 64 and not _NOISE.fullmatch(word):
            yield word


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


def is_search_index(name: str | None) -> bool:
    """True for what migration 0008 makes outside the models: the FTS5 tables (with their
    shadow tables) on SQLite, the GIN expression indexes on PostgreSQL."""
    if not name:
        return False
    return name in PG_INDEXES or any(name == t or name.startswith(t + "_") for t in FTS_TABLES)


def query_words(q: str | None) -> list[str]:
    """The words of a search query (at most MAX_QUERY_WORDS, each a prefix to match)."""
    return list(dict.fromkeys(words(q)))[:MAX_QUERY_WORDS]


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


def _tsvector(column: Any) -> Any:
    # Exactly the indexed expression of migration 0008.
    return func.to_tsvector(literal_column("'simple'::regconfig"), column)


def report_match(dialect: str, found: list[str]) -> ColumnElement[bool]:
    """Reports whose search words hold every query word (as a prefix), through the index."""
    if dialect == "postgresql":
        return _tsvector(Report.search_text).op("@@")(_tsquery(found))
    return Report.id.in_(_fts_ids("reports_fts", found))


def group_match(dialect: str, found: list[str]) -> ColumnElement[bool]:
    """Groups whose search words (from their first report) hold every query word."""
    if dialect == "postgresql":
        return _tsvector(CrashGroup.search_text).op("@@")(_tsquery(found))
    return CrashGroup.id.in_(_fts_ids("crash_groups_fts", found))
