"""`kpanic qr decode` and `kpanic qr encode`: the panic QR codec from the command line.

decode: each INPUT is an image path, a panic URL, a text file holding one, or ``-`` (stdin:
image bytes are recognised by their magic number, anything else is the payload text).
encode: a kmsg file through drm_panic.c's path (URL mode with ``--url``, raw otherwise), or
``--data-hex``/``--url-prefix`` handed to the encoder exactly as the kernel's entry point gets
them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from kpanic.cli.inputs import describe_os_error, read_bytes, write_output
from kpanic.cli.inputs import is_image as _is_image
from kpanic.errors import InputTooLarge, KpanicError, PayloadError

if TYPE_CHECKING:
    from kpanic.qr.encode import QrCode

MAX_INPUT_BYTES: Final = 64 * 1024 * 1024  # images and logs read from files or stdin
FORMATS: Final = ("terminal", "png", "svg", "screen", "url", "matrix")
# kpanic.qr.encode.ENCODINGS, spelled out so that building the parser imports no codec
# (tests/cli checks they agree).
ENCODINGS: Final = ("fido2", "legacy")
_BINARY_FORMATS: Final = ("png", "screen")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kpanic qr decode|encode``."""
    qr = sub.add_parser("qr", help="drm_panic QR codes: decode photos/URLs, encode like the kernel")
    qsub = qr.add_subparsers(dest="qr_command", metavar="ACTION")
    qr.set_defaults(handler=lambda _args: _usage(qr))

    dec = qsub.add_parser("decode", help="decode panic QR photos or URLs back to the kernel log")
    dec.add_argument("inputs", nargs="+", metavar="INPUT", help="image path, panic URL, or -")
    dec.add_argument("--json", action="store_true", help="one JSON object per input per line")
    dec.set_defaults(handler=_decode_handler)

    enc = qsub.add_parser("encode", help="encode a kernel log as drm_panic would")
    enc.add_argument("file", nargs="?", metavar="FILE", help="kmsg text file, or - for stdin")
    enc.add_argument("--url", metavar="BASE", help="CONFIG_DRM_PANIC_SCREEN_QR_CODE_URL")
    enc.add_argument(
        "--encoding",
        choices=ENCODINGS,
        default="fido2",
        help="numeric packing: fido2 (Linux 6.15+, z=) or legacy (6.12-6.14, zl=); default fido2",
    )
    enc.add_argument("--max-version", type=int, default=40, metavar="N", help="1..40 (default 40)")
    enc.add_argument("--arch", help="utsname machine for a= (default: this machine)")
    enc.add_argument("--kernel", help="kernel release for v= (default: from the log)")
    enc.add_argument("--distro", help="distribution for d=")
    enc.add_argument(
        "--format",
        choices=FORMATS,
        default="terminal",
        help="terminal (half blocks), png, svg, screen (the whole panic screen as PNG), url "
        "(the code's text), matrix (0/1 rows); default terminal",
    )
    enc.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
    enc.add_argument("--data-hex", metavar="HEX", help="encode these bytes as-is")
    enc.add_argument("--url-prefix", metavar="PREFIX", help="with --data-hex: the URL as-is")
    enc.add_argument(
        "--legacy-fixed",
        action="store_true",
        help="legacy packing with correct tail digits (the kernel's v6.12 tail is defective)",
    )
    enc.add_argument("--scale", type=int, default=8, help="pixels per module (png, svg)")
    enc.add_argument("--screen-size", default="1920x1080", metavar="WxH", help="for screen")
    enc.set_defaults(handler=_encode_handler)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


# --------------------------------------------------------------------------- decode


def _read_capped(stream: BinaryIO, what: str) -> bytes:
    raw = stream.read(MAX_INPUT_BYTES + 1)
    if len(raw) > MAX_INPUT_BYTES:
        raise InputTooLarge(f"{what} is over the {MAX_INPUT_BYTES}-byte limit")
    return raw


def _photo_payload(source: str | os.PathLike[str] | bytes) -> str:
    from kpanic.qr.image import decode_photo  # lazy: pulls in OpenCV

    try:
        return decode_photo(source).payload
    except (KpanicError, OSError):
        raise
    except Exception as exc:  # one unreadable picture must not abort a batch of inputs
        raise KpanicError(f"the image decoder failed: {type(exc).__name__}: {exc}") from exc


