"""Kernel release parsing and ordering on real release strings."""

from __future__ import annotations

import pytest

from kpanic.triage.kver import at_or_after, compare, parse_release

# (older, newer): each pair is ordered; real strings from distributions and upstream.
ORDERED = [
    ("6.9.0", "6.10.0"),  # not string order
    ("6.15.0-rc3", "6.15.0-rc7"),
    ("6.15.0-rc7", "6.15.0"),  # a release candidate comes before its release
    ("6.15", "6.15.1"),  # a missing sublevel is 0
    ("6.12.9-200.fc41.x86_64", "6.12.9-201.fc41.x86_64"),
    ("6.12.9-200.fc41.x86_64", "6.12.10-100.fc41.x86_64"),
    ("5.14.0-427.13.1.el9_4.x86_64", "5.14.0-427.18.1.el9_4.x86_64"),
    ("6.1.0-27-amd64", "6.1.0-28-amd64"),  # Debian ABI numbers within one base
    ("6.8.0-45-generic", "6.8.0-51-generic"),
    ("6.11.5-arch1-1", "6.11.5-arch1-2"),
    ("6.18.0-rc7-next-20261130", "6.18.0-rc7-next-20261201"),
    ("6.16.0-rc2", "6.16.0-rc2-00042-gdeadbeef1"),  # git describe: later commits
    ("6.15.3", "6.15.3-200.fc42.x86_64"),  # a distro build contains its upstream release
    ("6.12.48+deb13-amd64", "6.12.57+deb13-amd64"),
    ("6.12.9-200.fc41.aarch64", "6.12.9-201.fc41.x86_64"),  # the arch is not a build number
    ("5.10.107-android13-4-00001-gabcdef12", "5.10.110-android13-4-00002-gabcdef12"),
]


@pytest.mark.parametrize(("old", "new"), ORDERED)
def test_order(old: str, new: str) -> None:
    assert compare(old, new) == -1
    assert compare(new, old) == 1
    assert compare(old, old) == 0
    assert parse_release(old) < parse_release(new)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("a", "b", "why"),
    [
        ("6.12.9-200.fc41.x86_64", "6.12.9-1-arch1", "two distributions' builds of one release"),
        ("6.1.0-28-amd64", "6.1.119", "Debian's 6.1.0-28 hides its stable sublevel"),
        ("6.8.0-45-generic", "6.8.12", "Ubuntu likewise"),
        ("garbage", "6.1.0", "not a release"),
    ],
)
def test_unknown_order(a: str, b: str, why: str) -> None:
    assert compare(a, b) is None, why
    assert at_or_after(a, b) is None


def test_debian_sublevel_still_orders_across_minor_versions() -> None:
    assert compare("6.1.0-28-amd64", "6.12.9") == -1
    assert compare("6.12.48+deb13-amd64", "6.12.40") == 1  # +debN keeps the real sublevel


def test_fields() -> None:
    r = parse_release("6.15.0-rc3-next-20261201-00012-g0123abcd+")
    assert r is not None
    assert r.upstream == (6, 15, 0)
    assert r.rc == 3
    assert r.next_date == 20261201
    assert r.git_distance == 12
    assert r.local
    assert r.base == "6.15.0-rc3"
    f = parse_release("6.12.9-200.fc41.x86_64")
    assert f is not None and f.family == "fedora" and f.build == (200, 41)
    assert parse_release("Linux") is None


def test_at_or_after_decides_regressions() -> None:
    assert at_or_after("6.15.3", "6.15.3") is True
    assert at_or_after("6.15.4-200.fc42.x86_64", "6.15.3") is True
    assert at_or_after("6.15.0-rc3", "6.15.3") is False
    assert at_or_after("6.14.11", "6.15.0") is False
