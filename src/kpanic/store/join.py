"""One crash, many pieces, one report: join a new report with a stored piece of the same crash.

A drm_panic QR code carries only the end of the kernel log (its head is cut off); the same
crash often arrives again later as the full log (pstore, the journal), or as several pstore
parts sent one by one. When a report is stored, :meth:`JoinMixin._try_join` looks for an
earlier report it is a piece of, or that is a piece of it:

- same kernel release, and the same architecture when both are known;
- received within ``Settings.join_window_hours`` of each other;
- the smaller text's lines (blank space at both ends of each line trimmed, blank lines
  dropped, timestamps kept) appear in the fuller text as one run, in order, the first one
  possibly the end of a longer line (a head cut in the middle of a line) and the last one
  possibly the start of one (a pstore part cut at an odd offset); and the smaller text has at
  least :data:`MIN_LINES` lines and :data:`MIN_CHARS` characters, so that two unrelated
  short logs never join.

Then, instead of a new report:

- the new text is the smaller one (a tail arriving after its full log): nothing changes but
  a source row (``piece``); the answer names the report;
- the new text is the fuller one (the full log after its tail): the stored report is
  upgraded in place: it keeps its id and received time and takes the fuller text and its
  analysis (title, signature, class, group recomputed); when its group changes the old
  group loses it (and is deleted when left empty) and the new one counts it once; the daily
  counters move from the old analysis' dimensions to the new one's on the report's day.

The pieces are listed in ``report_sources`` (:class:`~kpanic.store.models.ReportSource`):
the report's own piece (``first``) and each joined one, with kind, time, content hash, size
and submission id. The crash is counted once: a joined piece never adds to report counts.

Cost: candidates come from the ``(kernel, received_at)`` index, at most
:data:`MAX_CANDIDATES` per report; the database itself pre-filters them by a substring test
(the new text's anchor line in the stored text, or the stored text's last characters in the
new text), so only texts that pass travel to Python, at most :data:`MAX_COMPARE_CHARS` of
them per report. Pieces that only overlap (neither contains the other) are not merged: see
docs/joining.md for why.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, case, func, literal_column, or_, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from kpanic.store.common import (
    RepositoryBase,
    _day,
    _dims,
    _facets,
    _fit_signature,
    _for_update,
    _insert,
    _no_nul,
    _utc,
)
from kpanic.store.db import read_session
from kpanic.store.models import GroupOverride, QueuedSubmission, Report, ReportSource

MIN_LINES = 8  # the smaller piece has at least this many non-blank lines ...
MIN_CHARS = 400  # ... and this many characters
MAX_CANDIDATES = 8  # stored reports looked at per new report (nearest in time first)
MAX_COMPARE_CHARS = 4 << 20  # characters of stored text compared per new report
SUFFIX_CHARS = 64  # the stored text's last characters the database looks for in the new one

ROLES = ("first", "piece", "fuller")
_PSTORE_HEADER = re.compile(r"^(?:Panic|Oops|Emergency|Shutdown|Halt|Restart)#\d+ Part\d+$")


def log_lines(text: str) -> list[str]:
    """The lines joining compares: blank space trimmed at both ends, blank lines dropped."""
    return [stripped for line in text.split("\n") if (stripped := line.strip())]


def big_enough(lines: list[str]) -> bool:
    """Whether a piece is long enough to be joined at all (short logs never join)."""
    return len(lines) >= MIN_LINES and sum(len(line) for line in lines) >= MIN_CHARS


def anchor_line(lines: list[str]) -> str:
    """A whole line of a piece that any text containing the piece contains too: the longest
    of its inner lines near the end (the first and last line may be cut)."""
    inner = lines[1:-1] or lines
    return max(inner[-16:], key=len)


def contains(big: list[str], small: list[str]) -> bool:
    """Whether ``small`` is a piece of ``big``: its inner lines one run of ``big``'s lines, its
    first line the end of the line before, its last line the start of the line after."""
    if len(small) > len(big) or not big_enough(small):
        return False
    first, inner, last = small[0], small[1:-1], small[-1]
    n = len(inner)
    start = 1
    while True:
        try:
            pos = big.index(inner[0], start)
        except ValueError:
            return False
        if (
            pos + n < len(big)
            and big[pos : pos + n] == inner
            and big[pos - 1].endswith(first)
            and big[pos + n].startswith(last)
        ):
            return True
        start = pos + 1


def join_role(mine: list[str], theirs: list[str]) -> str | None:
    """How a new text (``mine``) joins a stored one: ``piece`` (it is contained in it),
    ``fuller`` (it contains it), or None."""
    if len(mine) <= len(theirs) and contains(theirs, mine):
        return "piece"
    if len(theirs) < len(mine) and contains(mine, theirs):
        return "fuller"
    return None


def origin_of_text(text: str) -> str | None:
    """Where a log came from when its text says so (a pstore record's header line)."""
    head = text.lstrip()[:40].split("\n", 1)[0].strip()
    return "pstore" if _PSTORE_HEADER.match(head) else None


def report_text(p: Any) -> str | None:
    """The kernel log text of a prepared or stored report (a log's original, else its kmsg)."""
    return p.kmsg if p.kmsg is not None else p.original


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """One piece of a report, as the report page and the API list it."""

    role: str  # first | piece | fuller ("first" also for a report that was never joined)
    source_kind: str  # log | url | photo
    origin: str | None
    received_at: dt.datetime
    content_hash: str
    size: int | None
    lines: int | None
    submission_id: int | None

    @property
    def label(self) -> str:
        """Plain words for the piece: "QR code photo", "panic URL", "full log from pstore"."""
        if self.source_kind == "photo":
            return "QR code photo"
        if self.source_kind == "url":
            return "panic URL (QR code)"
        what = "full log" if self.role == "fuller" else "kernel log"
        return f"{what} from {self.origin}" if self.origin else what

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "source_kind": self.source_kind,
            "origin": self.origin,
            "label": self.label,
            "received_at": self.received_at.isoformat(),
            "content_hash": self.content_hash,
            "size": self.size,
            "lines": self.lines,
            "submission_id": self.submission_id,
        }


