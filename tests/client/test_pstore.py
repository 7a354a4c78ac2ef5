"""pstore records from corpus logs: parts split at odd offsets, reverse order, .enc.z, several
crashes, systemd-pstore's archive."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest

from kpanic.client import pstore
from kpanic.client.config import ClientConfig
from kpanic.client.sources import collect
from kpanic.report import parse
from tests.client.conftest import corpus_log, deflate_raw, fixture_log, write_dump

PSTORE_ONLY = ClientConfig(sources=("pstore", "systemd-pstore"))


def _pstore(root: Path) -> Path:
    return root / "sys" / "fs" / "pstore"


def test_efi_parts_at_odd_offsets_with_enc_z_join_to_the_original_log(tmp_path: Path) -> None:
    log = fixture_log("mac80211-kasan-uaf-console.txt")
    # efi records hold about 1 KB: cut mid-line, at odd offsets, one part compressed.
    cuts = [1021, 2047, 3071, 4093]
    assert any(log.encode()[c - 1 : c] not in (b"\n",) for c in cuts)
    write_dump(_pstore(tmp_path), log, backend="efi", cuts=cuts, compress={2, 4})
    found = collect(tmp_path, PSTORE_ONLY)
    assert len(found.crashes) == 1
    crash = found.crashes[0]
    assert crash.text == log  # byte for byte, headers gone, printing order restored
    assert crash.parts == 5
    assert crash.notes == []
    assert crash.title == parse(log).primary.title
    assert crash.title.startswith("KASAN: slab-use-after-free")
    assert sum(p.endswith(".enc.z") for p in crash.origin) == 2


def test_ramoops_records_in_reverse_order_and_zlib_wrapped_part(tmp_path: Path) -> None:
    log = corpus_log(100)
    n = len(log.encode())
    write_dump(
        _pstore(tmp_path),
        log,
        backend="ramoops",
        cuts=[n // 3 + 1, 2 * n // 3 + 3],
        reason="Oops",
        count=2,
        compress={3},
        zlib_header=True,
    )
    # dmesg-ramoops-0 is Part1 (the end of the log): catting them in name order is wrong.
    names = sorted(p.name for p in _pstore(tmp_path).iterdir())
    assert names[0] == "dmesg-ramoops-0"
    assert (_pstore(tmp_path) / "dmesg-ramoops-0").read_bytes().startswith(b"Oops#2 Part1\n")
    (crash,) = collect(tmp_path, PSTORE_ONLY).crashes
    assert crash.text == log
    assert crash.title == parse(log).primary.title


def test_erst_and_two_crashes_sharing_a_header_are_told_apart_by_time(tmp_path: Path) -> None:
    a, b = fixture_log("riscv-kvm-null-deref.txt"), corpus_log(1000)
    write_dump(_pstore(tmp_path), a, backend="erst", cuts=[333], timestamp=1_764_000_000)
    write_dump(
        _pstore(tmp_path), b, backend="erst", cuts=[777], timestamp=1_764_090_000, slot_base=10
    )
    crashes = collect(tmp_path, PSTORE_ONLY).crashes
    assert [c.text for c in crashes] == [a, b]  # oldest first
    assert all(c.parts == 2 for c in crashes)


def test_a_missing_part_is_noted_and_the_rest_kept(tmp_path: Path) -> None:
    log = fixture_log("mac80211-kasan-uaf-console.txt")
    write_dump(_pstore(tmp_path), log, cuts=[1500, 3001], skip={2})
    (crash,) = collect(tmp_path, PSTORE_ONLY).crashes
    assert crash.parts == 2
    assert crash.notes == ["Panic#1: part(s) 2 of 3 missing"]
    data = log.encode()
    assert crash.text == (data[:1500] + data[3001:]).decode()


def test_a_corrupt_enc_z_is_reported_and_the_other_crashes_still_found(tmp_path: Path) -> None:
    d = _pstore(tmp_path)
    write_dump(d, corpus_log(10), backend="ramoops")
    (d / "dmesg-ramoops-7.enc.z").write_bytes(b"this is not deflate data at all")
    found = collect(tmp_path, PSTORE_ONLY)
    assert len(found.crashes) == 1
    bad = [s for s in found.statuses if s.status == "error"]
    assert len(bad) == 1 and bad[0].where.endswith("dmesg-ramoops-7.enc.z")
    assert "not a deflate" in bad[0].detail


def test_inflate_refuses_a_zlib_bomb() -> None:
    bomb = deflate_raw(b"\0" * (pstore.MAX_INFLATED_BYTES + 10))
    with pytest.raises(ValueError, match="more than"):
        pstore.inflate(bomb)
    assert pstore.inflate(zlib.compress(b"Panic#1 Part1\nx")) == b"Panic#1 Part1\nx"


def test_systemd_pstore_archive_records_and_assembled_dmesg_txt(tmp_path: Path) -> None:
    archive = tmp_path / "var" / "lib" / "systemd" / "pstore"
    one, two = fixture_log("riscv-kvm-null-deref.txt"), corpus_log(5)
    # A directory holding the moved records...
    write_dump(archive / "176400000", one, cuts=[500, 901])
    # ...and one holding only the dmesg.txt systemd-pstore assembled (headers, parts reversed).
    d2 = archive / "176409000"
    d2.mkdir(parents=True)
    data = two.encode()
    cut = data.index(b"\n", len(data) // 2) + 1
    (d2 / "dmesg.txt").write_bytes(
        b"Panic#1 Part1\n" + data[cut:] + b"Panic#1 Part2\n" + data[:cut]
    )
    crashes = collect(tmp_path, PSTORE_ONLY).crashes
    texts = sorted(c.text for c in crashes)
    assert texts == sorted([one, two])
    assert {c.source for c in crashes} == {"systemd-pstore"}


def test_the_same_records_in_pstore_and_the_archive_are_one_crash(tmp_path: Path) -> None:
    log = corpus_log(5)
    write_dump(_pstore(tmp_path), log, cuts=[99])
    write_dump(tmp_path / "var" / "lib" / "systemd" / "pstore" / "x", log, cuts=[99])
    assert len(collect(tmp_path, PSTORE_ONLY).crashes) == 1


def test_missing_pstore_is_a_status_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "sys" / "fs").mkdir(parents=True)
    (tmp_path / "sys" / "fs" / "pstore").write_text("not a directory")
    found = collect(tmp_path, PSTORE_ONLY)
    assert found.crashes == []
    assert [(s.source, s.status) for s in found.statuses] == [
        ("pstore", "missing"),
        ("systemd-pstore", "missing"),
    ]


def test_since_uses_the_record_time(tmp_path: Path) -> None:
    from kpanic.client.sources import parse_since

    write_dump(_pstore(tmp_path), corpus_log(5), timestamp=1_700_000_000)
    write_dump(_pstore(tmp_path), corpus_log(10), count=2, timestamp=1_764_000_000)
    found = collect(tmp_path, PSTORE_ONLY, since=parse_since("2025-01-01"))
    assert len(found.crashes) == 1 and found.too_old == 1
    assert found.crashes[0].text == corpus_log(10)
    assert os.path.basename(found.crashes[0].origin[0]).startswith("dmesg-efi-1764000000")


def test_console_logs_and_shutdown_dumps_without_a_crash_are_not_offered(tmp_path: Path) -> None:
    d = _pstore(tmp_path)
    d.mkdir(parents=True)
    (d / "console-ramoops-0").write_text("[    0.000000] Linux version 6.18.0\n[    2.0] ok\n")
    write_dump(d, "[  100.0] reboot: Restarting system\n", backend="ramoops", reason="Shutdown")
    (d / "console-ramoops-1").write_text(corpus_log(10))  # a console log with an oops in it
    found = collect(tmp_path, PSTORE_ONLY)
    assert [c.text for c in found.crashes] == [corpus_log(10)]
    assert found.no_crash == 2
