"""Turn one input (log text, panic URL, photo bytes) into a :class:`PreparedReport`.

This is the CPU-heavy, database-free half of ingest: decode, scrub, parse, classify. It is a
pure function of its input so ``kpanic import`` can run it in a process pool and hand the
picklable results to a single writer (:meth:`kpanic.store.repository.Repository.store`).

Dedup key: ``content_hash`` is the sha256 of the kernel log text *before* scrubbing (line ends
normalized), so a panic URL and a photo of the same QR code are one report, whatever the
scrubbing settings were.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpanic.errors import InputTooLarge, KpanicError
from kpanic.pipeline.errors import NoCrashFound
from kpanic.settings import Settings, get_settings
from kpanic.store import scrub as scrubber

__all__ = ["NoCrashFound"]


@dataclass(slots=True)
class PreparedReport:
    """Everything the store writes for one report (picklable, no ORM)."""

    source_kind: str  # log | url | photo
    content_hash: str
    original: str | None  # log text / panic URL / QR payload (scrubbed or withheld)
    kmsg: str | None  # decoded kernel log for url/photo (scrubbed if scrubbing)
    photo_sha256: str | None
    photo_size: int | None
    payload: dict[str, Any] | None
    scrubbed: bool
    scrub_counts: dict[str, int] | None
    parse: dict[str, Any]
    classification: dict[str, Any] | None
    title: str
    type: str | None
    bug_class: str | None
    rust_prevents: str | None
    language: str | None
    kernel: str | None
    arch: str | None
    distro: str | None
    signature: str
    signature_version: str | None
    parser_version: str | None
    classifier_version: str | None
    corrupted: bool


@dataclass(slots=True)
class Analysis:
    """Parse + classification of one kernel log, reduced to what the store indexes."""

    parse: dict[str, Any]
    classification: dict[str, Any] | None
    title: str
    type: str | None
    bug_class: str | None
    rust_prevents: str | None
    language: str | None
    kernel: str | None
    arch: str | None
    signature: str
    signature_version: str | None
    parser_version: str | None
    classifier_version: str | None
    corrupted: bool


def normalize_text(text: str) -> str:
    """Line ends and trailing blank space normalized, NULs dropped (serial consoles emit them)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").rstrip() + "\n"


def content_hash(text: str) -> str:
    """The dedup key of a kernel log (sha256 hex of its normalized text)."""
    return hashlib.sha256(normalize_text(text).encode("utf-8", "surrogatepass")).hexdigest()


def decode_log_bytes(data: str | bytes, limit: int) -> str:
    """Text of an uploaded log; clear errors for oversize or binary input."""
    if isinstance(data, str):
        if len(data) > limit:
            raise InputTooLarge(f"the log is {len(data)} characters; the limit is {limit}")
        return data
    if len(data) > limit:
        raise InputTooLarge(f"the log is {len(data)} bytes; the limit is {limit}")
    sample = data[:65536]
    if sample:
        controls = sum(1 for b in sample if b < 9 or 13 < b < 32 or b == 127)
        if controls / len(sample) > 0.10:
            raise KpanicError("the input is binary data, not a kernel log")
    return data.decode("utf-8", errors="replace")


_RUST_PREVENTS = {True: "yes", False: "no", None: "unclear"}


def normalize_rust_prevents(value: Any) -> str | None:
    """The classifier's verdict as a short indexed string (yes | partly | no)."""
    if isinstance(value, bool) or value is None:
        return _RUST_PREVENTS[value]
    text = str(getattr(value, "value", value)).strip().lower()
    return text[:16] or None


_DISTRO_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\.fc\d+"), "fedora"),
    (re.compile(r"\.el\d+"), "rhel"),
    (re.compile(r"-generic$|-lowlatency$|-aws$|-azure$|-gcp$|-oem$"), "ubuntu"),
    (re.compile(r"\+deb\d+|-amd64$|-arm64$|-cloud-amd64$|-rt-amd64$"), "debian"),
    (re.compile(r"-arch\d+"), "arch"),
    (re.compile(r"-default$|-lp\d+"), "opensuse"),
    (re.compile(r"-gentoo"), "gentoo"),
    (re.compile(r"-android"), "android"),
    (re.compile(r"-MANJARO"), "manjaro"),
)


