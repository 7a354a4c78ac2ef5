"""The structured crash report every later layer (classify, store, web, CLI) consumes.

This is a contract between layers: fields may be added, never renamed or removed without
updating every consumer. All offsets are character offsets into the text given to the parser.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Language = Literal["c", "rust", "unknown"]


@dataclass(slots=True)
class Frame:
    """One stack frame, as printed (``func+0x1c/0x80 [module]``) or symbolized."""

    function: str  # demangled, human-readable name (Rust paths as crate::mod::fn)
    raw_function: str = ""  # the symbol exactly as printed (mangled if it was)
    offset: int | None = None  # +0x1c
    size: int | None = None  # /0x80
    module: str | None = None  # [ext4]
    file: str | None = None  # fs/ext4/inode.c (from a symbolized report or a vmlinux)
    line: int | None = None
    inline: bool = False  # "[inline]" frame of a symbolized report
    unreliable: bool = False  # printed with a leading "? "
    language: Language = "unknown"
    address: int | None = None  # the return address, when printed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class CrashReport:
    """One crash found in a log."""

    title: str  # syzkaller-style title, e.g. "KASAN: slab-use-after-free Read in foo"
    type: str  # syzkaller crash type derived from the title, e.g. "KASAN-USE-AFTER-FREE-READ"
    alt_titles: list[str] = field(default_factory=list)
    corrupted: bool = False
    corrupted_reason: str | None = None
    suppressed: bool = False
    panicked: bool = False  # the kernel panicked after this report
    executor: str | None = None  # syzkaller "proc=P, id=N"
    frames: list[Frame] = field(default_factory=list)
    guilty_frame: str | None = None  # function the crash is blamed on
    guilty_file: str | None = None  # source file the crash is blamed on
    language: Language = "unknown"  # language of the guilty frame
    kernel: str | None = None  # kernel release, e.g. "6.12.0-rc3-00042-gdeadbeef"
    arch: str | None = None  # x86_64, arm64, ...
    taint: str | None = None  # taint flags as printed, e.g. "G        W" -> "W"
    hardware: str | None = None  # "Hardware name: ..."
    cpu: int | None = None
    pid: int | None = None
    comm: str | None = None
    modules: list[str] = field(default_factory=list)  # "Modules linked in:" list
    start: int = 0  # offset of the first character of the report in the log
    # syzkaller's End: offset just past the last line that holds a crash header of any kind
    # (not the end of the report text, which runs on to the end of its stack trace)
    end: int = 0
    text: str = ""  # the report text (from log[start:], cleaned as syzkaller does)
    text_prefix_len: int = 0  # text[:text_prefix_len] is context printed before the crash line

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return d


@dataclass(slots=True)
class ParseResult:
    """Every crash found in one log; ``primary`` is the first (the one syzkaller titles)."""

    reports: list[CrashReport] = field(default_factory=list)

    @property
    def crashed(self) -> bool:
        return bool(self.reports)

    @property
    def primary(self) -> CrashReport | None:
        return self.reports[0] if self.reports else None
