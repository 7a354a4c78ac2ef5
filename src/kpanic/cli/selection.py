"""Which files of the directories named on the command line a batch command reads
(``kpanic stats``, ``signature``, ``import``): ``--glob`` keeps only matching names,
``--exclude`` drops matching names or relative paths, and files that are documentation rather
than logs (README, LICENSE, COPYING, ...) are skipped by default, with a count of what was
skipped. Files named explicitly are always read."""

from __future__ import annotations

import argparse
import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from kpanic.errors import KpanicError

# Names skipped in walked directories unless --glob asks for them by name; each is a file a
# repository or corpus ships beside its logs, never a kernel log itself.
DOC_PATTERNS: Final = (
    "README*",  # the corpus' description
    "LICENSE*",  # licence texts (syzkaller's Apache-2.0 LICENSE beside its corpus)
    "LICENCE*",
    "COPYING*",
    "NOTICE*",
    "AUTHORS*",
    "CONTRIBUTORS*",
    "CHANGELOG*",
    "CHANGES*",
    "*.md",  # documentation
    "*.rst",
)


@dataclass(slots=True)
class Selection:
    files: list[Path] = field(default_factory=list)
    skipped_docs: list[Path] = field(default_factory=list)
    excluded: int = 0
    not_matching: int = 0

    def note(self) -> str | None:
        """What was skipped, for standard error (None when nothing was)."""
        bits = []
        if self.skipped_docs:
            names = ", ".join(sorted({p.name for p in self.skipped_docs})[:5])
            bits.append(
                f"skipped {len(self.skipped_docs)} README/LICENSE-like file(s) ({names}); "
                "name them or use --glob to read them"
            )
        if self.excluded:
            bits.append(f"excluded {self.excluded} file(s) by --exclude")
        if self.not_matching:
            bits.append(f"{self.not_matching} file(s) did not match --glob")
        return "; ".join(bits) or None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--glob",
        action="append",
        default=[],
        metavar="PATTERN",
        help="in directories, read only files whose name matches (repeatable; e.g. '*.txt')",
    )
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="in directories, skip files whose name or relative path matches (repeatable); "
        "README/LICENSE-like files are skipped by default",
    )


def _matches(name: str, rel: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel, p) for p in patterns)


def select(
    paths: list[str] | list[Path],
    *,
    globs: list[str],
    excludes: list[str],
    skip_suffixes: tuple[str, ...] = (),
) -> Selection:
    """The files to read under ``paths`` (sorted per directory; hidden entries skipped)."""
    sel = Selection()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    if name.startswith("."):
                        continue
                    f = Path(root) / name
                    rel = str(f.relative_to(path))
                    if globs and not _matches(name, rel, globs):
                        sel.not_matching += 1
                    elif _matches(name, rel, excludes):
                        sel.excluded += 1
                    elif not globs and (
                        _matches(name, rel, list(DOC_PATTERNS))
                        or name.lower().endswith(skip_suffixes)
                    ):
                        sel.skipped_docs.append(f)
                    else:
                        sel.files.append(f)
        elif path.is_file():
            sel.files.append(path)
        elif path.exists():
            raise KpanicError(f"{path}: not a regular file")
        else:
            raise KpanicError(f"{path}: no such file or directory")
    return sel
