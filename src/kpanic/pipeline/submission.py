"""A submission as the service received it: kind, data and where it came from (immutable)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

SubmissionKind = Literal["log", "url", "photo"]
KINDS: tuple[SubmissionKind, ...] = ("log", "url", "photo")
Queue = Literal["text", "photo"]

# Lone UTF-16 surrogates (JSON allows "\ud800"; no encoder or database accepts them).
_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD, as the log reader replaces bytes
    that are not UTF-8: invalid text is kept readable, never a server error."""
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub("\ufffd", text)


@dataclass(frozen=True, slots=True)
class Origin:
    """Who sent a submission, as stored with it (the web layer decides what to record)."""

    via: str = "api"  # web | api | cli | import
    client: str | None = None  # the rate-limit key (a keyed hash), never a raw address
    user_agent: str | None = None
    token_name: str | None = None
    request_id: str | None = None
    machine: str | None = None  # keyed hash of the client's app-specific machine id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Origin:
        data = data or {}
        return cls(
            **{
                k: data.get(k)
                for k in ("client", "user_agent", "token_name", "request_id", "machine")
            },
            via=data.get("via") or "api",
        )


@dataclass(frozen=True, slots=True)
class Submission:
    """One input: a panic URL or QR payload (``url``), a kernel log (``log``, text or the
    bytes of an uploaded file) or a photo of a panic QR code (``photo``, bytes)."""

    kind: SubmissionKind
    data: str | bytes
    origin: Origin = Origin()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown submission kind {self.kind!r}")
        if isinstance(self.data, str):
            object.__setattr__(self, "data", valid_text(self.data))
        if self.kind == "photo" and not isinstance(self.data, bytes):
            raise TypeError("a photo submission holds bytes")

    @property
    def queue(self) -> Queue:
        """Photos have a queue (and worker) of their own: they cannot starve text and URLs."""
        return "photo" if self.kind == "photo" else "text"

    def raw_hash(self) -> str:
        """sha256 of kind and data as received: a repeat of the same input is found by it."""
        raw = self.data.encode("utf-8") if isinstance(self.data, str) else self.data
        if self.kind == "url":
            raw = raw.strip()
        return hashlib.sha256(self.kind.encode() + b"\0" + raw).hexdigest()
