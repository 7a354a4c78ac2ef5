"""Who owns a crash: subsystems and maintainers from a kernel ``MAINTAINERS`` file.

The operator points the service at the ``MAINTAINERS`` file of the tree they care about; for a
crash group kpanic matches the guilty file (and the files of the frames, when the report was
symbolized) and, failing that, the frame function names against the file's entries, the way
``scripts/get_maintainer.pl`` matches the files of a patch:

=====  ==================================================================================
Field  How it is used (the MAINTAINERS file's own preamble defines these)
=====  ==================================================================================
F:     file and directory patterns. A trailing ``/`` matches everything below the directory;
       ``*`` and ``?`` are wildcards within the same directory depth (``drivers/net/*`` is
       the files in drivers/net, not below); a plain path matches that file. A plain path
       whose last part has no dot is taken as a directory (get_maintainer.pl looks at the
       tree on disk; kpanic has no tree, and kernel files all have an extension).
X:     excluded files, same rules as F:, tested before F:.
N:     a regular expression matched against the file path.
K:     a regular expression matched against the frame function names (get_maintainer.pl
       matches it against the patch text; a crash has frames, not a patch). A K: match ranks
       below any file match.
S:     status (Supported, Maintained, Odd Fixes, Orphan, Obsolete, Buried), shown with the
       subsystem.
M: R:  maintainers and reviewers; L: lists; T: trees; W: web; B: bug tracker; Q: patchwork.
=====  ==================================================================================

Ranking (as get_maintainer.pl): the subsystem whose matching pattern is deepest (most ``/``)
comes first; ties keep file order. ``THE REST`` (which matches everything) is used only when
nothing else matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Maintainers", "Match", "Subsystem", "load_maintainers", "parse_maintainers"]

_FIELD = re.compile(r"^([A-Z]):\s*(.*?)\s*$")
_CATCH_ALL = "THE REST"
_STATUSES = frozenset({"supported", "maintained", "odd fixes", "orphan", "obsolete", "buried"})


@dataclass(frozen=True)
class Subsystem:
    """One MAINTAINERS entry."""

    name: str
    status: str | None = None
    maintainers: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    lists: tuple[str, ...] = ()
    trees: tuple[str, ...] = ()
    web: tuple[str, ...] = ()
    bug_trackers: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    regexes: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    """A subsystem that owns a crash, and why."""

    subsystem: Subsystem
    depth: int  # slashes in the matching pattern; K: matches rank below every file match
    reason: str  # e.g. "F: drivers/gpu/drm/ matches drivers/gpu/drm/drm_gem.c"


@dataclass(frozen=True)
class _FilePattern:
    text: str
    regex: re.Pattern[str]
    depth: int


def _compile_glob(pattern: str) -> _FilePattern:
    p = pattern.strip()
    last = p.rsplit("/", 1)[-1]
    if not p.endswith("/") and not any(c in p for c in "*?[") and "." not in last:
        p += "/"  # a directory named without its slash
    out: list[str] = []
    for ch in p:
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(ch))
    body = "".join(out)
    if p.endswith("/"):
        return _FilePattern(pattern, re.compile("^" + body), p.count("/"))
    # Without a trailing slash a pattern matches at its own depth only: anchored at the end.
    return _FilePattern(pattern, re.compile("^" + body + "$"), p.count("/"))


@dataclass
class _Compiled:
    subsystem: Subsystem
    files: list[_FilePattern] = field(default_factory=list)
    excludes: list[_FilePattern] = field(default_factory=list)
    regexes: list[re.Pattern[str]] = field(default_factory=list)
    keywords: list[re.Pattern[str]] = field(default_factory=list)


def _safe_regex(text: str) -> re.Pattern[str] | None:
    # MAINTAINERS regexes are Perl; the few constructs Python lacks make the row unusable, not
    # the file: such a row is skipped.
    try:
        return re.compile(text)
    except re.error:
        return None


class Maintainers:
    """A parsed MAINTAINERS file: ``owners(files, functions)`` ranks the subsystems."""

    def __init__(self, subsystems: Sequence[Subsystem]) -> None:
        self.subsystems = tuple(subsystems)
        self._compiled: list[_Compiled] = []
        for sub in self.subsystems:
            c = _Compiled(sub)
            c.files = [_compile_glob(p) for p in sub.files]
            c.excludes = [_compile_glob(p) for p in sub.excludes]
            c.regexes = [r for r in map(_safe_regex, sub.regexes) if r is not None]
            c.keywords = [r for r in map(_safe_regex, sub.keywords) if r is not None]
            self._compiled.append(c)

    def by_name(self, name: str) -> Subsystem | None:
        for sub in self.subsystems:
            if sub.name == name:
                return sub
        return None

    def owners(self, files: Iterable[str] = (), functions: Iterable[str] = ()) -> list[Match]:
        """Subsystems owning any of ``files`` (most specific first), then those whose K:
        matches a function; ``THE REST`` only when nothing else matched."""
        paths = [_normal(f) for f in files if f]
        funcs = [f for f in functions if f]
        best: dict[str, Match] = {}
        order: list[str] = []
        for c in self._compiled:
            found = self._file_match(c, paths) or self._keyword_match(c, funcs)
            if found is None:
                continue
            name = c.subsystem.name
            if name not in best:
                order.append(name)
            if name not in best or found.depth > best[name].depth:
                best[name] = found
        matches = [best[n] for n in order]
        real = [m for m in matches if m.subsystem.name != _CATCH_ALL]
        chosen = real or matches
        return sorted(chosen, key=lambda m: -m.depth)

    @staticmethod
    def _file_match(c: _Compiled, paths: Sequence[str]) -> Match | None:
        found: Match | None = None
        for path in paths:
            if any(_matches(x, path) for x in c.excludes):
                continue
            for fp in c.files:
                if _matches(fp, path) and (found is None or fp.depth > found.depth):
                    found = Match(c.subsystem, fp.depth, f"F: {fp.text} matches {path}")
            for rx in c.regexes:
                if rx.search(path) and found is None:
                    found = Match(c.subsystem, 1, f"N: {rx.pattern} matches {path}")
        return found

    @staticmethod
    def _keyword_match(c: _Compiled, funcs: Sequence[str]) -> Match | None:
        for rx in c.keywords:
            for fn in funcs:
                if rx.search(fn):
                    return Match(c.subsystem, -1, f"K: {rx.pattern} matches {fn}")
        return None


def _matches(fp: _FilePattern, path: str) -> bool:
    return fp.regex.match(path) is not None


def _normal(path: str) -> str:
    p = path.strip().replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    return p.lstrip("/")


_LIST_FIELDS = {
    "M": "maintainers",
    "R": "reviewers",
    "L": "lists",
    "T": "trees",
    "W": "web",
    "B": "bug_trackers",
    "F": "files",
    "X": "excludes",
    "N": "regexes",
    "K": "keywords",
}


def parse_maintainers(text: str) -> Maintainers:
    """Parse MAINTAINERS text. Entries are blocks of ``X:`` lines after a name line; the
    preamble before the first entry and unknown fields are ignored."""
    subsystems: list[Subsystem] = []
    name: str | None = None
    fields: dict[str, list[str]] = {}
    status: str | None = None

    def flush() -> None:
        nonlocal name, fields, status
        if name is not None and fields:
            kwargs = {attr: tuple(fields.get(key, ())) for key, attr in _LIST_FIELDS.items()}
            subsystems.append(Subsystem(name=name, status=status, **kwargs))
        name, fields, status = None, {}, None

    for raw in text.splitlines():
        line = raw.rstrip()
        if not line:
            flush()
            continue
        m = _FIELD.match(line)
        if m is None:
            if fields:  # a name line directly after an entry without a blank line
                flush()
            name = line.strip()
            continue
        if name is None:
            continue
        key, value = m.group(1), m.group(2)
        if key == "S":
            status = value if value.lower() in _STATUSES else value or None
        elif key in _LIST_FIELDS and value:
            fields.setdefault(key, []).append(value)
    flush()
    return Maintainers(subsystems)


def load_maintainers(path: str | Path, max_bytes: int = 16 * 1024 * 1024) -> Maintainers:
    """Read and parse a MAINTAINERS file (capped at ``max_bytes``: the kernel's is ~800 KB)."""
    p = Path(path)
    with p.open("rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"{p}: larger than {max_bytes} bytes; not a MAINTAINERS file")
    return parse_maintainers(data.decode("utf-8", errors="replace"))