def guess_distro(kernel: str | None) -> str | None:
    """Distribution guessed from a kernel release string (vendor suffixes), or None."""
    if not kernel:
        return None
    for pattern, name in _DISTRO_HINTS:
        if pattern.search(kernel):
            return name
    return None


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _json_safe(value: Any) -> Any:
    """JSON-ready copy in one walk: dataclasses become dicts (as ``asdict`` would make them,
    without its deep copies, a third of the analysis time), bytes hex, unknown types str."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: _json_safe(getattr(value, name)) for name in _field_names(type(value))}
    return str(value)


def _plain(obj: Any) -> Any:
    """``obj.to_dict()`` made JSON-safe. CrashReport and Classification define ``to_dict`` as
    plain ``asdict``: they are walked directly (same result, checked by the store tests)."""
    from kpanic.classify.model import Classification
    from kpanic.report.model import CrashReport

    if type(obj) in (CrashReport, Classification):
        return _json_safe(obj)
    return _json_safe(obj.to_dict())


def analyze(text: str) -> Analysis:
    """Parse and classify a kernel log; raise :class:`NoCrashFound` when there is no crash."""
    import kpanic.classify as classify_mod
    import kpanic.report as report_mod

    result = report_mod.parse(text)
    primary = result.primary
    if primary is None:
        raise NoCrashFound("no kernel crash report was found in the input")
    classification = classify_mod.classify(primary)
    return analysis_from(result.reports, classification)


def analysis_from(reports: list[Any], classification: Any) -> Analysis:
    """Reduce parsed reports (primary first) and the primary's classification to an Analysis."""
    import kpanic.classify as classify_mod
    import kpanic.report as report_mod

    primary = reports[0]
    cls = _plain(classification) if classification is not None else None
    signature = str(getattr(classification, "signature", "") or "") or f"title:{primary.title}"
    return Analysis(
        parse={"reports": [_plain(r) for r in reports]},
        classification=cls,
        title=(primary.title or "")[:512],
        type=(primary.type or None) and primary.type[:128],
        bug_class=_str_or_none(getattr(classification, "bug_class", None), 64),
        rust_prevents=normalize_rust_prevents(getattr(classification, "rust_prevents", None)),
        language=_str_or_none(
            getattr(classification, "language", None) or primary.language or None, 16
        ),
        kernel=_str_or_none(primary.kernel, 128),
        arch=_str_or_none(primary.arch, 32),
        signature=signature[:512],
        signature_version=_str_or_none(getattr(classification, "signature_version", None), 32),
        parser_version=report_mod.PARSER_VERSION[:32],
        classifier_version=classify_mod.CLASSIFIER_VERSION[:32],
        corrupted=bool(primary.corrupted),
    )