def describe_sources(sources: list[SourceInfo]) -> list[str]:
    """One phrase per piece, oldest first, for the report page: "QR code photo, 2026-12-03
    10:01", then "full log from pstore, 10:20" (the date only when it changes; UTC)."""
    out, last_day = [], None
    for src in sources:
        at = src.received_at.astimezone(dt.UTC)
        day = at.date()
        stamp = at.strftime("%H:%M") if day == last_day else at.strftime("%Y-%m-%d %H:%M")
        last_day = day
        size = f" ({src.lines} lines)" if src.lines else ""
        out.append(f"{src.label}, {stamp}{size}")
    return out


@dataclass(frozen=True, slots=True)
class Joined:
    """A stored report a new one was joined with."""

    report_id: int
    role: str  # piece (the new text was contained) | fuller (the report took the new text)


# The columns a candidate needs (its text only once the database found it plausible).
_TEXT = func.coalesce(Report.kmsg, Report.original)


@functools.cache
def _candidate_query(dialect: str, *, with_arch: bool) -> Any:
    """The candidate query (built once: its compiled form is cached, only values change).

    The inner query reads the (kernel, received_at, ..., arch, ...) covering index alone,
    backwards, and stops after MAX_CANDIDATES rows: its cost does not grow with the number of
    reports of the release. On those few rows the database checks that the text is still
    kept and runs the substring pre-filter, so implausible texts never leave it."""
    conditions = [
        Report.kernel == bindparam("kernel"),
        Report.received_at >= bindparam("lo"),
        Report.received_at <= bindparam("hi"),
    ]
    if with_arch:
        conditions.append(or_(Report.arch.is_(None), Report.arch == bindparam("arch")))
    # The limit is written into the SQL: as a parameter, PostgreSQL's planner does not know
    # it is small and may scan every report's text with the substring test instead.
    near = (
        select(Report.id.label("cid"))
        .where(*conditions)
        .order_by(Report.received_at.desc())
        .limit(literal_column(str(int(MAX_CANDIDATES))))
        .subquery("near")
    )
    # Untyped: PostgreSQL takes them as text (no cast to VARCHAR and back for each row).
    body, anchor = bindparam("body", type_=NullType()), bindparam("anchor", type_=NullType())
    # Stored texts end in exactly one newline (ingest.normalize_text): the characters before it.
    if dialect == "postgresql":
        tail = func.left(func.right(_TEXT, SUFFIX_CHARS + 1), SUFFIX_CHARS)
        found_in_new = func.strpos(body, tail) > 0
        new_in_found = func.strpos(_TEXT, anchor) > 0
    else:
        tail = func.substr(_TEXT, -(SUFFIX_CHARS + 1), SUFFIX_CHARS)
        found_in_new = func.instr(body, tail) > 0
        new_in_found = func.instr(_TEXT, anchor) > 0
    plausible = case((or_(new_in_found, found_in_new), True), else_=False)
    # PostgreSQL: octet_length reads the stored size; length would decompress the text.
    size = func.octet_length(_TEXT) if dialect == "postgresql" else func.length(_TEXT)
    return (
        select(Report.id, size.label("size"))
        .select_from(near.join(Report, Report.id == near.c.cid))
        .where(Report.pruned.is_(False), plausible)
        .order_by(Report.received_at.desc(), Report.id.desc())
    )