def _text_payload(raw: bytes, what: str) -> str:
    from kpanic.qr.url import MAX_PAYLOAD_CHARS, is_panic_url

    if len(raw) > 4 * MAX_PAYLOAD_CHARS:
        raise InputTooLarge(f"{what} is too long to be a QR payload")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(
            f"{what} is neither an image nor UTF-8 text", position=exc.start
        ) from None
    return text.strip() if is_panic_url(text) else text


def _payload_of(item: str, stdin: BinaryIO) -> str:
    from kpanic.cli.inputs import exists
    from kpanic.qr.url import MAX_PAYLOAD_CHARS, is_panic_url

    if item == "-":
        raw = _read_capped(stdin, "standard input")
        if not raw.strip():
            raise KpanicError("standard input: is empty")
        return _photo_payload(raw) if _is_image(raw[:16]) else _text_payload(raw, "stdin")
    if is_panic_url(item) and not exists(item):
        return item
    path = Path(item)
    if path.is_dir():
        raise KpanicError("is a directory")
    if not path.is_file():
        if not exists(item):
            raise KpanicError("no such file, and not a panic URL")
        raise KpanicError("not a regular file")
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
            if not head:
                raise KpanicError("is empty")
            if _is_image(head):
                return _photo_payload(path)
            if path.stat().st_size > 4 * MAX_PAYLOAD_CHARS:
                raise InputTooLarge("not an image, and too long to be a QR payload")
            return _text_payload(head + fh.read(), "the file")
    except OSError as exc:
        raise KpanicError(describe_os_error(exc)) from None


def decode_input(item: str, stdin: BinaryIO) -> dict[str, Any]:
    """The JSON record for one INPUT of ``kpanic qr decode``."""
    record: dict[str, Any] = {"input": item, "ok": False}
    for key in ("payload", "url", "arch", "kernel", "distro", "kmsg", "error"):
        record[key] = None
    record.update(encoding=None, tail_repaired=None)
    from kpanic.qr.url import decode_payload

    try:
        payload = _payload_of(item, stdin)
        record["payload"] = payload
        result = decode_payload(payload)
    except (KpanicError, OSError) as exc:
        record["error"] = str(exc)
        foreign = getattr(exc, "foreign", None)
        if foreign:  # other QR codes read: shown, never as the log
            record["foreign"] = foreign
        return record
    record.update(
        ok=True,
        url=result.url,
        arch=result.arch,
        kernel=result.kernel,
        distro=result.distro,
        kmsg=result.kmsg,
        encoding=result.encoding,
        tail_repaired=result.tail_repaired,
    )
    return record


def _decode_handler(args: argparse.Namespace) -> int:
    from kpanic.cli.progress import Progress

    failed = False
    several = len(args.inputs) > 1
    with Progress(len(args.inputs), "decoding") as progress:
        for n, item in enumerate(args.inputs, 1):
            record = decode_input(item, sys.stdin.buffer)
            progress.advance()
            failed |= not record["ok"]
            if args.json:
                print(json.dumps(record, ensure_ascii=False), flush=True)
                continue
            meta = _metadata(record) if record["ok"] else ""
            if several:
                head = f"==> {_label(item)} <==" + (f" ({meta})" if meta else "")
                sys.stdout.write(("\n" if n > 1 else "") + head + "\n")
            elif meta:
                print(f"kpanic: {meta}", file=sys.stderr)
            if record["ok"]:
                kmsg = record["kmsg"]
                sys.stdout.write(kmsg if kmsg.endswith("\n") else kmsg + "\n")
                sys.stdout.flush()
            else:
                if several:
                    sys.stdout.write(f"(not decoded: {record['error']})\n")
                    sys.stdout.flush()
                print(f"kpanic: {_label(item)}: {record['error']}", file=sys.stderr)
    return 1 if failed else 0


def _label(item: str) -> str:
    """An input as a person reads it: stdin by name, long URLs shortened."""
    if item == "-":
        return "standard input"
    if len(item) <= 80 or not item.startswith(("http://", "https://")):
        return item
    return item[:60] + "..." + item[-12:]


def _metadata(record: dict[str, Any]) -> str:
    """ "kernel 6.15.0, arch x86_64, distribution debian" from the URL's parameters."""
    parts = [
        f"{label} {record[key]}"
        for key, label in (("kernel", "kernel"), ("arch", "arch"), ("distro", "distribution"))
        if record.get(key)
    ]
    return ", ".join(parts)


