"""Turn ``func+0x1c/0x80`` frames into ``file:line`` with inline frames, given the debug info.

This is what the kernel's scripts/decode_stacktrace.sh does, done on the structured report:
look the symbol up in the ELF symbol table of vmlinux (or of the module's ``.ko``), add the
printed offset, and ask ``addr2line -f -i`` for the source line and the chain of inlined
functions at that address. Each inlined function becomes its own ``[inline]`` frame before the
real one, exactly as syzkaller's symbolized reports show them.

Printed offsets are return addresses for every frame but the faulting one, so the address
looked up is ``symbol + offset - 1`` (the call instruction), as syzkaller does; for the
faulting frame this lands inside the previous instruction, which maps to the same line in
practice. When a name has several symbols (static functions), the one whose size matches the
printed ``/0x80`` wins.

Limits: object files over ``max_object_bytes`` are refused (InputTooLarge); each addr2line run
has a timeout; module directories are searched to a bounded number of entries.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from kpanic.errors import InputTooLarge, KpanicError
from kpanic.report.demangle import demangle
from kpanic.report.guilty import guilty_file
from kpanic.report.language import frame_language
from kpanic.report.model import CrashReport, Frame

__all__ = ["symbolize", "Symbolizer", "MAX_OBJECT_BYTES", "ADDR2LINE_TIMEOUT"]

MAX_OBJECT_BYTES = 4 << 30  # a debug vmlinux is typically 0.3-1.5 GB
ADDR2LINE_TIMEOUT = 120.0  # seconds per addr2line run (one run per object file)
MAX_MODULE_ENTRIES = 200_000  # directory entries walked when looking for a module's .ko
_CHUNK = 256  # addresses per addr2line command line


@dataclass(frozen=True, slots=True)
class _Symbol:
    value: int
    size: int
    section: str | None  # only for relocatable objects (.ko): addresses are section-relative


@dataclass(frozen=True, slots=True)
class _Location:
    function: str
    file: str | None
    line: int | None


class _Object:
    """One ELF file (vmlinux or a module) and its code symbols, read once on first use."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise KpanicError(f"cannot read {path}: {exc.strerror}") from exc
        if size > max_bytes:
            raise InputTooLarge(f"{path} is {size} bytes, over the {max_bytes}-byte limit")
        self.path = path
        self.relocatable = False
        self._symbols: dict[str, list[_Symbol]] | None = None

    def symbols(self) -> dict[str, list[_Symbol]]:
        if self._symbols is None:
            self._symbols = self._read_symbols()
        return self._symbols

    def _read_symbols(self) -> dict[str, list[_Symbol]]:
        found: dict[str, list[_Symbol]] = defaultdict(list)
        try:
            with self.path.open("rb") as fh:
                elf = ELFFile(fh)
                self.relocatable = elf["e_type"] == "ET_REL"
                names = [s.name for s in elf.iter_sections()]
                for section in elf.iter_sections():
                    if not isinstance(section, SymbolTableSection):
                        continue
                    for sym in section.iter_symbols():
                        if not sym.name or sym["st_info"]["type"] not in ("STT_FUNC", "STT_NOTYPE"):
                            continue
                        shndx = sym["st_shndx"]
                        if not isinstance(shndx, int):  # SHN_UNDEF, SHN_ABS...
                            continue
                        sec = names[shndx] if self.relocatable and shndx < len(names) else None
                        found[sym.name].append(_Symbol(sym["st_value"], sym["st_size"], sec))
        except (ELFError, OSError, ValueError, KeyError) as exc:
            raise KpanicError(f"{self.path} is not a readable ELF file: {exc}") from exc
        return dict(found)

    def lookup(self, name: str, size: int | None) -> _Symbol | None:
        candidates = self.symbols().get(name, [])
        if not candidates:
            return None
        if size is not None:
            for sym in candidates:
                if sym.size == size:
                    return sym
        return candidates[0]


