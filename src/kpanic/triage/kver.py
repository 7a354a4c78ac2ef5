"""Kernel release strings as they appear in ``uname -r`` and oops headers, parsed and ordered.

A fix lands in a release; a crash arrives from a release. Whether the crash is a regression
depends on comparing the two, and release strings are not comparable as text:
``6.9.0 < 6.10.0``, ``6.15.0-rc3 < 6.15.0``, ``6.12.9-200.fc41 < 6.12.9-201.fc41``.

A release is parsed into

- the **upstream** version ``(major, minor, sublevel)`` (a missing sublevel is 0);
- a **pre-release** rank: ``-rcN`` sorts before the final release (``rc`` is ``N``, a final
  release has none);
- the **linux-next** date of ``-next-YYYYMMDD`` trees (newer date, newer tree);
- the **git distance** of ``git describe`` builds (``-00042-gdeadbeef``: 42 commits later);
- the **distribution build**: the numbers of a distro's package release (``-200.fc41``,
  ``-28-amd64``, ``-427.13.1.el9_4``, ``-arch1-1``, ``+deb13``) with the distro's **family**
  (``fc``, ``el``, ``debian``, ``ubuntu``, ``arch``, ``suse``, ``android``...) so that builds are
  only ordered against builds of the same family;
- ``+`` / ``-dirty``: a locally modified tree (kept, not ordered).

Debian and Ubuntu name builds ``x.y.0-ABI-flavour`` whatever stable sublevel they carry
(``6.1.0-28-amd64`` is 6.1.119): against another ``x.y`` release such a build's order is
unknown unless both are builds of the same family (pass the banner's ``Debian 6.1.119-1``
version instead when it is known).

``compare(a, b)`` answers -1/0/1, or ``None`` when the order cannot be known (two different
distributions' builds of the same upstream version: each may or may not carry a backport).
Callers that must decide (``at_or_after``) treat an unknown order as *no* so that an
uncertain comparison never reopens a fixed bug by itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

__all__ = ["KernelRelease", "at_or_after", "compare", "parse_release"]

_UPSTREAM = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")
_RC = re.compile(r"-rc(\d+)", re.IGNORECASE)
_NEXT = re.compile(r"-next-(\d{8})")
_DESCRIBE = re.compile(r"-(\d+)-g[0-9a-f]{7,40}\b")

# Distribution families, recognised by a marker in the local part of the release. Each row:
# (family, pattern, why). Order matters: the first match wins.
_FAMILIES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("fedora", re.compile(r"\.fc\d+"), "Fedora: 6.12.9-200.fc41.x86_64"),
    ("rhel", re.compile(r"\.el\d+"), "RHEL/CentOS/Alma/Rocky: 5.14.0-427.13.1.el9_4.x86_64"),
    ("amazon", re.compile(r"\.amzn\d+"), "Amazon Linux: 6.1.102-111.182.amzn2023.x86_64"),
    (
        "debian",
        re.compile(r"\+deb\d+|-(?:amd64|arm64|armmp|686(?:-pae)?|cloud-amd64|rt-amd64)$"),
        "Debian: 6.1.0-28-amd64, 6.12.48+deb13-amd64",
    ),
    (
        "ubuntu",
        re.compile(r"-(?:generic|lowlatency|aws|azure|gcp|oracle|kvm|raspi|oem)(?:-|$)"),
        "Ubuntu: 6.8.0-45-generic",
    ),
    ("arch", re.compile(r"-arch\d+"), "Arch Linux: 6.11.5-arch1-1"),
    (
        "suse",
        re.compile(r"-default$|\.g[0-9a-f]{7}-default|-lp\d+"),
        "openSUSE/SLES: 6.4.0-150600.23.25-default",
    ),
    ("android", re.compile(r"-android\d+"), "Android GKI: 5.10.107-android13-4-00001-gabc"),
    (
        "raspberrypi",
        re.compile(r"-v[678]l?\+|-v8-16k\+|-rpi"),
        "Raspberry Pi OS: 6.6.31+rpt-rpi-v8",
    ),
)
_NUMBERS = re.compile(r"\d+")
# Architecture and flavour names carry digits that are not build numbers (x86_64, arm64).
_ARCH_SUFFIX = re.compile(
    r"[.-](?:x86_64|aarch64|i[3-6]86|ppc64le|s390x|armv7hl|riscv64|amd64|arm64|686-pae)\b"
)
_ABI_STYLE = re.compile(r"^\d+\.\d+\.0-\d+")


@total_ordering
@dataclass(frozen=True)
class KernelRelease:
    """One parsed release string. Compare with ``compare()``; ``<`` is a total order used for
    sorting only (unknown orders fall back to the text)."""

    text: str
    upstream: tuple[int, int, int]
    rc: int | None = None
    next_date: int | None = None
    git_distance: int = 0
    family: str | None = None
    build: tuple[int, ...] = ()
    local: bool = False
    # Debian and Ubuntu name their builds x.y.0-ABI-flavour whatever the stable sublevel is
    # (6.1.0-28-amd64 is 6.1.119): the sublevel of such a release is not known.
    sublevel_known: bool = True

    @property
    def base(self) -> str:
        """The upstream release this build is of, e.g. ``6.15.0-rc3``."""
        major, minor, sub = self.upstream
        rc = f"-rc{self.rc}" if self.rc is not None else ""
        return f"{major}.{minor}.{sub}{rc}"

    def _key(self) -> tuple[object, ...]:
        return (
            self.upstream,
            self.rc if self.rc is not None else 1_000_000,
            self.next_date or 0,
            self.git_distance,
            self.family or "",
            self.build,
            self.text,
        )

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, KernelRelease):
            return NotImplemented
        return self._key() < other._key()


def parse_release(text: str) -> KernelRelease | None:
    """Parse a release such as ``6.15.0-rc3``; None when the text does not start with one."""
    s = text.strip()
    m = _UPSTREAM.match(s)
    if m is None:
        return None
    upstream = (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
    rest = s[m.end() :]
    rc_m = _RC.match(rest)
    rc = int(rc_m.group(1)) if rc_m else None
    next_m = _NEXT.search(rest)
    next_date = int(next_m.group(1)) if next_m else None
    desc_m = _DESCRIBE.search(rest)
    distance = int(desc_m.group(1)) if desc_m else 0
    local = (
        rest.endswith("+")
        or "-dirty" in rest
        or (rest.startswith("+") and "+deb" not in rest and "+rpt" not in rest)
    )
    family = None
    for name, pattern, _why in _FAMILIES:
        if pattern.search(rest):
            family = name
            break
    build: tuple[int, ...] = ()
    if family is not None:
        local_part = rest
        for pat in (_RC, _NEXT, _DESCRIBE, _ARCH_SUFFIX):
            local_part = pat.sub("", local_part)
        build = tuple(int(n) for n in _NUMBERS.findall(local_part))
    sublevel_known = not (family in ("debian", "ubuntu") and _ABI_STYLE.match(s) is not None)
    return KernelRelease(
        text=s,
        sublevel_known=sublevel_known,
        upstream=upstream,
        rc=rc,
        next_date=next_date,
        git_distance=distance,
        family=family,
        build=build,
        local=local,
    )


def _cmp(a: tuple[int, ...] | int, b: tuple[int, ...] | int) -> int:
    return int(a > b) - int(a < b)  # type: ignore[operator]


def compare(a: KernelRelease | str, b: KernelRelease | str) -> int | None:
    """-1, 0 or 1 as release ``a`` is older than, the same as, or newer than ``b``; None when
    unknown (unparsable, or two distributions' builds of one upstream version)."""
    ra = parse_release(a) if isinstance(a, str) else a
    rb = parse_release(b) if isinstance(b, str) else b
    if ra is None or rb is None:
        return None
    if (not ra.sublevel_known or not rb.sublevel_known) and ra.upstream[:2] == rb.upstream[:2]:
        if ra.upstream != rb.upstream or ra.family != rb.family:
            return None
    for x, y in (
        (ra.upstream, rb.upstream),
        (ra.rc if ra.rc is not None else 1_000_000, rb.rc if rb.rc is not None else 1_000_000),
        (ra.next_date or 0, rb.next_date or 0),
    ):
        c = _cmp(x, y)
        if c:
            return c
    if ra.family is None and rb.family is None:
        return _cmp(ra.git_distance, rb.git_distance)
    if ra.family is None:
        # An upstream release vs a distro build of it: the build contains the release.
        return -1
    if rb.family is None:
        return 1
    if ra.family != rb.family:
        return None
    return _cmp(ra.build, rb.build) or _cmp(ra.git_distance, rb.git_distance)


def at_or_after(release: str, fix: str) -> bool | None:
    """Whether ``release`` is the fix's release or newer; None when that cannot be known."""
    c = compare(release, fix)
    return None if c is None else c >= 0
