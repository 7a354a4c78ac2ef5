"""Rust symbol demangling (v0 ``_R...`` and legacy ``_ZN...17h<hash>E``) in pure Python.

Kernel oopses print Rust functions as the mangled names kallsyms stores, e.g.
``_RNvMs3_NtCshgDM7dBCdno_11rust_binder7processNtB5_7Process10update_ref``. Titles,
signatures and the "is this Rust" question all need the human form
``<rust_binder::process::Process>::update_ref``. The output matches rustc-demangle's
alternate form (``{:#}``: no crate hashes, no integer-constant type suffixes), which is what
syzkaller titles use.

The grammar is RFC 2603 (v0) plus the older Itanium-like legacy scheme. Anything that is not a
well-formed Rust symbol comes back unchanged, so C names pass straight through. Work is bounded:
inputs over ``MAX_SYMBOL`` characters are not touched, recursion depth and the number of
parser steps are capped (backreferences can otherwise expand exponentially), and the output is
cut off at ``MAX_OUTPUT`` characters (the symbol is then returned unchanged).
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["demangle", "is_rust_symbol", "MAX_SYMBOL", "MAX_OUTPUT"]

MAX_SYMBOL = 4096  # kallsyms names are at most 512 bytes; anything far longer is not a symbol
MAX_OUTPUT = 16384  # a demangled name longer than this is useless in a report
_MAX_DEPTH = 200  # nesting of paths/types/consts (rustc-demangle uses 500; kernel names are flat)
_MAX_STEPS = 200_000  # parser operations per symbol, including re-parses through backrefs

# Kernel tooling prefixes put in front of a real symbol name: CFI preambles (kCFI), function
# padding, arm64 position-independent aliases, EFI stub aliases.
_PREFIXES = ("__cfi_", "__pfx_", "__pi_", "__efistub_", "__kcfi_typeid_")
_LLVM_SUFFIX = re.compile(r"\.llvm\.[0-9A-F@]+$")
_SUFFIX_OK = re.compile(r"\.[\x21-\x7e]*")  # ".cold", ".isra.0", ".constprop.0", ...
_LEGACY_HASH = re.compile(r"h[0-9a-f]{16}")

_BASIC_TYPES = {
    "a": "i8",
    "b": "bool",
    "c": "char",
    "d": "f64",
    "e": "str",
    "f": "f32",
    "h": "u8",
    "i": "isize",
    "j": "usize",
    "l": "i32",
    "m": "u32",
    "n": "i128",
    "o": "u128",
    "s": "i16",
    "t": "u16",
    "u": "()",
    "v": "...",
    "x": "i64",
    "y": "u64",
    "z": "!",
    "p": "_",
}
_SIGNED_CONST = frozenset("aslxni")
_UNSIGNED_CONST = frozenset("htmyoj")

_LEGACY_ESCAPES = {
    "SP": "@",
    "BP": "*",
    "RF": "&",
    "LT": "<",
    "GT": ">",
    "LP": "(",
    "RP": ")",
    "C": ",",
}


class _Invalid(Exception):
    """The input is not a well-formed mangled Rust symbol (or blew a resource limit)."""


def _split_prefix(symbol: str) -> tuple[str, str]:
    for prefix in _PREFIXES:
        if symbol.startswith(prefix) and symbol[len(prefix) :].startswith(("_R", "_ZN")):
            return prefix, symbol[len(prefix) :]
    return "", symbol


def _try_demangle(symbol: str) -> str | None:
    """The demangled form of ``symbol`` (prefix and suffix kept), or None if it is not Rust."""
    if not isinstance(symbol, str) or len(symbol) > MAX_SYMBOL or "_" not in symbol[:20]:
        return None
    prefix, body = _split_prefix(symbol)
    if not body.startswith(("_R", "_ZN")):
        return None
    body = _LLVM_SUFFIX.sub("", body)
    try:
        if body.startswith("_R"):
            name, rest = _demangle_v0(body[2:])
        elif body.startswith("_ZN"):
            name, rest = _demangle_legacy(body[3:])
        else:
            return None
    except (_Invalid, RecursionError):
        return None
    if rest and not _SUFFIX_OK.fullmatch(rest):
        return None
    return prefix + name + rest


def demangle(symbol: str) -> str:
    """Demangle a Rust symbol; return anything else (C names, garbage) unchanged.

    Kernel prefixes (``__cfi_``, ``__pfx_``...) and compiler suffixes (``.cold``,
    ``.isra.0``) are kept around the demangled name; ThinLTO's ``.llvm.<n>`` is dropped, as
    rustc-demangle does, because it only says which translation unit was promoted.
    """
    out = _try_demangle(symbol)
    return symbol if out is None else out


def is_rust_symbol(symbol: str) -> bool:
    """True when ``symbol`` is a well-formed mangled Rust name (v0, or legacy with its hash)."""
    return _try_demangle(symbol) is not None


# --------------------------------------------------------------------------------------------
# legacy: _ZN <len><ident>... 17h<16 hex> E


def _demangle_legacy(inner: str) -> tuple[str, str]:
    if not inner.isascii():
        raise _Invalid
    elements: list[str] = []
    pos = 0
    n = len(inner)
    while True:
        if pos >= n:
            raise _Invalid
        if inner[pos] == "E":
            pos += 1
            break
        start = pos
        while pos < n and "0" <= inner[pos] <= "9":
            pos += 1
        if pos == start or pos - start > 6:
            raise _Invalid
        length = int(inner[start:pos])
        if n - pos <= length:  # the element and at least the closing "E" must follow
            raise _Invalid
        elements.append(inner[pos : pos + length])
        pos += length
    if len(elements) < 2 or not _LEGACY_HASH.fullmatch(elements[-1]):
        raise _Invalid  # without its hash it could be any Itanium (C++) name
    return "::".join(_legacy_element(e) for e in elements[:-1]), inner[pos:]


def _legacy_element(elem: str) -> str:
    if elem.startswith("_$"):
        elem = elem[1:]
    out: list[str] = []
    i = 0
    n = len(elem)
    while i < n:
        c = elem[i]
        if c == ".":
            if elem.startswith("..", i):
                out.append("::")
                i += 2
            else:
                out.append(".")
                i += 1
        elif c == "$":
            end = elem.find("$", i + 1)
            if end < 0:
                out.append(elem[i:])
                break
            code = elem[i + 1 : end]
            ch = _LEGACY_ESCAPES.get(code)
            if ch is None and len(code) > 1 and code[0] == "u":
                ch = _legacy_unicode(code[1:])
            if ch is None:
                out.append(elem[i:])  # unknown escape: print the rest raw, as rustc-demangle
                break
            out.append(ch)
            i = end + 1
        else:
            j = i
            while j < n and elem[j] not in "$.":
                j += 1
            out.append(elem[i:j])
            i = j
    return "".join(out)


def _legacy_unicode(hexdigits: str) -> str | None:
    if not hexdigits or len(hexdigits) > 6 or any(c not in "0123456789abcdef" for c in hexdigits):
        return None
    value = int(hexdigits, 16)
    if value > 0x10FFFF or 0xD800 <= value < 0xE000:
        return None
    if value < 0x20 or 0x7F <= value < 0xA0:
        return None  # control characters stay escaped
    return chr(value)


# --------------------------------------------------------------------------------------------
# v0 (RFC 2603)


def _demangle_v0(inner: str) -> tuple[str, str]:
    if not inner or not ("A" <= inner[0] <= "Z") or not inner.isascii():
        raise _Invalid
    printer = _V0Printer(inner)
    printer.print_path(in_value=True)
    # Optional instantiating crate: a path (always starting with an upper-case tag), not printed.
    if printer.pos < len(inner) and "A" <= inner[printer.pos] <= "Z":
        printer.skip(lambda: printer.print_path(in_value=False))
    return "".join(printer.out), inner[printer.pos :]


class _V0Printer:
    """Recursive-descent parser that prints while it parses, like rustc-demangle's Printer."""

    def __init__(self, sym: str) -> None:
        self.sym = sym
        self.pos = 0
        self.depth = 0
        self.steps = 0
        self.out: list[str] = []
        self.out_len = 0
        self.skipping = 0  # >0 while parsing something that is not printed (impl paths)
        self.bound_lifetimes = 0

    # ---- output -------------------------------------------------------------------------

    def emit(self, s: str) -> None:
        if self.skipping:
            return
        self.out_len += len(s)
        if self.out_len > MAX_OUTPUT:
            raise _Invalid
        self.out.append(s)

    def skip(self, fn: Callable[[], object]) -> None:
        self.skipping += 1
        try:
            fn()
        finally:
            self.skipping -= 1

    # ---- lexing -------------------------------------------------------------------------

    def tick(self) -> None:
        self.steps += 1
        if self.steps > _MAX_STEPS:
            raise _Invalid

    def peek(self) -> str:
        return self.sym[self.pos] if self.pos < len(self.sym) else ""

    def eat(self, c: str) -> bool:
        if self.pos < len(self.sym) and self.sym[self.pos] == c:
            self.pos += 1
            return True
        return False

    def next(self) -> str:
        if self.pos >= len(self.sym):
            raise _Invalid
        c = self.sym[self.pos]
        self.pos += 1
        return c

    def push_depth(self) -> None:
        self.tick()
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _Invalid

    def pop_depth(self) -> None:
        self.depth -= 1

    def integer_62(self) -> int:
        if self.eat("_"):
            return 0
        x = 0
        ndigits = 0
        while not self.eat("_"):
            c = self.next()
            if "0" <= c <= "9":
                d = ord(c) - 48
            elif "a" <= c <= "z":
                d = ord(c) - 97 + 10
            elif "A" <= c <= "Z":
                d = ord(c) - 65 + 36
            else:
                raise _Invalid
            x = x * 62 + d
            ndigits += 1
            if ndigits > 11:  # beyond 2**64: not something a compiler emits
                raise _Invalid
        return x + 1

    def opt_integer_62(self, tag: str) -> int:
        if not self.eat(tag):
            return 0
        return self.integer_62() + 1

    def disambiguator(self) -> int:
        return self.opt_integer_62("s")

    def hex_nibbles(self) -> str:
        start = self.pos
        while True:
            c = self.next()
            if c == "_":
                return self.sym[start : self.pos - 1]
            if c not in "0123456789abcdef":
                raise _Invalid

    def ident(self) -> str:
        punycode = self.eat("u")
        start = self.pos
        if self.peek() == "0":
            self.pos += 1  # a zero length is never followed by more digits
        else:
            while self.pos < len(self.sym) and "0" <= self.sym[self.pos] <= "9":
                self.pos += 1
        digits = self.sym[start : self.pos]
        if not digits or len(digits) > 5:
            raise _Invalid
        length = int(digits)
        self.eat("_")
        if len(self.sym) - self.pos < length:
            raise _Invalid
        text = self.sym[self.pos : self.pos + length]
        self.pos += length
        if not punycode:
            return text
        return _decode_punycode(text)

    def backref(self, fn: Callable[[], object]) -> None:
        """Parse ``B<base-62>`` (the B already eaten) and re-run ``fn`` at the target."""
        tag_pos = self.pos - 1
        target = self.integer_62()
        if target >= tag_pos:
            raise _Invalid  # only backwards references: guarantees termination with the caps
        if self.skipping:
            return
        saved = self.pos
        self.pos = target
        self.push_depth()
        try:
            fn()
        finally:
            self.pop_depth()
            self.pos = saved

    # ---- grammar ------------------------------------------------------------------------

    def print_path(self, in_value: bool) -> None:
        self.push_depth()
        tag = self.next()
        if tag == "C":
            self.disambiguator()  # crate hash: dropped in the alternate form
            self.emit(self.ident())
        elif tag == "N":
            ns = self.next()
            if not ns.isascii() or not ns.isalpha():
                raise _Invalid
            self.print_path(in_value)
            dis = self.disambiguator()
            name = self.ident()
            if ns.isupper():
                kind = {"C": "closure", "S": "shim"}.get(ns, ns)
                label = f"{kind}:{name}" if name else kind
                self.emit(f"::{{{label}#{dis}}}")
            elif name:
                self.emit("::" + name)
        elif tag in "MXY":
            if tag != "Y":
                self.disambiguator()
                self.skip(lambda: self.print_path(in_value=False))  # the impl's own path
            self.emit("<")
            self.print_type()
            if tag != "M":
                self.emit(" as ")
                self.print_path(in_value=False)
            self.emit(">")
        elif tag == "I":
            self.print_path(in_value)
            if in_value:
                self.emit("::")
            self.emit("<")
            self.print_sep_list(self.print_generic_arg, ", ")
            self.emit(">")
        elif tag == "B":
            self.backref(lambda: self.print_path(in_value))
        else:
            raise _Invalid
        self.pop_depth()

    def print_sep_list(self, fn: Callable[[], object], sep: str) -> int:
        count = 0
        while not self.eat("E"):
            if self.pos >= len(self.sym):
                raise _Invalid
            if count:
                self.emit(sep)
            fn()
            count += 1
        return count

    def print_generic_arg(self) -> None:
        if self.eat("L"):
            self.print_lifetime(self.integer_62())
        elif self.eat("K"):
            self.print_const(in_value=False)
        else:
            self.print_type()

    def print_lifetime(self, index: int) -> None:
        if self.skipping:
            return
        if index == 0:
            self.emit("'_")
            return
        if index > self.bound_lifetimes:
            raise _Invalid
        depth = self.bound_lifetimes - index
        self.emit("'" + chr(97 + depth) if depth < 26 else f"'_{depth}")

    def in_binder(self, fn: Callable[[], object]) -> None:
        count = self.opt_integer_62("G")
        if count > 1000:
            raise _Invalid
        if count and not self.skipping:
            names = []
            for _ in range(count):
                self.bound_lifetimes += 1
                depth = self.bound_lifetimes - 1
                names.append("'" + chr(97 + depth) if depth < 26 else f"'_{depth}")
            self.emit("for<" + ", ".join(names) + "> ")
        try:
            fn()
        finally:
            if not self.skipping:
                self.bound_lifetimes -= count

    def print_type(self) -> None:
        tag = self.next()
        basic = _BASIC_TYPES.get(tag)
        if basic is not None:
            self.emit(basic)
            return
        self.push_depth()
        if tag in "RQ":
            self.emit("&")
            if self.eat("L"):
                lt = self.integer_62()
                if lt:
                    self.print_lifetime(lt)
                    self.emit(" ")
            if tag == "Q":
                self.emit("mut ")
            self.print_type()
        elif tag in "PO":
            self.emit("*const " if tag == "P" else "*mut ")
            self.print_type()
        elif tag in "AS":
            self.emit("[")
            self.print_type()
            if tag == "A":
                self.emit("; ")
                self.print_const(in_value=True)
            self.emit("]")
        elif tag == "T":
            self.emit("(")
            if self.print_sep_list(self.print_type, ", ") == 1:
                self.emit(",")
            self.emit(")")
        elif tag == "F":
            self.in_binder(self.print_fn_sig)
        elif tag == "D":
            self.emit("dyn ")
            self.in_binder(lambda: self.print_sep_list(self.print_dyn_trait, " + "))
            if not self.eat("L"):
                raise _Invalid
            lt = self.integer_62()
            if lt:
                self.emit(" + ")
                self.print_lifetime(lt)
        elif tag == "B":
            self.backref(self.print_type)
        else:
            self.pos -= 1  # a path: let print_path see its tag
            self.print_path(in_value=False)
        self.pop_depth()

    def print_fn_sig(self) -> None:
        unsafe = self.eat("U")
        abi: str | None = None
        if self.eat("K"):
            if self.eat("C"):
                abi = "C"
            else:
                abi = self.ident()
                if not abi or not abi.isascii():
                    raise _Invalid
                abi = abi.replace("_", "-")
        if unsafe:
            self.emit("unsafe ")
        if abi is not None:
            self.emit(f'extern "{abi}" ')
        self.emit("fn(")
        self.print_sep_list(self.print_type, ", ")
        self.emit(")")
        if not self.eat("u"):
            self.emit(" -> ")
            self.print_type()

    def print_dyn_trait(self) -> None:
        is_open = self.print_path_maybe_open_generics()
        while self.eat("p"):
            self.emit(", " if is_open else "<")
            is_open = True
            self.emit(self.ident() + " = ")
            self.print_type()
        if is_open:
            self.emit(">")

    def print_path_maybe_open_generics(self) -> bool:
        """Print a trait path, leaving its ``<...`` open so associated bindings can follow."""
        if self.eat("B"):
            result = [False]

            def again() -> None:
                result[0] = self.print_path_maybe_open_generics()

            self.backref(again)
            return result[0]
        if self.eat("I"):
            self.print_path(in_value=False)
            self.emit("<")
            self.print_sep_list(self.print_generic_arg, ", ")
            return True
        self.print_path(in_value=False)
        return False

    def print_const(self, in_value: bool) -> None:
        tag = self.next()
        self.push_depth()
        braced = False

        def open_brace() -> None:
            nonlocal braced
            if not in_value:
                braced = True
                self.emit("{")

        if tag == "p":
            self.emit("_")
        elif tag in _SIGNED_CONST or tag in _UNSIGNED_CONST:
            if tag in _SIGNED_CONST and self.eat("n"):
                self.emit("-")
            digits = self.hex_nibbles().lstrip("0")
            if len(digits) > 16:
                self.emit("0x" + digits)
            else:
                self.emit(str(int(digits or "0", 16)))
        elif tag == "b":
            value = self.hex_nibbles().lstrip("0") or "0"
            if value not in ("0", "1"):
                raise _Invalid
            self.emit("true" if value == "1" else "false")
        elif tag == "c":
            digits = self.hex_nibbles().lstrip("0") or "0"
            if len(digits) > 6:
                raise _Invalid
            code = int(digits, 16)
            if code > 0x10FFFF or 0xD800 <= code < 0xE000:
                raise _Invalid
            self.emit("'" + _escape_char(chr(code), "'") + "'")
        elif tag == "e":
            open_brace()
            self.emit("*")
            self.emit(_str_literal(self.hex_nibbles()))
        elif tag in "RQ":
            if tag == "R" and self.eat("e"):
                self.emit(_str_literal(self.hex_nibbles()))
            else:
                open_brace()
                self.emit("&" if tag == "R" else "&mut ")
                self.print_const(in_value=True)
        elif tag == "A":
            open_brace()
            self.emit("[")
            self.print_sep_list(lambda: self.print_const(in_value=True), ", ")
            self.emit("]")
        elif tag == "T":
            open_brace()
            self.emit("(")
            if self.print_sep_list(lambda: self.print_const(in_value=True), ", ") == 1:
                self.emit(",")
            self.emit(")")
        elif tag == "V":
            open_brace()
            self.print_path(in_value=True)
            kind = self.next()
            if kind == "T":
                self.emit("(")
                self.print_sep_list(lambda: self.print_const(in_value=True), ", ")
                self.emit(")")
            elif kind == "S":
                self.emit(" { ")
                self.print_sep_list(self.print_const_field, ", ")
                self.emit(" }")
            elif kind != "U":
                raise _Invalid
        elif tag == "B":
            self.backref(lambda: self.print_const(in_value))
        else:
            raise _Invalid
        if braced:
            self.emit("}")
        self.pop_depth()

    def print_const_field(self) -> None:
        self.disambiguator()
        self.emit(self.ident() + ": ")
        self.print_const(in_value=True)