class Symbolizer:
    """Symbolizes frames against one vmlinux and an optional modules directory.

    Keep one instance to symbolize several reports from the same build: symbol tables and
    addr2line answers are cached.
    """

    def __init__(
        self,
        vmlinux: Path,
        modules: Path | None = None,
        *,
        source_root: str | None = None,
        addr2line: str | None = None,
        max_object_bytes: int = MAX_OBJECT_BYTES,
        timeout: float = ADDR2LINE_TIMEOUT,
    ) -> None:
        self.vmlinux = Path(vmlinux)
        self.modules = Path(modules) if modules is not None else None
        self.max_object_bytes = max_object_bytes
        self.timeout = timeout
        self.addr2line = addr2line or shutil.which("addr2line") or shutil.which("llvm-addr2line")
        if not self.addr2line:
            raise KpanicError("symbolizing needs addr2line (binutils or llvm) on the PATH")
        self._objects: dict[str | None, _Object | None] = {}
        self._cache: dict[tuple[Path, str | None, int], list[_Location]] = {}
        self._module_index: dict[str, Path] | None = None
        self._source_root = source_root
        self._root_detected = source_root is not None

    # ---- object files ---------------------------------------------------------------------

    def _object(self, module: str | None) -> _Object | None:
        if module not in self._objects:
            path = self.vmlinux if module is None else self._find_module(module)
            self._objects[module] = None if path is None else _Object(path, self.max_object_bytes)
        return self._objects[module]

    def _find_module(self, module: str) -> Path | None:
        if self.modules is None:
            return None
        if self.modules.is_file():
            return self.modules if _module_key(self.modules.name) == _norm(module) else None
        if self._module_index is None:
            self._module_index = {}
            for i, path in enumerate(_walk(self.modules)):
                if i >= MAX_MODULE_ENTRIES:
                    break
                key = _module_key(path.name)
                if key is not None and key not in self._module_index:
                    self._module_index[key] = path
        return self._module_index.get(_norm(module))

    # ---- addr2line ------------------------------------------------------------------------

    def _run_addr2line(self, obj: _Object, section: str | None, pcs: list[int]) -> None:
        todo = [pc for pc in pcs if (obj.path, section, pc) not in self._cache]
        for start in range(0, len(todo), _CHUNK):
            chunk = todo[start : start + _CHUNK]
            cmd = [str(self.addr2line), "-f", "-i", "-a", "-e", str(obj.path)]
            if section is not None:
                cmd += ["-j", section]
            cmd += [f"0x{pc:x}" for pc in chunk]
            try:
                proc = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=self.timeout, errors="replace"
                )
            except subprocess.TimeoutExpired as exc:
                raise KpanicError(
                    f"addr2line took over {self.timeout:g} s on {obj.path}; giving up"
                ) from exc
            except OSError as exc:
                raise KpanicError(f"cannot run {self.addr2line}: {exc.strerror}") from exc
            for pc, locs in _parse_addr2line(proc.stdout, chunk).items():
                self._cache[(obj.path, section, pc)] = [self._clean(loc) for loc in locs]

    def _clean(self, loc: _Location) -> _Location:
        if loc.file and self._source_root and loc.file.startswith(self._source_root):
            return dataclasses.replace(loc, file=loc.file[len(self._source_root) :])
        return loc

    def _detect_root(self) -> None:
        """Find the build's source directory the way decode_stacktrace.sh's "auto" mode does."""
        if self._root_detected:
            return
        self._root_detected = True
        obj = self._object(None)
        if obj is None:
            return
        sym = obj.lookup("kernel_init", None)
        if sym is None:
            return
        self._run_addr2line(obj, None, [sym.value])
        locs = self._cache.get((obj.path, None, sym.value)) or []
        if locs and locs[-1].file and locs[-1].file.endswith("/init/main.c"):
            self._source_root = locs[-1].file[: -len("init/main.c")]
            for key, value in list(self._cache.items()):
                self._cache[key] = [self._clean(loc) for loc in value]

    # ---- frames ---------------------------------------------------------------------------

    def symbolize_frames(self, frames: list[Frame]) -> list[Frame]:
        """Return a new frame list with file/line filled and ``[inline]`` frames inserted."""
        plan: list[tuple[Frame, _Object | None, _Symbol | None, int]] = []
        self._detect_root()
        requests: dict[tuple[int, str | None], list[int]] = defaultdict(list)
        for f in frames:
            obj = self._object(f.module) if _symbolizable(f) else None
            sym = obj.lookup(f.raw_function or f.function, f.size) if obj is not None else None
            pc = 0
            if obj is not None and sym is not None:
                offset = f.offset or 0
                pc = sym.value + offset - 1 if offset > 0 else sym.value
                requests[(id(obj), sym.section)].append(pc)
            plan.append((f, obj, sym, pc))
        objects = {id(o): o for o in self._objects.values() if o is not None}
        for (oid, section), pcs in requests.items():
            self._run_addr2line(objects[oid], section, sorted(set(pcs)))
        out: list[Frame] = []
        for f, obj, sym, pc in plan:
            if obj is None or sym is None:
                out.append(f)
                continue
            out.extend(_expand(f, self._cache.get((obj.path, sym.section, pc)) or []))
        return out

    def symbolize(self, report: CrashReport) -> CrashReport:
        frames = self.symbolize_frames(report.frames)
        new = dataclasses.replace(report, frames=frames)
        new.guilty_file = _guilty(new)
        for f in frames:
            if report.guilty_frame and report.guilty_frame in (f.function, f.raw_function):
                new.language = f.language
                break
        return new


