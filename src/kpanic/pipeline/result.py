"""What a submission came to: the one type the API returns and the pages render."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["queued", "running", "done", "rejected", "failed"]


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """A submission's outcome so far. ``id`` is the report's id once analysed (None before:
    ``status_url`` tells when); ``is_new`` False means the same crash text was already stored.
    ``joined_report_id``: this input was a piece of a stored crash and was joined with that
    report (``joined_as`` ``piece``: its text was already contained in the report's;
    ``fuller``: the report now keeps this fuller text and its analysis).
    ``error_status``/``error``: why a rejected or failed submission made no report."""

    submission_id: int | None
    status: Status
    status_url: str | None
    id: int | None = None
    report_id: int | None = None
    group_id: int | None = None
    is_new: bool = False
    group_is_new: bool = False
    title: str | None = None
    bug_class: str | None = None
    rust_prevents: str | None = None
    signature: str | None = None
    language: str | None = None
    kernel: str | None = None
    arch: str | None = None
    report_url: str | None = None
    group_url: str | None = None
    error_status: int | None = None
    error: str | None = None
    joined_report_id: int | None = None
    joined_as: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "rejected", "failed")

    @property
    def http_status(self) -> int:
        """201 new report, 200 already stored, 202 still being analysed, else the error's."""
        if self.status == "done":
            return 201 if self.is_new else 200
        if self.status in ("rejected", "failed"):
            return self.error_status or 422
        return 202

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