def _decode_punycode(text: str) -> str:
    """Rust's punycode identifiers use ``_`` where RFC 3492 uses ``-`` as the delimiter."""
    cut = text.rfind("_")
    ascii_part, code = (text[:cut], text[cut + 1 :]) if cut >= 0 else ("", text)
    if not code or len(text) > 1024:
        raise _Invalid
    try:
        encoded = (ascii_part + "-" + code) if ascii_part else code
        return encoded.encode("ascii").decode("punycode")
    except (UnicodeError, ValueError, OverflowError):
        return f"punycode{{{ascii_part + '-' if ascii_part else ''}{code}}}"


def _escape_char(ch: str, quote: str) -> str:
    specials = {"\0": "\\0", "\t": "\\t", "\r": "\\r", "\n": "\\n", "\\": "\\\\"}
    if ch in specials:
        return specials[ch]
    if ch == quote:
        return "\\" + ch
    if " " <= ch <= "~":
        return ch
    return f"\\u{{{ord(ch):x}}}"


def _str_literal(hexdigits: str) -> str:
    if len(hexdigits) % 2:
        raise _Invalid
    try:
        text = bytes.fromhex(hexdigits).decode("utf-8")
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        raise _Invalid from exc
    return '"' + "".join(_escape_char(c, '"') for c in text) + '"'