def symbolize(
    report: CrashReport,
    vmlinux: Path,
    modules: Path | None = None,
    *,
    source_root: str | None = None,
) -> CrashReport:
    """Return a copy of ``report`` whose frames carry file, line and inline frames.

    ``modules`` is a directory searched (recursively) for ``<module>.ko`` files, or a single
    ``.ko``. Frames that cannot be resolved (no symbol, no module file, no debug info) are kept
    as they were. ``source_root`` is stripped from file names; by default it is found from
    ``kernel_init``'s location (``<root>/init/main.c``).
    """
    return Symbolizer(vmlinux, modules, source_root=source_root).symbolize(report)


# ---- helpers --------------------------------------------------------------------------------


def _symbolizable(f: Frame) -> bool:
    return not f.inline and f.file is None and bool(f.raw_function or f.function)


def _expand(f: Frame, locs: list[_Location]) -> list[Frame]:
    """addr2line -i lists the innermost inlined function first and the real function last."""
    if not locs or all(loc.file is None for loc in locs):
        return [f]
    frames: list[Frame] = []
    for loc in locs[:-1]:
        name = demangle(loc.function)
        frames.append(
            Frame(
                function=name,
                raw_function=loc.function,
                module=f.module,
                file=loc.file,
                line=loc.line,
                inline=True,
                unreliable=f.unreliable,
                address=f.address,
                language=frame_language(name, loc.function, loc.file),
            )
        )
    last = locs[-1]
    real = dataclasses.replace(f, file=last.file, line=last.line)
    real.language = frame_language(real.function, real.raw_function, real.file)
    frames.append(real)
    return frames


def _parse_addr2line(stdout: str, pcs: list[int]) -> dict[int, list[_Location]]:
    """Split ``addr2line -f -i -a`` output into (function, file:line) pairs per address."""
    result: dict[int, list[_Location]] = {}
    lines = stdout.splitlines()
    i = 0
    current: list[_Location] | None = None
    remaining = iter(pcs)
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("0x") and _is_hex(line[2:]):
            pc = next(remaining, None)
            if pc is None:
                break
            current = result.setdefault(pc, [])
            i += 1
            continue
        if current is None or i + 1 >= len(lines):
            break
        function = line
        file, lineno = _split_file_line(lines[i + 1].strip())
        current.append(_Location("" if function == "??" else function, file, lineno))
        i += 2
    return result


def _is_hex(s: str) -> bool:
    return bool(s) and all(c in "0123456789abcdefABCDEF" for c in s)


def _split_file_line(text: str) -> tuple[str | None, int | None]:
    text = text.split(" (discriminator", 1)[0]
    file, sep, line = text.rpartition(":")
    if not sep or not file or file == "??":
        return None, None
    return file, int(line) if line.isdigit() and int(line) > 0 else None


def _norm(module: str) -> str:
    return module.replace("-", "_")


def _module_key(filename: str) -> str | None:
    for ext in (".ko.debug", ".ko"):
        if filename.endswith(ext):
            return _norm(filename[: -len(ext)])
    return None


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


def _render(f: Frame) -> str:
    """One frame as a symbolized report prints it (syzkaller's format)."""
    name = f.raw_function or f.function
    if f.inline:
        return f" {name} {f.file}:{f.line} [inline]"
    where = f" {f.file}:{f.line}" if f.file and f.line else ""
    sizes = f"+0x{f.offset:x}/0x{f.size:x}" if f.offset is not None and f.size else ""
    module = f" [{f.module}]" if f.module else ""
    return f" {name}{sizes}{module}{where}"


def _guilty(report: CrashReport) -> str | None:
    """The guilty file by the parser's own rule, over the report text plus the new frames."""
    if not any(f.file for f in report.frames):
        return report.guilty_file
    text = report.text + "\n" + "\n".join(_render(f) for f in report.frames) + "\n"
    return guilty_file(report.title, text)
