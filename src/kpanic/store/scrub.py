"""Remove personal data from kernel logs before they are stored (pure functions).

What goes: host names, MAC addresses, IPv4/IPv6 addresses, serial numbers (and UUIDs, which
identify disks), user names and e-mail addresses. What stays: everything the crash analysis
needs, in particular kernel addresses and hex words (``ffffffff81234567``, ``0x1c/0x80``,
register dumps, ``Code:`` bytes), symbols, Rust paths (``core::ptr::drop``), versions.

Host and user names are learned from the places a log names them (syslog/journal line prefix,
``hostname=``, ``/home/NAME``, ``user=NAME``, ``for user NAME``) and then replaced everywhere
they appear as a whole word, so a name repeated elsewhere in the log goes too.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

CATEGORIES = ("hostname", "mac", "ip", "serial", "user")

HOST = "<host>"
USER = "<user>"
MAC = "<mac>"
IPV4 = "<ipv4>"
IPV6 = "<ipv6>"
SERIAL = "<serial>"
EMAIL = "<email>"

# Names never treated as personal (system accounts, words that follow "user" in kernel text).
_NOT_PERSONAL = frozenset(
    {
        "root",
        "nobody",
        "daemon",
        "bin",
        "sys",
        "kernel",
        "localhost",
        "localhost.localdomain",
        "space",
        "mode",
        "memory",
        "data",
        "access",
        "pages",
        "copy",
        "the",
        "a",
        "an",
        "id",
        "ns",
        "namespace",
        "null",
        "none",
        "unknown",
        "host",
        "user",
        "dev",
        "proc",
        "run",
        "tmp",
        "usr",
        "var",
        "etc",
        "lib",
        "test",
        "systemd",
        "gdm",
        "sddm",
        "lightdm",
        "messagebus",
        "www-data",
        "postgres",
        "mysql",
    }
)


@dataclass(frozen=True, slots=True)
class ScrubOptions:
    """Which categories to scrub (all by default)."""

    categories: frozenset[str] = frozenset(CATEGORIES)
    keep_loopback: bool = True  # 127.0.0.1 / ::1 / 0.0.0.0 identify nobody

    @classmethod
    def only(cls, *names: str) -> ScrubOptions:
        unknown = set(names) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown scrub categories: {', '.join(sorted(unknown))}")
        return cls(categories=frozenset(names))


DEFAULT = ScrubOptions()


@dataclass(frozen=True, slots=True)
class ScrubResult:
    """The scrubbed text and how many replacements each category made."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.counts.values())


# --- MAC: six (or more, as in netfilter's MAC= field) colon-separated byte pairs.
_MAC_RE = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{2}:){5,}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:])")
_MAC_DASH_RE = re.compile(r"(?<![\w-])(?:[0-9A-Fa-f]{2}-){5}[0-9A-Fa-f]{2}(?![\w-])")

# --- IPv4 (with optional /prefix or :port left in place).
_IPV4_RE = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")

# --- IPv6 candidates: hex groups and colons, at least two colons, validated by ipaddress.
_IPV6_RE = re.compile(
    r"(?<![\w:.])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f]*:)"
    r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?(?![\w:])"
)

# --- Serial numbers and UUIDs.
_SERIAL_RE = re.compile(
    r"(?P<key>\b(?:SerialNumber|Serial\s+Number|serial(?:_number|no)?|SN|S/N|iSerial)"
    r"\s*[:=]\s*'?)(?P<value>[^\s,;'\"()\[\]]{3,64})",
    re.IGNORECASE,
)
_UUID_RE = re.compile(
    r"(?<![0-9A-Fa-f-])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    r"(?![0-9A-Fa-f-])"
)

# --- Host names: syslog/journal prefix "Nov 22 01:02:03 HOST kernel:" and explicit fields.
_SYSLOG_HOST_RE = re.compile(
    r"^(?:<\d+>)?(?:[A-Z][a-z]{2}\s+\d{1,2}\s+\d\d:\d\d:\d\d(?:\.\d+)?"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s+"
    r"(?P<value>[A-Za-z0-9][A-Za-z0-9._-]{0,252})\s+(?=[\w./-]+(?:\[\d+\])?:)",
    re.MULTILINE,
)
_HOST_FIELD_RE = re.compile(
    r"(?P<key>\b(?:host(?:name)?|nodename)\s*[=:]\s*['\"]?)"
    r"(?P<value>[A-Za-z0-9][A-Za-z0-9._-]{0,252})",
    re.IGNORECASE,
)
_HOST_CHANGE_RE = re.compile(
    r"(?P<key>(?:Changed|Set) (?:static |transient |pretty )?host ?name to ['\"])"
    r"(?P<value>[^'\"\s]{1,253})"
)

