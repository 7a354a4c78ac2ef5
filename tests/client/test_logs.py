"""The journal of earlier boots (through a stand-in journalctl fed with corpus logs), kdump's
saved dmesg in the Fedora and Debian layouts, and syslog files."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

from kpanic.client.config import ClientConfig
from kpanic.client.journal import boot_log
from kpanic.client.sources import collect
from kpanic.report import parse
from tests.client.conftest import corpus_log, fake_journalctl, fixture_log, journal_entries

QUIET_BOOT = "[    0.000000] Linux version 6.18.0 (builder@host) #1 SMP\n[    1.5] all fine\n"


def _journal_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "var" / "log" / "journal").mkdir(parents=True)
    return root


def test_journal_of_earlier_boots_gives_the_crash_with_its_time(tmp_path: Path) -> None:
    root = _journal_root(tmp_path)
    log = fixture_log("mac80211-kasan-uaf-console--dmesg.txt")
    crashed = journal_entries(log, "b1" * 16, start_us=1_764_000_000_000_000)
    script = fake_journalctl(tmp_path / "bin", [journal_entries(QUIET_BOOT, "b0" * 16), crashed])
    cfg = ClientConfig(sources=("journal",), journalctl=str(script), journal_boots=5)
    found = collect(root, cfg)
    (crash,) = found.crashes
    assert crash.source == "journal"
    assert crash.title == parse(log).primary.title
    assert crash.origin == [f"journal boot {'b1' * 16}"]
    # The whole report, not just its header line: every message of the oops is in the text.
    from kpanic.client.overlap import message_lines

    assert message_lines(log) <= message_lines(crash.text)
    assert crash.time is not None and crash.time.year == 2025
    # Kernel messages only, as JSON, boot by boot until journalctl has no more.
    calls = (tmp_path / "bin" / "calls.log").read_text().splitlines()
    assert [c.split()[:4] for c in calls] == [["-k", "-b", f"-{n}", "-o"] for n in (1, 2, 3)]
    assert all(f"--directory {root / 'var' / 'log' / 'journal'}" in c for c in calls)
    (status,) = found.statuses
    assert (status.status, status.crashes, status.detail) == ("ok", 1, "2 earlier boot(s) read")


def test_journal_message_as_byte_array_and_timestamps() -> None:
    entries = [
        '{"_BOOT_ID":"x","_SOURCE_MONOTONIC_TIMESTAMP":"12345678","MESSAGE":"hello"}',
        '{"_BOOT_ID":"x","__MONOTONIC_TIMESTAMP":"99000001","MESSAGE":[104,105,255]}',
        "not json",
    ]
    boot = boot_log(entries)
    assert boot.text == "[   12.345678] hello\n[   99.000001] hi\ufffd\n"
    assert boot.boot_id == "x"


def test_journal_missing_or_failing_is_reported(tmp_path: Path) -> None:
    root = _journal_root(tmp_path)
    cfg = ClientConfig(sources=("journal",), journalctl=str(tmp_path / "no-such-journalctl"))
    (s,) = collect(root, cfg).statuses
    assert s.status == "missing"
    script = fake_journalctl(tmp_path / "bin", [], fail="Failed to open journal: Permission denied")
    (s,) = collect(root, ClientConfig(sources=("journal",), journalctl=str(script))).statuses
    assert (s.status, s.detail) == ("unreadable", "Failed to open journal: Permission denied")


def test_kdump_fedora_and_debian_layouts(tmp_path: Path) -> None:
    crash_dir = tmp_path / "var" / "crash"
    fedora = crash_dir / "127.0.0.1-2026-11-20-10:11:12"
    debian = crash_dir / "202611211314"
    fedora.mkdir(parents=True)
    debian.mkdir(parents=True)
    a, b = fixture_log("riscv-kvm-null-deref--console.txt"), corpus_log(1000)
    (fedora / "vmcore-dmesg.txt").write_text(QUIET_BOOT + a)
    (fedora / "vmcore").write_bytes(b"\x7fELF not read")
    (debian / "dmesg.202611211314").write_text(b)
    crashes = collect(tmp_path, ClientConfig(sources=("kdump",))).crashes
    assert sorted(c.title for c in crashes) == sorted(
        [parse(a).primary.title, parse(b).primary.title]
    )
    assert all(c.source == "kdump" for c in crashes)


def test_syslog_files_rotated_and_gzipped_and_skipped_when_the_journal_is_read(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    logdir = root / "var" / "log"
    logdir.mkdir(parents=True)
    sys_a = fixture_log("btrfs-refcount-warning--syslog.txt")
    (logdir / "kern.log").write_text("Nov 22 08:00:00 myhost kernel: [    1.0] hello\n" + sys_a)
    with gzip.open(logdir / "messages.1.gz", "wt") as fh:
        fh.write(fixture_log("mac80211-kasan-uaf-console--syslog.txt"))
    cfg = ClientConfig(sources=("journal", "syslog"), journalctl=str(tmp_path / "none"))
    found = collect(root, cfg)
    titles = sorted(c.title for c in found.crashes)
    assert len(titles) == 2
    assert any(t.startswith("KASAN: slab-use-after-free") for t in titles)
    kern = next(c for c in found.crashes if c.origin[0].endswith("kern.log"))
    assert kern.time is not None and kern.time.tzinfo == dt.UTC
    # With a readable journal the syslog files are not read (each crash would come twice).
    (root / "var" / "log" / "journal").mkdir()
    script = fake_journalctl(tmp_path / "bin", [journal_entries(QUIET_BOOT, "b" * 32)])
    found = collect(root, ClientConfig(sources=("journal", "syslog"), journalctl=str(script)))
    assert found.crashes == []
    assert [s.status for s in found.statuses if s.source == "syslog"] == ["skipped"]


def test_two_crashes_in_one_log_are_two_crashes(tmp_path: Path) -> None:
    from kpanic.client.logs import crash_windows

    a = fixture_log("riscv-kvm-null-deref--console.txt")
    b = corpus_log(1000)
    filler = "".join(f"[ 5000.{i:06d}] eth0: link up\n" for i in range(200))
    windows = crash_windows(a + filler + b)
    assert [w.title for w in windows] == [parse(a).primary.title, parse(b).primary.title]
    last_of_a = a.rstrip("\n").rsplit("\n", 1)[1]
    assert last_of_a in windows[0].text  # the first crash's whole trace
    assert b.strip().split("\n")[0] not in windows[0].text  # and not the next crash
    assert "eth0: link up" not in windows[0].text.split("\n", 1)[0]


def test_a_journal_without_earlier_boots_leaves_it_to_the_syslog_files(tmp_path: Path) -> None:
    root = _journal_root(tmp_path)
    (root / "var" / "log" / "kern.log").write_text(
        fixture_log("btrfs-refcount-warning--syslog.txt")
    )
    script = fake_journalctl(tmp_path / "bin", [])  # journalctl: boot -1 is not available
    found = collect(root, ClientConfig(sources=("journal", "syslog"), journalctl=str(script)))
    assert [s.status for s in found.statuses if s.source == "journal"] == ["missing"]
    assert len(found.crashes) == 1 and found.crashes[0].source == "syslog"


def test_one_oops_in_the_journal_and_in_pstore_is_one_crash(tmp_path: Path) -> None:
    from tests.client.conftest import write_dump

    root = _journal_root(tmp_path)
    log = fixture_log("mac80211-kasan-uaf-console--dmesg.txt")
    # pstore holds the end of the log only (one record); the journal has all of it.
    tail = "".join(log.splitlines(keepends=True)[-60:])
    write_dump(root / "sys" / "fs" / "pstore", tail, backend="ramoops", reason="Oops",
               timestamp=1_764_000_100)  # fmt: skip
    script = fake_journalctl(tmp_path / "bin", [journal_entries(log, "c" * 32)])
    cfg = ClientConfig(sources=("pstore", "journal"), journalctl=str(script))
    (crash,) = collect(root, cfg).crashes
    assert crash.source == "journal"  # the fuller text
    assert any(o.endswith("dmesg-ramoops-0") for o in crash.origin)
    assert crash.notes and crash.notes[0].startswith("also found in pstore")
    # The same oops recorded a day apart is two crashes.
    (root / "sys" / "fs" / "pstore" / "dmesg-ramoops-0").unlink()
    write_dump(root / "sys" / "fs" / "pstore", tail, backend="ramoops", reason="Oops",
               timestamp=1_764_090_000)  # fmt: skip
    assert len(collect(root, cfg).crashes) == 2
