"""Reading the commands' inputs and writing their outputs with one clear error each.

Every error names the file once and says what is wrong ("no such file", "is a directory",
"is empty", "permission denied"); commands never show a traceback for a bad path. Light on
imports: the command-line parser is built from modules that import this one.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import BinaryIO, Final

from kpanic.errors import InputTooLarge, KpanicError

IMAGE_MAGIC: Final = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",  # TIFF
    b"MM\x00*",
    b"\x00\x00\x01\x00",  # ICO
)
PANIC_URL_SCHEMES: Final = ("http://", "https://")


def is_image(head: bytes) -> bool:
    """Whether these first bytes start an image file (PNG, JPEG, GIF, BMP, TIFF, WebP, HEIF)."""
    if any(head.startswith(m) for m in IMAGE_MAGIC):
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    if head[4:8] == b"ftyp":  # HEIF/HEIC/AVIF
        return True
    from kpanic.qr.sniff import image_format  # the rest: whatever Pillow can open

    return image_format(head) is not None


def exists(name: str) -> bool:
    """Whether a path exists; False for names the system refuses (too long, NUL bytes)."""
    try:
        return Path(name).exists()
    except (OSError, ValueError):
        return False


def looks_like_url(text: str) -> bool:
    """A command-line argument that is a URL rather than a path."""
    return text.startswith(PANIC_URL_SCHEMES) and not exists(text)


def describe_os_error(exc: OSError) -> str:
    """The short reason of an OS error, in words ("no such file", "is a directory")."""
    words = {
        errno.ENOENT: "no such file",
        errno.EISDIR: "is a directory",
        errno.ENOTDIR: "a part of the path is not a directory",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "read-only file system",
        errno.ENOSPC: "no space left on the device",
    }
    if exc.errno in words:
        return words[exc.errno]
    return (exc.strerror or str(exc)).lower()


def path_error(name: str | os.PathLike[str], exc: OSError) -> KpanicError:
    return KpanicError(f"{os.fspath(name)}: {describe_os_error(exc)}")


def read_bytes(name: str, limit: int, *, stdin: BinaryIO | None = None) -> bytes:
    """A file's bytes (``-``: standard input): at most ``limit``; a missing file, a directory
    or an empty input is an error naming it."""
    label = "standard input" if name == "-" else name
    try:
        if name == "-":
            data = (stdin or sys.stdin.buffer).read(limit + 1)
        else:
            path = Path(name)
            if path.is_dir():
                raise KpanicError(f"{name}: is a directory")
            with path.open("rb") as fh:
                data = fh.read(limit + 1)
    except OSError as exc:
        raise path_error(label, exc) from None
    if len(data) > limit:
        raise InputTooLarge(f"{label}: larger than the {limit}-byte limit")
    if not data.strip():
        raise KpanicError(f"{label}: is empty")
    return data


def check_output(path: str | os.PathLike[str], *, create_dirs: bool = False) -> Path:
    """An output path that can be written: its directory exists (never created silently unless
    ``create_dirs``), it is not a directory, and it is writable."""
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise KpanicError(f"{target}: is a directory")
    if not parent.is_dir():
        if create_dirs:
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise path_error(parent, exc) from None
        else:
            raise KpanicError(f"{target}: directory {parent} does not exist")
    if target.exists():
        if not os.access(target, os.W_OK):
            raise KpanicError(f"{target}: permission denied")
    elif not os.access(parent, os.W_OK | os.X_OK):
        raise KpanicError(f"{target}: permission denied (cannot write in {parent})")
    return target


def write_output(path: str | os.PathLike[str], data: bytes | str) -> None:
    target = check_output(path)
    try:
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            target.write_text(data, encoding="utf-8")
    except OSError as exc:
        raise KpanicError(f"{target}: cannot write: {describe_os_error(exc)}") from None