class JoinMixin(RepositoryBase):
    """Finding and applying joins inside a write transaction; listing a report's sources."""

    # ------------------------------------------------------------------ reading

    def report_sources(self, report_id: int) -> list[SourceInfo]:
        """The pieces of a report, oldest first (one entry, the report itself, when it was
        never joined; empty when there is no such report)."""
        with read_session(self.engine) as s:
            rows = s.execute(
                select(ReportSource)
                .where(ReportSource.report_id == report_id)
                .order_by(ReportSource.received_at, ReportSource.id)
            ).scalars()
            found = [
                SourceInfo(
                    role=r.role,
                    source_kind=r.source_kind,
                    origin=r.origin,
                    received_at=_utc(r.received_at),  # type: ignore[arg-type]
                    content_hash=r.content_hash,
                    size=int(r.size),
                    lines=int(r.lines),
                    submission_id=r.submission_id,
                )
                for r in rows
            ]
            if found:
                return found
            rep = s.execute(
                select(
                    Report.source_kind,
                    Report.received_at,
                    Report.content_hash,
                    func.length(_TEXT).label("size"),
                ).where(Report.id == report_id)
            ).first()
            if rep is None:
                return []
            sub = s.scalar(
                select(func.min(QueuedSubmission.id)).where(QueuedSubmission.report_id == report_id)
            )
            return [
                SourceInfo(
                    role="first",
                    source_kind=rep.source_kind,
                    origin=None,
                    received_at=_utc(rep.received_at),  # type: ignore[arg-type]
                    content_hash=rep.content_hash,
                    size=int(rep.size) if rep.size is not None else None,
                    lines=None,
                    submission_id=sub,
                )
            ]

    def _source_owner(self, s: Session, hashes: list[str]) -> dict[str, tuple[int, str]]:
        """For content hashes recorded as joined pieces: (report id, role)."""
        if not hashes:
            return {}
        rows = s.execute(
            select(ReportSource.content_hash, ReportSource.report_id, ReportSource.role).where(
                ReportSource.content_hash.in_(sorted(set(hashes)))
            )
        ).all()
        return {h: (int(rid), role) for h, rid, role in rows}

    # ------------------------------------------------------------------ finding

    def _join_window(self) -> dt.timedelta | None:
        hours = int(getattr(self.settings, "join_window_hours", 0) or 0)
        return dt.timedelta(hours=hours) if hours > 0 else None

    def _candidates(self, s: Session, p: Any, when: dt.datetime) -> list[Any]:
        """Stored reports that may be a piece of ``p`` or contain it: same release (and arch
        when both known), within the window, texts kept, and the database's substring test
        passed; nearest first, at most MAX_CANDIDATES, texts within MAX_COMPARE_CHARS."""
        window = self._join_window()
        text = report_text(p)
        if window is None or not p.kernel or not text:
            return []
        lines = log_lines(text)
        if not lines:
            return []
        params = {
            "kernel": p.kernel[:128],
            "lo": when - window,
            "hi": when + window,
            "arch": p.arch,
            "anchor": anchor_line(lines),
            "body": _no_nul(text),
        }
        dialect = s.get_bind().dialect.name
        if dialect == "postgresql" and not s.info.get("kpanic_custom_plans"):
            # psycopg prepares a statement run often; PostgreSQL then switches to a generic
            # plan, which cannot know the release's reports are few and ran the substring
            # test on every text (100 ms a call). Plans made for the values: ~1 ms.
            s.execute(sql_text("SET LOCAL plan_cache_mode = force_custom_plan"))
            s.info["kpanic_custom_plans"] = True
        stmt = _candidate_query(dialect, with_arch=bool(p.arch))
        rows = s.execute(stmt, params).all()
        chosen, budget = [], MAX_COMPARE_CHARS
        for r in rows:
            if r.size is None or r.size > budget:
                continue
            budget -= int(r.size)
            chosen.append(r.id)
        if not chosen:
            return []
        texts = dict(
            s.execute(select(Report.id, _TEXT).where(Report.id.in_(chosen))).all()  # type: ignore[arg-type]
        )
        return [(rid, texts[rid]) for rid in chosen if texts.get(rid)]

    def _find_join(self, s: Session, p: Any, when: dt.datetime) -> tuple[int, str, str] | None:
        """(report id, role, the stored text) of the first candidate ``p`` joins."""
        text = report_text(p)
        cands = self._candidates(s, p, when)
        if not cands or not text:
            return None
        mine = log_lines(text)
        for rid, other in cands:
            role = join_role(mine, log_lines(other))
            if role is not None:
                return rid, role, other
        return None

    # ------------------------------------------------------------------ applying

    def _try_join(
        self,
        s: Session,
        p: Any,
        when: dt.datetime,
        submission_id: int | None,
    ) -> Joined | None:
        """Join ``p`` with a stored piece of the same crash if there is one (in ``s``)."""
        found = self._find_join(s, p, when)
        if found is None:
            return None
        rid, role, compared = found
        stored = s.execute(_for_update(s, select(Report).where(Report.id == rid))).scalar_one()
        current = report_text(stored)
        if current != compared:
            # PostgreSQL: another transaction joined a piece into it meanwhile (the row lock
            # waited for it): decide again on the text as it is now.
            fresh = join_role(log_lines(report_text(p) or ""), log_lines(current or ""))
            if fresh is None or stored.pruned:
                return None
            role = fresh
        self._record_first(s, stored)
        text = report_text(p) or ""
        if role == "fuller":
            self._upgrade(s, stored, p)
        self._add_source(s, rid, role, p.source_kind, text, p.content_hash, when, submission_id)
        return Joined(rid, role)

    def _record_first(self, s: Session, r: Report) -> None:
        """The report's own piece as a source row, before the first piece joins it."""
        text = report_text(r) or ""
        sub = s.scalar(
            select(func.min(QueuedSubmission.id)).where(QueuedSubmission.report_id == r.id)
        )
        if sub is None:
            sub = s.info.get("kpanic_submission_of", {}).get(r.id)
        self._add_source(
            s,
            r.id,
            "first",
            r.source_kind,
            text,
            r.content_hash,
            _utc(r.received_at),  # type: ignore[arg-type]
            sub,
        )

    def _add_source(
        self,
        s: Session,
        report_id: int,
        role: str,
        kind: str,
        text: str,
        key: str,
        when: dt.datetime,
        submission_id: int | None,
    ) -> None:
        s.execute(
            _insert(s, ReportSource)
            .values(
                report_id=report_id,
                role=role,
                source_kind=kind,
                origin=origin_of_text(text),
                received_at=when,
                content_hash=key,
                size=len(text),
                lines=len(log_lines(text)),
                submission_id=submission_id,
            )
            .on_conflict_do_nothing(index_elements=["content_hash"])
        )

    def _upgrade(self, s: Session, r: Report, p: Any) -> None:
        """The stored report ``r`` takes the fuller ``p``'s text and analysis; its group,
        the group counts, facets and daily counters follow."""
        when = _utc(r.received_at)
        assert when is not None
        old_group = r.group_id
        old_dims = _dims(r)
        old_facets = _facets(r)
        signature = _fit_signature(p.signature)
        split = s.scalar(select(GroupOverride.group_id).where(GroupOverride.report_id == r.id))
        group_id, group_is_new = (
            (split, False) if split is not None else self._resolve_group(s, signature, p, when)  # type: ignore[attr-defined]
        )
        keep = {"received_at", "client", "machine", "group_id", "pruned"}
        from kpanic.store.writes import report_row

        values = {
            k: v
            for k, v in report_row(p, group_id, when, None).items()
            if k not in keep and k != "client"
        }
        # The tail's hints (kernel and arch from the URL) stay when the fuller text has none.
        for hint in ("kernel", "arch", "distro"):
            if values.get(hint) is None:
                values[hint] = getattr(r, hint)
        s.execute(update(Report).where(Report.id == r.id).values(group_id=group_id, **values))
        new = _Values(values)
        day = _day(when)
        self._bump_daily(s, day, old_dims, -1)  # type: ignore[attr-defined]
        self._bump_daily(s, day, _dims(new), +1)  # type: ignore[attr-defined]
        if group_id == old_group:
            self._bump_facets(s, group_id, old_facets, -1)  # type: ignore[attr-defined]
            self._bump_facets(s, group_id, _facets(new), +1)  # type: ignore[attr-defined]
            return
        if old_group is not None:
            self._bump_facets(s, old_group, old_facets, -1)  # type: ignore[attr-defined]
            from kpanic.store.admin import AdminMixin

            s.flush()
            AdminMixin._recompute_group(self, s, old_group, facets=False)  # type: ignore[arg-type]
        self._add_to_group(s, group_id, r.id, p, when)  # type: ignore[attr-defined]
        self._bump_facets(s, group_id, _facets(new), +1)  # type: ignore[attr-defined]
        self._prune_group(s, group_id)  # type: ignore[attr-defined]
        from kpanic.store import triage

        triage.on_ingested(  # the report's machine now counts in its new group
            s, [triage.IngestedCrash(group_id, group_is_new, new.kernel, when, r.id)]
        )


class _Values:
    """Attribute access to a row's values (what _dims and _facets read)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None


__all__ = [
    "MAX_CANDIDATES",
    "MAX_COMPARE_CHARS",
    "MIN_CHARS",
    "MIN_LINES",
    "JoinMixin",
    "Joined",
    "SourceInfo",
    "anchor_line",
    "contains",
    "describe_sources",
    "join_role",
    "log_lines",
]