# --------------------------------------------------------------------------- encode

_RELEASE_RES: Final = (
    re.compile(rb"Linux version (\S+)"),
    re.compile(rb"(?:Not tainted|Tainted: [A-Z ]+) (\S+) #"),
)


def release_from_log(log: bytes) -> str | None:
    """The kernel release a log names ("Linux version X" or an oops "Tainted ... X #" line)."""
    for rx in _RELEASE_RES:
        found = rx.findall(log)
        if found:
            return found[-1].decode("utf-8", "replace")
    return None


_PANIC_RE: Final = re.compile(rb"Kernel panic - not syncing: [^\n]{0,120}")


def panic_description(log: bytes) -> str:
    """The line drm_panic shows under the code: the last "Kernel panic - not syncing" line."""
    found = _PANIC_RE.findall(log)
    if found:
        return found[-1].decode("utf-8", "replace").strip()
    return "Kernel panic"


def _encode_code(args: argparse.Namespace) -> QrCode:
    from kpanic.qr import kmsg as kmsg_mod
    from kpanic.qr.encode import encode

    if not 1 <= args.max_version <= 40:
        raise KpanicError(f"--max-version must be 1..40, got {args.max_version}")
    if args.data_hex is not None:
        if args.file is not None or args.url is not None:
            raise KpanicError("--data-hex takes the bytes as-is: give no FILE and no --url")
        try:
            data = bytes.fromhex(args.data_hex)
        except ValueError as exc:
            raise KpanicError(f"--data-hex: {exc}") from None
        return encode(
            data,
            args.url_prefix,
            encoding=args.encoding,
            legacy_fixed=args.legacy_fixed,
            max_version=args.max_version,
        )
    if args.url_prefix is not None:
        raise KpanicError("--url-prefix goes with --data-hex; for a log use --url BASE")
    if args.file is None:
        raise KpanicError("give a kmsg FILE (or - for stdin), or --data-hex")
    if args.output:  # before the work: an unwritable -o is one clear line, not a lost result
        from kpanic.cli.inputs import check_output

        check_output(args.output)
    log = read_bytes(args.file, MAX_INPUT_BYTES)  # a missing file, a directory, empty: errors
    args.description = panic_description(log)
    if args.url is None:
        return kmsg_mod.raw_mode(log, qr_version=args.max_version).code
    prefix = kmsg_mod.build_url(
        args.url,
        arch=args.arch or platform.machine() or "unknown",
        kernel=args.kernel or release_from_log(log) or platform.release() or "unknown",
        encoding=args.encoding,
        distro=args.distro,
    )
    result = kmsg_mod.url_mode(
        log,
        prefix,
        encoding=args.encoding,
        qr_version=args.max_version,
        legacy_fixed=args.legacy_fixed,
    )
    return result.code


def _screen_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{2,5})x(\d{2,5})", text)
    if not m:
        raise KpanicError(f"--screen-size must look like 1920x1080, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _render(code: QrCode, args: argparse.Namespace) -> str | bytes:
    from kpanic.qr import render

    fmt = args.format
    if fmt == "terminal":
        return render.render_terminal(code)
    if fmt == "png":
        return render.render_png(code, scale=args.scale)
    if fmt == "svg":
        return render.render_svg(code, scale=args.scale)
    if fmt == "screen":
        width, height = _screen_size(args.screen_size)
        description = getattr(args, "description", None) or "Kernel panic"
        return render.render_screen_png(code, width=width, height=height, description=description)
    if fmt == "matrix":
        return render.matrix_text(code)
    if code.text is None:
        print(
            "kpanic: warning: this symbol has an out-of-range numeric group (v6.12 tail "
            "defect); printing the lenient reading",
            file=sys.stderr,
        )
        return code.text_lenient + "\n"
    return code.text + "\n"


def _encode_handler(args: argparse.Namespace) -> int:
    code = _encode_code(args)
    out = _render(code, args)
    if args.output:
        write_output(args.output, out)
        return 0
    if isinstance(out, bytes):
        if sys.stdout.isatty():
            raise KpanicError(f"refusing to write {args.format} image data to a terminal; use -o")
        sys.stdout.buffer.write(out)
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(out)
    return 0


__all__ = ["decode_input", "panic_description", "register", "release_from_log"]
