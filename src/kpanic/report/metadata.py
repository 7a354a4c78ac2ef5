"""Facts about the machine and task a report came from: kernel release, taint, arch, CPU, PID...

They come from the lines every oops prints: ``CPU: 0 PID: 123 Comm: foo Tainted: G W 6.1.0 #1``,
``Hardware name: ...``, ``Modules linked in: ...`` and the register dump, whose style names the
architecture (``RIP:`` x86_64, ``pc : / lr :`` arm64, ``PC is at`` arm, ``NIP:`` powerpc, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_CPU_LINE = re.compile(
    r"CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (.{0,64}?) +"
    r"(?:Not tainted|Tainted: ([A-Z -]{0,40}?))\s+(\S+) #",  # mail clients wrap before the release
    re.ASCII,
)
# Before 3.8: "Pid: 802, comm: wpa_supplicant Tainted: P   O 3.6.1-1.fc17.x86_64 #1 <hardware>".
_OLD_PID_LINE = re.compile(
    r"Pid: (\d+), comm: (.{0,64}?) +(?:Not tainted|Tainted: ([A-Z -]{0,40}?)) +(\S+) #",
    re.ASCII,
)
# Last resort: a CPU line broken by the paste ("PID: 1" / "88243 Comm: ...").
_COMM_RELEASE = re.compile(
    r"Comm: \S.{0,64}? (?:Not tainted|Tainted: ([A-Z -]{0,40}?))\s+(\S+) #", re.ASCII
)
# Lockdep and some old oopses print "<release> #<build> Not tainted" on a line of its own.
_BANNER = re.compile(
    r"(?m)^\s*([0-9]+\.[0-9]+[^\s#]*) #[0-9]+(?: \S+)* (?:Not tainted|Tainted: ([A-Z -]{0,40}))",
    re.ASCII,
)
_HARDWARE = re.compile(r"Hardware name: ([^\n]{1,200})", re.ASCII)
_MODULES = re.compile(r"Modules linked in:([^\n]{0,4000})", re.ASCII)
_MODULE_NAME = re.compile(r"[A-Za-z0-9_\-]+", re.ASCII)
# (substrings, arch): the first register-dump style found wins (plain substring tests: fast).
_ARCH_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("RIP: 0", "RSP: 0018:", "RSP: 002b:", "RIP  [<ffffffff"), "x86_64"),
    (("EIP: ", "EIP is at ", "i386_start_kernel"), "i386"),
    # 32-bit arm prints "pc : [<c0123456>]    lr : [<...>]"; arm64 "pc : func+0x1/0x2".
    (("pc : [<", "PC is at ", "LR is at ", ") from [<"), "arm"),
    (("\npc : ", "\nlr : "), "arm64"),
    (("NIP: ", "NIP [", "\nMSR: "), "powerpc"),
    (("epc : ", " badaddr: "), "riscv64"),
    (("Krnl PSW :",), "s390"),
    (("ERA: ", "era  : "), "loongarch64"),
    (("<TASK>", "entry_SYSCALL_64", "do_syscall_64", ".x86_64 #"), "x86_64"),
    # arm64 entry code (5.10 and older: el1_irq, el0_sync...; newer: el1h_64_irq...) and
    # "aarch64" in a release or toolchain string identify it without a register dump.
    (
        (
            "el0t_64_sync",
            "el1h_64_",
            "arch/arm64/",
            "el0_svc",
            "el1_irq+",
            "el0_irq+",
            "el1_sync+",
            "el0_sync+",
            "el1_error+",
            "aarch64",
        ),
        "arm64",
    ),
    ((".i686 #", ".i386 #"), "i386"),
    ((".ppc64le #", ".ppc64 #"), "powerpc"),
    ((".s390x #",), "s390"),
)
MAX_SCAN = 1 << 16  # metadata lines sit near the top of a report


@dataclass(slots=True)
class Metadata:
    kernel: str | None = None
    taint: str | None = None
    cpu: int | None = None
    pid: int | None = None
    comm: str | None = None
    hardware: str | None = None
    arch: str | None = None
    modules: list[str] = field(default_factory=list)


def _taint_flags(flags: str | None) -> str:
    # "G        W  O" -> "WO": "G" only says every module is GPL (no taint).
    return "".join(ch for ch in (flags or "") if ch not in " G-")


def extract_metadata(text: str) -> Metadata:
    """Metadata found in ``text`` (a report, or the log around it)."""
    md = Metadata()
    text = "\n" + text[:MAX_SCAN]
    m = _CPU_LINE.search(text)
    if m is not None:
        md.cpu, md.pid = int(m.group(1)), int(m.group(2))
        md.comm = m.group(3)
        md.taint = _taint_flags(m.group(4))
        md.kernel = m.group(5)
    else:
        m = _OLD_PID_LINE.search(text)
        if m is not None:
            md.pid, md.comm = int(m.group(1)), m.group(2)
            md.taint = _taint_flags(m.group(3))
            md.kernel = m.group(4)
    if md.kernel is None:
        m = _COMM_RELEASE.search(text)
        if m is not None:
            md.taint = _taint_flags(m.group(1))
            md.kernel = m.group(2)
    if md.kernel is None:
        m = _BANNER.search(text)
        if m is not None:
            md.kernel = m.group(1)
            md.taint = _taint_flags(m.group(2))
    m = _HARDWARE.search(text)
    if m is not None:
        md.hardware = m.group(1).strip()
    m = _MODULES.search(text)
    if m is not None:
        listed = m.group(1).split("[last unloaded", 1)[0]
        md.modules = [
            mm.group(0) for word in listed.split() if (mm := _MODULE_NAME.match(word)) is not None
        ]
    for hints, arch in _ARCH_HINTS:
        if any(h in text for h in hints):
            md.arch = arch
            break
    return md


def merge(primary: Metadata, fallback: Metadata) -> Metadata:
    """Fields of ``primary``, with the gaps filled from ``fallback``."""
    for name in Metadata.__slots__:
        if getattr(primary, name) in (None, []):
            setattr(primary, name, getattr(fallback, name))
    return primary