# --- User names: home directories, user=/USER=/uid=N(name), "for user NAME", e-mail.
_HOME_RE = re.compile(r"(?P<key>/(?:home|Users)/)(?P<value>[A-Za-z0-9._-]{1,64})")
_USER_FIELD_RE = re.compile(
    r"(?P<key>\b(?:user(?:name)?|USER|LOGNAME|auid|acct|login)\s*=\s*['\"]?)"
    r"(?P<value>[A-Za-z_][A-Za-z0-9._-]{0,63})"
)
_UID_NAME_RE = re.compile(r"(?P<key>\b[ug]id=\d+\()(?P<value>[A-Za-z_][A-Za-z0-9._-]{0,63})(?=\))")
_FOR_USER_RE = re.compile(r"(?P<key>\b(?:for|by) user\s+)(?P<value>[A-Za-z_][A-Za-z0-9._-]{0,63})")
# Every repetition is bounded and a match may only start where a run starts: scrubbing stays
# linear on hostile input (a megabyte of "1.1.1.1..." or "a.a.a.a...").
_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}"
    r"(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![\w.-])"
)


_HEXISH = re.compile(r"[0-9A-Fa-f]+|[0-9._-]+")

# --- Prefilters. A pattern whose match must contain some literal is only run when the text has
# it: patterns that begin with a look-behind or a class are tried at every position (about
# 0.25 ms per pattern on a 5 KB log), a search for a literal-led pattern or a substring skips
# through the text in C. Each hint is a necessary condition of its pattern (never changes a
# result, only skips scans that cannot match); a kernel log without addresses, names or serial
# numbers usually passes none of them.
_IPV4_HINT = re.compile(r"\.\d{1,3}\.\d{1,3}\.")  # a.B.C.d
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")  # two colons with only hex between
_MAC_HINT = re.compile(r":[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}:")
_MAC_DASH_HINT = re.compile(r"-[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}-")
_UUID_HINT = re.compile(r"-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-")
_HINTS: dict[re.Pattern[str], Callable[[str], bool]] = {
    _EMAIL_RE: lambda t: "@" in t,
    _IPV4_RE: lambda t: _IPV4_HINT.search(t) is not None,
    _MAC_RE: lambda t: _MAC_HINT.search(t) is not None,
    _MAC_DASH_RE: lambda t: _MAC_DASH_HINT.search(t) is not None,
    _UUID_RE: lambda t: _UUID_HINT.search(t) is not None,
    _IPV6_RE: lambda t: _IPV6_HINT.search(t) is not None,
    _SERIAL_RE: lambda t: any(w in t.casefold() for w in ("serial", "sn", "s/n")),
    _HOST_FIELD_RE: lambda t: any(w in t.casefold() for w in ("host", "nodename")),
    _HOST_CHANGE_RE: lambda t: "host" in t.casefold(),
    _HOME_RE: lambda t: "/home/" in t or "/Users/" in t,
    _USER_FIELD_RE: lambda t: (
        "=" in t and any(w in t for w in ("user", "USER", "LOGNAME", "auid", "acct", "login"))
    ),
    _UID_NAME_RE: lambda t: "id=" in t,
    _FOR_USER_RE: lambda t: " user" in t,
}


def _may_match(pattern: re.Pattern[str], text: str) -> bool:
    hint = _HINTS.get(pattern)
    return hint is None or hint(text)


def _is_personal(name: str) -> bool:
    """A learned name worth replacing everywhere: not a system word, not a number/hex word."""
    if len(name) < 2 or name.lower() in _NOT_PERSONAL or name.startswith("<"):
        return False
    return not _HEXISH.fullmatch(name)


def _learn(text: str, patterns: Iterable[re.Pattern[str]], group: str) -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if not _may_match(pattern, text):
            continue
        for m in pattern.finditer(text):
            name = m.group(group).rstrip(".")
            if name and _is_personal(name):
                names.add(name)
    return names