def _str_or_none(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    text = str(getattr(value, "value", value))
    text = "".join(ch for ch in text if ch.isprintable()).strip()  # no NUL/controls in keys
    return text[:limit] or None


def _prepared(
    kind: str,
    raw_text: str,
    *,
    scrub: bool,
    original: str | None,
    original_is_text: bool,
    payload: dict[str, Any] | None = None,
    photo: bytes | None = None,
    hint_arch: str | None = None,
    hint_kernel: str | None = None,
    hint_distro: str | None = None,
) -> PreparedReport:
    text = normalize_text(raw_text)
    key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()  # = content_hash()
    counts: dict[str, int] | None = None
    if scrub:
        result = scrubber.scrub_text(text)
        text, counts = result.text, result.counts
        changed = result.changed
        if original is not None and not original_is_text and changed:
            # A panic URL / QR payload is compressed kmsg: it cannot be scrubbed in place.
            original = None
            if payload is not None:
                payload = {k: v for k, v in payload.items() if k not in ("payload", "url")}
    if original_is_text:
        original = text  # a log is stored as the (normalized, scrubbed) text that was parsed
    info = analyze(text)
    kernel = info.kernel or hint_kernel
    return PreparedReport(
        source_kind=kind,
        content_hash=key,
        original=original,
        kmsg=None if kind == "log" else text,
        photo_sha256=hashlib.sha256(photo).hexdigest() if photo is not None else None,
        photo_size=len(photo) if photo is not None else None,
        payload=payload,
        scrubbed=scrub,
        scrub_counts=counts,
        parse=info.parse,
        classification=info.classification,
        title=info.title,
        type=info.type,
        bug_class=info.bug_class,
        rust_prevents=info.rust_prevents,
        language=info.language,
        kernel=kernel,
        arch=info.arch or _str_or_none(hint_arch, 32),
        distro=_str_or_none(hint_distro, 64) or guess_distro(kernel),
        signature=info.signature,
        signature_version=info.signature_version,
        parser_version=info.parser_version,
        classifier_version=info.classifier_version,
        corrupted=info.corrupted,
    )


def prepare_log(
    data: str | bytes, *, scrub: bool | None = None, settings: Settings | None = None
) -> PreparedReport:
    """A raw kernel log (dmesg, console, pstore, journal) -> PreparedReport."""
    settings = settings or get_settings()
    text = decode_log_bytes(data, settings.max_log_bytes)
    if not text.strip():
        raise KpanicError("the log is empty")
    do_scrub = settings.scrub if scrub is None else scrub
    return _prepared("log", text, scrub=do_scrub, original=text, original_is_text=True)


def _payload_fields(decoded: Any) -> tuple[str, dict[str, Any]]:
    kmsg = getattr(decoded, "kmsg", None)
    if isinstance(kmsg, bytes | bytearray):
        kmsg = bytes(kmsg).decode("utf-8", errors="replace")
    if not kmsg or not str(kmsg).strip():
        raise NoCrashFound("the panic code holds no kernel log text")
    info = _json_safe(decoded.to_dict()) if hasattr(decoded, "to_dict") else {}
    info = {k: v for k, v in info.items() if k not in ("kmsg", "data")}
    return str(kmsg), info


def prepare_url(
    url: str,
    *,
    scrub: bool | None = None,
    settings: Settings | None = None,
    decoded: Any = None,
) -> PreparedReport:
    """A drm_panic URL (or bare numeric payload) -> PreparedReport. ``decoded``: the
    :class:`~kpanic.qr.url.PanicPayload` of ``url`` when the caller has already decoded it."""
    from kpanic.qr.url import decode_payload

    settings = settings or get_settings()
    url = url.strip()
    if len(url) > settings.max_url_chars:
        raise InputTooLarge(
            f"the URL is {len(url)} characters; the limit is {settings.max_url_chars}"
        )
    if not url:
        raise KpanicError("the URL is empty")
    if decoded is None:
        decoded = decode_payload(url)
    kmsg, info = _payload_fields(decoded)
    do_scrub = settings.scrub if scrub is None else scrub
    return _prepared(
        "url",
        kmsg,
        scrub=do_scrub,
        original=url,
        original_is_text=False,
        payload=info,
        hint_arch=getattr(decoded, "arch", None),
        hint_kernel=getattr(decoded, "kernel", None),
        hint_distro=getattr(decoded, "distro", None),
    )


def prepare_photo(
    data: bytes | Path, *, scrub: bool | None = None, settings: Settings | None = None
) -> PreparedReport:
    """A photo of a panic QR code -> PreparedReport (keeps the photo's sha256, not the photo)."""
    from kpanic.qr.image import decode_photo
    from kpanic.qr.url import decode_payload

    settings = settings or get_settings()
    raw = Path(data).read_bytes() if isinstance(data, Path) else bytes(data)
    if len(raw) > settings.max_photo_bytes:
        raise InputTooLarge(
            f"the photo is {len(raw)} bytes; the limit is {settings.max_photo_bytes}"
        )
    if not raw:
        raise KpanicError("the photo is empty")
    photo = decode_photo(raw)
    decoded = decode_payload(photo.payload)
    kmsg, info = _payload_fields(decoded)
    do_scrub = settings.scrub if scrub is None else scrub
    return _prepared(
        "photo",
        kmsg,
        scrub=do_scrub,
        original=photo.payload,
        original_is_text=False,
        payload=info,
        photo=raw,
        hint_arch=getattr(decoded, "arch", None),
        hint_kernel=getattr(decoded, "kernel", None),
        hint_distro=getattr(decoded, "distro", None),
    )


PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp", ".bmp", ".tif", ".tiff")


def _is_photo(path: Path) -> bool:
    """A known photo suffix, or any file Pillow recognises as an image (AVIF, GIF, ...)."""
    if path.suffix.lower() in PHOTO_SUFFIXES:
        return True
    from kpanic.qr.sniff import image_format

    try:
        with path.open("rb") as fh:
            return image_format(fh.read(16)) is not None
    except OSError:
        return False


def log_file_hash(path: Path, settings: Settings) -> str | None:
    """The content hash of a plain log file (None for photos, URL files, unreadable input),
    so a bulk import can skip already-stored logs without parsing them again."""
    if path.suffix.lower() == ".url" or _is_photo(path):
        return None
    try:
        if path.stat().st_size > settings.max_log_bytes:
            return None
        return content_hash(decode_log_bytes(path.read_bytes(), settings.max_log_bytes))
    except (OSError, KpanicError):
        return None


def prepare_file(
    path: Path, *, scrub: bool | None = None, settings: Settings | None = None
) -> PreparedReport:
    """A file for ``kpanic import``: images are photos, ``*.url`` files URLs, the rest logs."""
    settings = settings or get_settings()
    suffix = path.suffix.lower()
    if _is_photo(path):
        return prepare_photo(path, scrub=scrub, settings=settings)
    size = path.stat().st_size
    if size > settings.max_log_bytes:
        raise InputTooLarge(f"{path.name} is {size} bytes; the limit is {settings.max_log_bytes}")
    data = path.read_bytes()
    if suffix == ".url":
        return prepare_url(data.decode("utf-8", "replace"), scrub=scrub, settings=settings)
    return prepare_log(data, scrub=scrub, settings=settings)
