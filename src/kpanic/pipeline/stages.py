"""The named stages a worker runs on one submission: ``decode``, then ``analyse``.

Each is a plain function of its input and the :class:`~kpanic.pipeline.limits.Limits`; none
touches the database (the duplicate lookup and grouping are the store's, after these). A
failure is a :class:`~kpanic.errors.KpanicError` whose HTTP status is in
:mod:`kpanic.pipeline.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kpanic.errors import InputTooLarge, KpanicError
from kpanic.pipeline.limits import Limits
from kpanic.pipeline.submission import Submission
from kpanic.store import ingest
from kpanic.store.ingest import PreparedReport


@dataclass(frozen=True, slots=True)
class Decoded:
    """A submission decoded to kernel log text, with what the store keeps of the input."""

    kind: str
    kmsg: str
    original: str | None
    original_is_text: bool  # a log is stored as the text that was parsed
    payload: dict[str, Any] | None = None
    photo: bytes | None = None
    hint_arch: str | None = None
    hint_kernel: str | None = None
    hint_distro: str | None = None


def check_photo_pixels(data: bytes, max_pixels: int) -> None:
    """Refuse images over ``max_pixels`` from their header, before anything decodes them
    (the decoder's own rule and message: big JPEGs are read at reduced size)."""
    from kpanic.qr.sniff import too_many_pixels

    message = too_many_pixels(data, max_pixels)
    if message is not None:
        raise InputTooLarge(message)


def _from_payload(kind: str, decoded: Any, original: str, photo: bytes | None) -> Decoded:
    kmsg, info = ingest._payload_fields(decoded)
    return Decoded(
        kind=kind,
        kmsg=kmsg,
        original=original,
        original_is_text=False,
        payload=info,
        photo=photo,
        hint_arch=getattr(decoded, "arch", None),
        hint_kernel=getattr(decoded, "kernel", None),
        hint_distro=getattr(decoded, "distro", None),
    )


def decode(sub: Submission, limits: Limits) -> Decoded:
    """Stage 1: the submission's kernel log text (URLs inflated, photos read)."""
    from kpanic.qr.url import decode_payload

    if sub.kind == "url":
        url = sub.data if isinstance(sub.data, str) else sub.data.decode("utf-8", "replace")
        url = url.strip()
        if not url:
            raise KpanicError("the URL is empty")
        limits.check_input_size("url", url)
        decoded = decode_payload(url, max_kmsg_bytes=limits.max_kmsg_bytes)
        out = _from_payload("url", decoded, url, None)
    elif sub.kind == "photo":
        from kpanic.qr.image import decode_photo

        raw = bytes(sub.data) if isinstance(sub.data, bytes) else sub.data.encode()
        if not raw:
            raise KpanicError("the photo is empty")
        limits.check_input_size("photo", raw)
        check_photo_pixels(raw, limits.max_photo_pixels)
        photo = decode_photo(raw)
        decoded = decode_payload(photo.payload, max_kmsg_bytes=limits.max_kmsg_bytes)
        out = _from_payload("photo", decoded, photo.payload, raw)
    else:
        limits.check_input_size("log", sub.data)
        text = ingest.decode_log_bytes(sub.data, limits.max_log_bytes)
        if not text.strip():
            raise KpanicError("the log is empty")
        return Decoded(kind="log", kmsg=text, original=text, original_is_text=True)
    if len(out.kmsg) > limits.max_kmsg_bytes:
        raise InputTooLarge(
            f"the decoded kernel log is {len(out.kmsg)} characters; "
            f"the limit is {limits.max_kmsg_bytes}"
        )
    return out


def analyse(decoded: Decoded, limits: Limits) -> PreparedReport:
    """Stage 2: scrub, parse and classify the kernel log (NoCrashFound when it holds none)."""
    return ingest._prepared(
        decoded.kind,
        decoded.kmsg,
        scrub=limits.scrub,
        original=decoded.original,
        original_is_text=decoded.original_is_text,
        payload=decoded.payload,
        photo=decoded.photo,
        hint_arch=decoded.hint_arch,
        hint_kernel=decoded.hint_kernel,
        hint_distro=decoded.hint_distro,
    )


def prepare(sub: Submission, limits: Limits) -> PreparedReport:
    """All stages of one submission: what the store writes."""
    return analyse(decode(sub, limits), limits)
