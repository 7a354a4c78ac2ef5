"""Plain, immutable values the repository returns (no ORM objects leak out of a session).

The web layer renders these directly; every one has ``to_dict()`` for JSON APIs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")

SourceKind = Literal["log", "url", "photo"]
GroupSort = Literal["last_seen", "first_seen", "count", "title", "releases", "machines"]
ReportSort = Literal["received_at", "title"]
Bucket = Literal["day", "week", "month"]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class _ToDict:
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 strings)."""
        return _jsonable(asdict(self))  # type: ignore[call-overload]


@dataclass(frozen=True, slots=True)
class ClientInfo(_ToDict):
    """Who sent a report; stored as given (the web layer decides what to record)."""

    via: str = "api"  # web | api | cli | import
    ip: str | None = None
    user_agent: str | None = None
    token_name: str | None = None
    machine: str | None = None  # keyed machine hash: stored in its own column, not in client


@dataclass(frozen=True, slots=True)
class Filters(_ToDict):
    """Filters shared by group and report lists and statistics. ``None`` means no filter.

    ``since``/``until`` are UTC datetimes (naive ones are taken as UTC); for groups they select
    groups seen in that range (last_seen >= since and first_seen < until). ``q`` is a
    case-insensitive substring of the group title or signature.
    """

    bug_class: str | None = None
    rust_prevents: str | None = None  # "yes" | "partly" | "no" (the classifier's verdict)
    language: str | None = None  # c | rust | unknown
    kernel: str | None = None  # exact kernel release
    arch: str | None = None
    distro: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    q: str | None = None
    # triage (kpanic.store.triage_list): status, owner, assignee, regression, newness
    status: str | None = None
    subsystem: str | None = None
    assignee: str | None = None
    regressed: bool | None = None
    new_since: dt.datetime | None = None
    first_release: str | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, name) in (None, "") for name in self.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list. ``total_exact`` is False when ``total`` is a lower bound (capped)."""

    items: list[T]
    total: int
    page: int
    per_page: int
    total_exact: bool = True

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page)) if self.per_page else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": [i.to_dict() if hasattr(i, "to_dict") else i for i in self.items],
            "total": self.total,
            "total_exact": self.total_exact,
            "page": self.page,
            "per_page": self.per_page,
            "pages": self.pages,
        }


@dataclass(frozen=True, slots=True)
class IngestResult(_ToDict):
    """What ingest did. ``is_new`` False: the same content was already stored (``report_id`` is
    the existing report). ``joined``: the input was a piece of a stored crash and was joined
    with report ``report_id`` (``piece``: its text was contained in the report's; ``fuller``:
    the report now keeps this fuller text; see :mod:`kpanic.store.join`). Returned only after
    the transaction committed."""

    report_id: int
    group_id: int | None
    is_new: bool
    group_is_new: bool
    title: str
    bug_class: str | None
    rust_prevents: str | None
    signature: str
    joined: str | None = None


@dataclass(frozen=True, slots=True)
class FacetCount(_ToDict):
    value: str
    count: int


@dataclass(frozen=True, slots=True)
class GroupSummary(_ToDict):
    """A row of the groups list (everything comes from the groups table)."""

    id: int
    signature: str
    title: str
    type: str | None
    bug_class: str | None
    rust_prevents: str | None
    language: str | None
    report_count: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    kernels: list[str] = field(default_factory=list)  # most frequent first (at most 5)
    arches: list[str] = field(default_factory=list)
    machine_count: int = 0  # distinct machines that sent a machine id


@dataclass(frozen=True, slots=True)
class ReportSummary(_ToDict):
    """A row of a reports list (no texts)."""

    id: int
    group_id: int | None
    source_kind: str
    title: str
    type: str | None
    bug_class: str | None
    rust_prevents: str | None
    language: str | None
    kernel: str | None
    arch: str | None
    distro: str | None
    signature: str
    received_at: dt.datetime
    pruned: bool
    scrubbed: bool
    corrupted: bool


@dataclass(frozen=True, slots=True)
class ReportDetail(_ToDict):
    """A whole stored report. ``original``/``kmsg`` are None once pruned by flood control or
    withheld by scrubbing (a panic URL cannot be scrubbed, so it is not kept when scrubbing
    changed its text). ``log_text`` is the text the parser saw (scrubbed if scrubbing was on)."""

    summary: ReportSummary
    original: str | None
    kmsg: str | None
    log_text: str | None
    photo_sha256: str | None
    photo_size: int | None
    payload: dict[str, Any] | None
    parse: dict[str, Any]
    classification: dict[str, Any] | None
    signature_version: str | None
    parser_version: str | None
    classifier_version: str | None
    scrub_counts: dict[str, Any] | None
    client: dict[str, Any] | None
    content_hash: str


@dataclass(frozen=True, slots=True)
class GroupDetail(_ToDict):
    """A group page: summary, facets, a page of its reports, the representative report."""

    group: GroupSummary
    reports: Page[ReportSummary]
    representative: ReportDetail | None  # the latest report (always keeps its full text)
    signature_notes: list[str]
    signatures: list[str]  # its own signature plus those merged into it
    kernels: list[FacetCount]
    arches: list[FacetCount]
    distros: list[FacetCount]
    created_by: str

    def to_dict(self) -> dict[str, Any]:
        d = _jsonable(asdict(self))
        d["reports"] = self.reports.to_dict()
        return d


@dataclass(frozen=True, slots=True)
class Stats(_ToDict):
    """Statistics over a time range; shares are lists of (value, count), largest first."""

    total: int
    groups: int
    bucket: str
    since: dt.date | None
    until: dt.date | None
    over_time: list[tuple[dt.date, int]]  # bucket start -> reports
    by_class: list[tuple[str, int]]
    by_rust_prevents: list[tuple[str, int]]
    by_language: list[tuple[str, int]]
    by_kernel: list[tuple[str, int]]  # top 20
    by_arch: list[tuple[str, int]]
    by_distro: list[tuple[str, int]]


@dataclass(frozen=True, slots=True)
class TokenInfo(_ToDict):
    """An API token's metadata (never the token itself)."""

    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked: bool


@dataclass(frozen=True, slots=True)
class NewToken(_ToDict):
    """A freshly created token: ``token`` is shown once and never stored."""

    info: TokenInfo
    token: str


@dataclass(frozen=True, slots=True)
class Move(_ToDict):
    """One report that changed group during reprocessing."""

    report_id: int
    old_group_id: int | None
    new_group_id: int | None
    old_signature: str
    new_signature: str
    old_title: str
    new_title: str


@dataclass(frozen=True, slots=True)
class ReprocessSummary(_ToDict):
    """What ``reprocess`` changed."""

    reports: int
    moved: list[Move]
    retitled: int  # reports whose title/classification changed without moving
    groups_created: list[int]
    groups_removed: list[int]
    errors: list[tuple[int, str]]  # report id -> why it could not be reprocessed
