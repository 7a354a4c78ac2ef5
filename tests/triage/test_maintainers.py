"""Subsystem and maintainer lookup against a MAINTAINERS-format file written for the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpanic.triage.maintainers import load_maintainers, parse_maintainers

FILE = Path(__file__).resolve().parents[1] / "data" / "maintainers" / "MAINTAINERS"


@pytest.fixture(scope="module")
def m():
    return load_maintainers(FILE)


def names(matches) -> list[str]:
    return [x.subsystem.name for x in matches]


def test_parses_entries_not_the_preamble(m) -> None:
    assert [s.name for s in m.subsystems][:3] == [
        "BTRFS FILE SYSTEM",
        "DRM DRIVERS",
        "DRM DRIVERS FOR AMD",
    ]
    btrfs = m.by_name("BTRFS FILE SYSTEM")
    assert btrfs is not None
    assert btrfs.status == "Maintained"
    assert btrfs.lists == ("linux-btrfs@vger.kernel.org",)
    assert btrfs.maintainers[1] == "David Sterba <dsterba@example.org>"
    assert btrfs.trees and btrfs.web


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("fs/btrfs/extent-tree.c", ["BTRFS FILE SYSTEM"]),
        ("fs/ext4/inode.c", ["EXT4 FILE SYSTEM"]),  # "F: fs/ext4" without its slash
        ("drivers/gpu/drm/amd/amdgpu/amdgpu_vm.c", ["DRM DRIVERS FOR AMD"]),  # X: in DRM
        ("drivers/gpu/drm/drm_panic_qr.rs", ["DRM PANIC", "DRM DRIVERS"]),  # deepest first
        ("drivers/gpu/drm/drm_panic.c", ["DRM PANIC", "DRM DRIVERS"]),  # wildcard in a name
        ("mm/kasan/report.c", ["KASAN"]),  # X: mm/kasan/ in MEMORY MANAGEMENT
        ("mm/slub.c", ["MEMORY MANAGEMENT - CORE"]),
        ("net/mac80211/sta_info.c", ["MAC80211"]),
        ("net/ipv4/tcp.c", ["NETWORKING [GENERAL]"]),
        ("./io_uring/register.c", ["IO_URING"]),
        ("kernel/sched/core.c", ["THE REST"]),  # only the catch-all
        ("drivers/staging/obsolete/foo.c", ["OBSOLETE THING"]),
    ],
)
def test_files(m, path: str, expected: list[str]) -> None:
    assert names(m.owners([path])) == expected


def test_wildcard_stays_at_its_depth(m) -> None:
    # "drivers/staging/obsolete/*" is the files in that directory, not below it.
    assert names(m.owners(["drivers/staging/obsolete/sub/foo.c"])) == ["THE REST"]


def test_regex_and_keyword_rows(m) -> None:
    # N: io_uring matches a path anywhere; K: matches frame names when no file is known.
    assert "IO_URING" in names(m.owners(["include/trace/events/io_uring.h"]))
    got = m.owners([], ["io_uring_register", "do_syscall_64"])
    assert names(got) == ["IO_URING"]
    assert got[0].reason.startswith("K: ")
    # A file match outranks a K: match of another subsystem.
    got = m.owners(["fs/btrfs/ioctl.c"], ["io_uring_cmd"])
    assert names(got)[0] == "BTRFS FILE SYSTEM"


def test_reason_names_the_pattern(m) -> None:
    (first, *_rest) = m.owners(["drivers/gpu/drm/drm_panic_qr.rs"])
    path = "drivers/gpu/drm/drm_panic_qr.rs"
    assert first.reason == f"F: {path} matches {path}"


def test_nothing_known(m) -> None:
    assert names(m.owners([], [])) == []


def test_hostile_text_is_harmless() -> None:
    m = parse_maintainers("X\nF:\t(((\nN:\t(((\nK:\t[\n\nY\nM:\ta\n")
    assert [s.name for s in m.subsystems] == ["X", "Y"]
    assert m.owners(["(((x"], ["[y"]) == []  # broken regexes are skipped, not fatal


def test_size_cap(tmp_path) -> None:
    big = tmp_path / "MAINTAINERS"
    big.write_bytes(b"A\nF:\tx/\n" * 10)
    with pytest.raises(ValueError, match="larger than"):
        load_maintainers(big, max_bytes=20)
