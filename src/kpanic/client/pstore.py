"""Read pstore records (``/sys/fs/pstore``, systemd-pstore's archive) and join the parts of
one crash into one log.

A kmsg dump larger than one record is stored as several records, each starting with a header
line ``Panic#1 Part1`` (``<reason>#<oops count> Part<n>``). Part1 holds the *end* of the log
and each higher part the text printed before it; a part may end in the middle of a line (efi
variables hold about 1 KB). Records the kernel could not decompress when it mounted pstore
keep their compressed bytes and get the suffix ``.enc.z``: the kernel compresses with raw
deflate (zlib, negative window bits); zlib- and gzip-wrapped streams are accepted too.

Parts are grouped by backend and ``<reason>#<count>``; records of different crashes that share
a header (two boots' ``Panic#1``) are told apart by their time (a gap, or a part number seen
twice). The joined text is the bodies, highest part first, concatenated byte for byte.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kpanic.client.model import Crash, SourceStatus

# dmesg-efi-170139876204001, dmesg-ramoops-0, dmesg-erst-6954302155263475713, console-ramoops-0
_NAME: Final = re.compile(
    r"(?P<type>dmesg|console)-(?P<backend>[A-Za-z0-9_]+)-(?P<id>[0-9]{1,24})"
    r"(?P<enc>\.enc\.z)?",
    re.ASCII,
)
_HEADER: Final = re.compile(rb"([A-Z][a-z]{1,12})#([0-9]{1,6}) Part([0-9]{1,4})\r?\n", re.ASCII)
MAX_RECORD_BYTES: Final = 4 << 20  # far above any backend's record size
MAX_INFLATED_BYTES: Final = 16 << 20  # a decompressed record; more is refused (zlib bomb)
# Two records of one dump are written within seconds; more than this apart is another crash.
SAME_DUMP_SECONDS: Final = 120


@dataclass(slots=True)
class Record:
    """One pstore file."""

    path: Path
    type: str  # dmesg | console
    backend: str
    id: int
    time: dt.datetime | None
    dump: str | None  # "Panic#1" from the header line
    part: int | None
    body: bytes  # the text after the header line


def inflate(data: bytes) -> bytes:
    """Decompress a ``.enc.z`` record: raw deflate as the kernel writes it, else zlib/gzip."""
    last: zlib.error | None = None
    for wbits in (-15, 15, 31):
        d = zlib.decompressobj(wbits)
        try:
            out = d.decompress(data, MAX_INFLATED_BYTES + 1)
        except zlib.error as exc:
            last = exc
            continue
        if len(out) > MAX_INFLATED_BYTES:
            raise ValueError(f"decompresses to more than {MAX_INFLATED_BYTES} bytes")
        if out:
            return out
    raise ValueError(f"not a deflate, zlib or gzip stream ({last})")


def _efi_time(record_id: int) -> dt.datetime | None:
    """efi-pstore ids are ((seconds * 100 + part) * 1000 + count)."""
    seconds = record_id // 100_000
    if 946_684_800 <= seconds <= 4_102_444_800:  # 2000..2100: a plausible timestamp
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    return None


def read_record(path: Path) -> Record | None:
    """The record in ``path``, or None when the name is not a dmesg/console record.

    Raises OSError (unreadable) or ValueError (bad compressed data) for the caller to report.
    """
    m = _NAME.fullmatch(path.name)
    if m is None:
        return None
    with path.open("rb") as fh:
        data = fh.read(MAX_RECORD_BYTES + 1)
    if len(data) > MAX_RECORD_BYTES:
        raise ValueError(f"larger than {MAX_RECORD_BYTES} bytes: not a pstore record")
    if m.group("enc"):
        data = inflate(data)
    record_id = int(m.group("id"))
    when = _efi_time(record_id) if m.group("backend") == "efi" else None
    if when is None:
        when = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    dump = part = None
    head = _HEADER.match(data)
    if head is not None:
        dump = f"{head.group(1).decode()}#{int(head.group(2))}"
        part = int(head.group(3))
        data = data[head.end() :]
    return Record(path, m.group("type"), m.group("backend"), record_id, when, dump, part, data)


def _decode(data: bytes) -> str:
    return data.replace(b"\x00", b"").decode("utf-8", "replace")


def join(records: list[Record]) -> list[Crash]:
    """The crashes these records hold: the parts of each dump joined in printing order."""
    crashes: list[Crash] = []
    groups: dict[tuple[str, str, str], list[Record]] = {}
    for rec in records:
        if rec.dump is None or rec.part is None:
            crashes.append(_crash([rec], source="pstore"))
            continue
        groups.setdefault((rec.type, rec.backend, rec.dump), []).append(rec)
    for recs in groups.values():
        for cluster in _clusters(recs):
            crashes.append(_crash(cluster, source="pstore"))
    crashes.sort(key=lambda c: (c.time or dt.datetime.min.replace(tzinfo=dt.UTC), c.origin))
    return crashes


def _clusters(recs: list[Record]) -> list[list[Record]]:
    """Split records sharing a header into dumps: by time, and a part number seen twice."""
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    recs = sorted(recs, key=lambda r: (r.time or epoch, r.part or 0))
    out: list[list[Record]] = []
    for rec in recs:
        cur = out[-1] if out else None
        if (
            cur is not None
            and all(r.part != rec.part for r in cur)
            and (
                rec.time is None
                or cur[-1].time is None
                or (rec.time - cur[-1].time).total_seconds() <= SAME_DUMP_SECONDS
            )
        ):
            cur.append(rec)
        else:
            out.append([rec])
    return out


def _crash(recs: list[Record], *, source: str) -> Crash:
    recs = sorted(recs, key=lambda r: -(r.part or 0))
    text = _decode(b"".join(r.body for r in recs))
    notes: list[str] = []
    parts = sorted(r.part for r in recs if r.part is not None)
    if parts:
        missing = sorted(set(range(1, parts[-1] + 1)) - set(parts))
        if missing:
            notes.append(
                f"{recs[0].dump}: part(s) {', '.join(map(str, missing))} of {parts[-1]} missing"
                + (" (the end of the log)" if 1 in missing else "")
            )
    times = [r.time for r in recs if r.time is not None]
    dump = recs[0].dump
    return Crash(
        source=source,
        origin=[str(r.path) for r in recs],
        text=text,
        time=min(times) if times else None,
        parts=len(recs),
        notes=notes,
        reason=dump.split("#", 1)[0] if dump else None,
    )


def scan_dir(
    directory: Path, source: str, *, recursive: bool = False
) -> tuple[list[Crash], list[SourceStatus]]:
    """Crashes in a pstore directory; each unreadable file is reported, never fatal."""
    statuses: list[SourceStatus] = []
    records: list[Record] = []
    files = sorted(directory.rglob("*") if recursive else directory.iterdir())
    for path in files:
        if not path.is_file() or path.name == "dmesg.txt":
            continue
        try:
            rec = read_record(path)
        except OSError as exc:
            statuses.append(SourceStatus(source, str(path), "unreadable", exc.strerror or str(exc)))
            continue
        except ValueError as exc:
            statuses.append(SourceStatus(source, str(path), "error", str(exc)))
            continue
        if rec is not None:
            records.append(rec)
    crashes = join(records)
    for c in crashes:
        c.source = source
    return crashes, statuses


def scan_systemd_archive(directory: Path) -> tuple[list[Crash], list[SourceStatus]]:
    """What systemd-pstore moved to ``/var/lib/systemd/pstore``: per crash a directory with
    the record files and/or the ``dmesg.txt`` it assembled (used when there are no records)."""
    source = "systemd-pstore"
    crashes: list[Crash] = []
    statuses: list[SourceStatus] = []
    dirs = [directory, *sorted(p for p in directory.rglob("*") if p.is_dir())]
    for d in dirs:
        found, st = scan_dir(d, source)
        statuses.extend(st)
        crashes.extend(found)
        assembled = d / "dmesg.txt"
        if found or not assembled.is_file():
            continue
        try:
            data = assembled.read_bytes()[:MAX_INFLATED_BYTES]
        except OSError as exc:
            statuses.append(SourceStatus(source, str(assembled), "unreadable", exc.strerror or ""))
            continue
        crashes.append(
            Crash(
                source=source,
                origin=[str(assembled)],
                text=_reassembled(_decode(data)),
                time=dt.datetime.fromtimestamp(assembled.stat().st_mtime, dt.UTC),
            )
        )
    return crashes, statuses


def _reassembled(text: str) -> str:
    """A text holding ``Panic#1 PartN`` headers, in printing order without the headers."""
    from kpanic.report.pstore import reassembly_order

    lines = text.splitlines(keepends=True)
    order = reassembly_order([ln.rstrip("\r\n") for ln in lines])
    if order is None:
        return text
    return "".join(lines[i] for i in order)