def _replace_words(text: str, names: set[str], token: str) -> tuple[str, int]:
    """Replace whole-word occurrences of learned names (longest first)."""
    if not names:
        return text, 0
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w-]|\.\w)")
    return pattern.subn(token, text)


def _sub(
    pattern: re.Pattern[str], repl: str | Callable[[re.Match[str]], str], text: str
) -> tuple[str, int]:
    if not _may_match(pattern, text):
        return text, 0
    return pattern.subn(repl, text)


def _keyed(token: str) -> Callable[[re.Match[str]], str]:
    return lambda m: m.group("key") + token


def _ipv6(options: ScrubOptions) -> Callable[[re.Match[str]], str]:
    def repl(m: re.Match[str]) -> str:
        candidate = m.group(0)
        if not any(c.isdigit() for c in candidate):
            return candidate  # "dead::beef" is more likely a Rust path than an address
        try:
            addr = ipaddress.IPv6Address(candidate.split("%", 1)[0])
        except ValueError:
            return candidate
        if options.keep_loopback and (addr.is_loopback or addr.is_unspecified):
            return candidate
        return IPV6

    return repl


def _ipv4(options: ScrubOptions) -> Callable[[re.Match[str]], str]:
    def repl(m: re.Match[str]) -> str:
        candidate = m.group(0)
        try:
            addr = ipaddress.IPv4Address(candidate)
        except ValueError:
            return candidate
        if options.keep_loopback and (addr.is_loopback or addr.is_unspecified):
            return candidate
        return IPV4

    return repl


def _uuid(m: re.Match[str]) -> str:
    """UUIDs identify disks and filesystems; the all-zero one identifies nothing."""
    return m.group(0) if not m.group(0).strip("0-") else SERIAL


def _count_sub(
    pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str], text: str
) -> tuple[str, int]:
    """Like subn, but counts only matches whose replacement differs from the match."""
    if not _may_match(pattern, text):
        return text, 0
    changed = 0

    def wrapped(m: re.Match[str]) -> str:
        nonlocal changed
        out = repl(m)
        if out != m.group(0):
            changed += 1
        return out

    return pattern.sub(wrapped, text), changed


def scrub_text(text: str, options: ScrubOptions = DEFAULT) -> ScrubResult:
    """Scrub ``text``; ``counts`` says how many replacements each category made."""
    cats = options.categories
    counts = dict.fromkeys(CATEGORIES, 0)
    hosts = _learn(text, (_SYSLOG_HOST_RE, _HOST_FIELD_RE, _HOST_CHANGE_RE), "value")
    users = _learn(text, (_HOME_RE, _USER_FIELD_RE, _UID_NAME_RE, _FOR_USER_RE), "value")
    if "user" in cats:
        text, n = _sub(_EMAIL_RE, EMAIL, text)
        counts["user"] += n
    if "mac" in cats:
        text, n = _sub(_MAC_RE, MAC, text)
        counts["mac"] += n
        text, n = _sub(_MAC_DASH_RE, MAC, text)
        counts["mac"] += n
    if "ip" in cats:
        text, n = _count_sub(_IPV6_RE, _ipv6(options), text)
        counts["ip"] += n
        text, n = _count_sub(_IPV4_RE, _ipv4(options), text)
        counts["ip"] += n
    if "serial" in cats:
        text, n = _sub(_SERIAL_RE, _keyed(SERIAL), text)
        counts["serial"] += n
        text, n = _count_sub(_UUID_RE, _uuid, text)
        counts["serial"] += n
    if "hostname" in cats:
        text, n = _replace_words(text, hosts - users, HOST)
        counts["hostname"] += n
    if "user" in cats:
        text, n = _replace_words(text, users, USER)
        counts["user"] += n
    return ScrubResult(text=text, counts={k: v for k, v in counts.items() if k in cats})


def learned_names(text: str) -> tuple[set[str], set[str]]:
    """(host names, user names) the scrubber would replace in ``text`` (for diagnostics)."""
    hosts = _learn(text, (_SYSLOG_HOST_RE, _HOST_FIELD_RE, _HOST_CHANGE_RE), "value")
    users = _learn(text, (_HOME_RE, _USER_FIELD_RE, _UID_NAME_RE, _FOR_USER_RE), "value")
    return hosts - users, users
