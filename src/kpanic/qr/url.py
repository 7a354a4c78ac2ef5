"""Panic URL decoding: from the text a QR code holds back to the kernel log.

A drm_panic payload is either a URL ``<base>?a=<arch>&v=<release>&z=<digits>`` (``zl=`` for
Linux 6.12-6.14; parameters may also sit in the ``#`` fragment, as some front-ends put them
there) whose digits carry a zlib stream, or, with no URL configured, the raw kmsg itself.

Everything is bounded: the payload length, the digit count and the inflated size
(``zlib.decompressobj`` with ``max_length``), so a small URL cannot inflate into gigabytes.
Legacy codes hit by the v6.12 tail defect are repaired: the candidates for the damaged tail
are tried and the zlib Adler-32 checksum tells which one is right.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal
from urllib.parse import unquote

from kpanic.errors import InputTooLarge, PayloadError
from kpanic.qr import digits as dg

PayloadEncoding = Literal["fido2", "legacy", "raw"]

MAX_PAYLOAD_CHARS: Final = 64 * 1024  # a V40 symbol holds at most 7089 characters
DEFAULT_MAX_KMSG_BYTES: Final = 1024 * 1024  # drm_panic dumps at most 8868 bytes
_URL_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://", re.ASCII)


@dataclass(frozen=True)
class PanicUrl:
    """The parts of a panic URL, digits still undecoded."""

    url: str
    base_url: str
    arch: str | None
    kernel: str | None
    distro: str | None
    encoding: Literal["fido2", "legacy"]
    digits: str
    digits_offset: int  # index of the first digit in ``url``
    params: dict[str, str]

    def data(self, *, fixed: bool = False) -> bytes:
        """The bytes the digits carry (strict; ``fixed`` selects corrected legacy tails)."""
        if self.encoding == "fido2":
            return dg.fido2_bytes(self.digits, offset=self.digits_offset)
        return dg.legacy_bytes(self.digits, fixed=fixed, offset=self.digits_offset)


@dataclass(frozen=True)
class PanicPayload:
    """A decoded drm_panic QR payload."""

    payload: str
    url: str | None
    base_url: str | None
    arch: str | None
    kernel: str | None
    distro: str | None
    encoding: PayloadEncoding
    data: bytes  # the compressed stream; empty for raw payloads
    kmsg: str
    tail_repaired: bool
    legacy_fixed_tail: bool = False  # zl= digits used corrected tail widths (not a kernel code)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["data"] = self.data.hex()
        return out


def is_panic_url(text: str) -> bool:
    """True if ``text`` looks like a URL (scheme://...), as opposed to a raw kmsg payload."""
    return bool(_URL_RE.match(text.strip()))


def _split_params(part: str, offset: int) -> list[tuple[str, str, int]]:
    """``k=v&k2=v2`` -> [(key, raw value, index of the value in the URL)]."""
    out = []
    pos = offset
    for item in part.split("&"):
        key, sep, value = item.partition("=")
        if sep:
            out.append((key, value, pos + len(key) + 1))
        pos += len(item) + 1
    return out


def parse_panic_url(url: str) -> PanicUrl:
    """Split a panic URL; the data parameter (``z=`` or ``zl=``) must be the digits."""
    if len(url) > MAX_PAYLOAD_CHARS:
        raise InputTooLarge(f"URL of {len(url)} characters is over the {MAX_PAYLOAD_CHARS} limit")
    stripped = url.strip()
    lead = url.index(stripped[0]) if stripped else 0
    if not _URL_RE.match(stripped):
        raise PayloadError("not a URL (expected scheme://...)", position=0)
    base_end = len(stripped)
    for ch in "?#":
        i = stripped.find(ch)
        if i >= 0:
            base_end = min(base_end, i)
    base = stripped[:base_end]
    query, fragment, q_at, f_at = "", "", -1, -1
    hash_at = stripped.find("#")
    q = stripped.find("?")
    if q >= 0 and (hash_at < 0 or q < hash_at):
        q_at = q + 1
        query = stripped[q_at : hash_at if hash_at >= 0 else len(stripped)]
    if hash_at >= 0:
        f_at = hash_at + 1
        fragment = stripped[f_at:]
        if fragment.startswith("?"):  # "#?a=..." is seen too
            f_at += 1
            fragment = fragment[1:]
    params: dict[str, str] = {}
    positions: dict[str, int] = {}
    pairs = _split_params(query, q_at) if q_at >= 0 else []
    pairs += _split_params(fragment, f_at) if f_at >= 0 else []
    for key, value, at in pairs:
        if key not in params:  # the first occurrence wins
            params[key] = value
            positions[key] = at
    present = [k for k in ("z", "zl") if k in params]
    if not present:
        raise PayloadError("the URL has no z= or zl= parameter, so it carries no panic data")
    if len(present) > 1:
        raise PayloadError("the URL has both z= and zl= parameters; which one is the data?")
    key = present[0]
    digits = params[key]
    return PanicUrl(
        url=url,
        base_url=base,
        arch=_param(params, "a"),
        kernel=_param(params, "v"),
        distro=_param(params, "d"),
        encoding="fido2" if key == "z" else "legacy",
        digits=digits,
        digits_offset=lead + positions[key],
        params={k: unquote(v) for k, v in params.items() if k not in ("z", "zl")},
    )


def _param(params: dict[str, str], key: str) -> str | None:
    value = params.get(key)
    return None if value is None else unquote(value)  # not unquote_plus: '+' is literal here


def inflate(data: bytes, *, max_bytes: int = DEFAULT_MAX_KMSG_BYTES) -> bytes:
    """Inflate one complete zlib stream, refusing more than ``max_bytes`` of output."""
    d = zlib.decompressobj(zlib.MAX_WBITS)
    try:
        out = d.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise PayloadError(f"corrupt zlib data: {exc}") from None
    if len(out) > max_bytes or d.unconsumed_tail:
        raise InputTooLarge(f"the log inflates to more than {max_bytes} bytes, the size limit")
    if not d.eof:
        raise PayloadError(f"truncated zlib data: the stream ends early ({len(data)} bytes read)")
    if d.unused_data:
        raise PayloadError(f"{len(d.unused_data)} stray bytes after the end of the zlib stream")
    return out


def _decode_url_data(parsed: PanicUrl, max_bytes: int) -> tuple[bytes, bytes, bool, bool]:
    """(zlib data, inflated log, tail repaired, fixed legacy tail) for a parsed panic URL."""
    if not parsed.digits:
        raise PayloadError("the data parameter is empty", position=parsed.digits_offset)
    if parsed.encoding == "fido2":
        data = parsed.data()
        return data, inflate(data, max_bytes=max_bytes), False, False
    try:
        data = parsed.data()
        return data, inflate(data, max_bytes=max_bytes), False, False
    except PayloadError as exc:
        if not (parsed.digits.isascii() and parsed.digits.isdigit()):
            raise
        first_error = exc
    # The v6.12 tail defect: wrong final digits, or an out-of-range group read leniently.
    repaired: list[tuple[bytes, bytes]] = []
    for cand in dg.legacy_repair_candidates(parsed.digits):
        try:
            repaired.append((cand, inflate(cand, max_bytes=max_bytes)))
        except PayloadError:
            continue
    if len({text for _, text in repaired}) == 1:
        return repaired[0][0], repaired[0][1], True, False
    if repaired:
        raise PayloadError(f"{first_error}; {len(repaired)} different tail repairs all inflate")
    # Codes made outside the kernel with the corrected tail widths (as many digits as
    # 2**k - 1 needs), e.g. by segno.
    try:
        data = parsed.data(fixed=True)
        return data, inflate(data, max_bytes=max_bytes), False, True
    except PayloadError:
        raise first_error from None


def _raw_text(payload: str) -> str:
    """The kmsg of a raw payload: readers map bytes 1:1 to characters, so undo that for UTF-8."""
    try:
        return payload.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return payload


def decode_payload(payload: str, *, max_kmsg_bytes: int = DEFAULT_MAX_KMSG_BYTES) -> PanicPayload:
    """Decode the exact text of a drm_panic QR code (panic URL, lenient URL or raw kmsg)."""
    if not isinstance(payload, str):
        raise TypeError("payload must be str")
    if len(payload) > MAX_PAYLOAD_CHARS:
        raise InputTooLarge(
            f"payload of {len(payload)} characters is over the {MAX_PAYLOAD_CHARS} limit"
        )
    if not is_panic_url(payload):
        if len(payload.encode("utf-8", "surrogatepass")) > max_kmsg_bytes:
            raise InputTooLarge(f"raw payload is over the {max_kmsg_bytes}-byte limit")
        return PanicPayload(
            payload=payload,
            url=None,
            base_url=None,
            arch=None,
            kernel=None,
            distro=None,
            encoding="raw",
            data=b"",
            kmsg=_raw_text(payload),
            tail_repaired=False,
        )
    parsed = parse_panic_url(payload)
    data, log, repaired, fixed = _decode_url_data(parsed, max_kmsg_bytes)
    return PanicPayload(
        payload=payload,
        url=payload.strip(),
        base_url=parsed.base_url,
        arch=parsed.arch,
        kernel=parsed.kernel,
        distro=parsed.distro,
        encoding=parsed.encoding,
        data=data,
        kmsg=log.decode("utf-8", "replace"),
        tail_repaired=repaired,
        legacy_fixed_tail=fixed,
    )
