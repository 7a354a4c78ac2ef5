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
# Twelve hex digits are a MAC only where a MAC is named (a bare 12-digit hex word may be an
# address or a register value, which must stay).
_MAC_BARE_RE = re.compile(
    r"(?P<key>\b(?:MAC|mac|HWaddr|hwaddr|ether|lladdr|bssid|BSSID|bdaddr|BD_ADDR|perm_addr"
    r"|mac_addr|macaddr)\s*[:=]?\s*)(?P<value>[0-9A-Fa-f]{12})(?![\w:-])"
)

# --- IPv4 (with optional /prefix or :port left in place).
_IPV4_RE = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")

# --- IPv6 candidates: hex groups and colons, at least two colons, validated by ipaddress.
_IPV6_RE = re.compile(
    r"(?<![\w:.])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f]*:)"
    r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?(?![\w:])"
)

# --- Serial numbers and UUIDs.
_SERIAL_RE = re.compile(
    r"(?P<key>(?:\b|(?<=_))(?:SerialNumber|Serial\s+Number|serial(?:_number|no)?|SN|S/N|iSerial"
    r"|ID_SERIAL(?:_SHORT)?)"
    r"\s*[:=]\s*'?)(?P<value>[^\s,;'\"()\[\]/]{3,64})(?=[\s,;'\"()\[\]]|$)",
    re.IGNORECASE | re.MULTILINE,
)
# Disk names under /dev/disk/by-id: bus-MODEL_PARTS_SERIAL[-partN]; the last part is the serial.
_BY_ID_RE = re.compile(
    r"(?P<key>\b(?:ata|nvme|usb|scsi-SATA)-(?:[A-Za-z0-9.-]{1,40}_){1,8})"
    r"(?P<value>[A-Za-z0-9][A-Za-z0-9-]{3,40}?)(?=-part\d|[\s,;:)\]'\"]|$)",
    re.MULTILINE,
)
# "serial X" / "serial number X" without a colon: the value must look like a serial number (a
# digit, 6+ characters) so that "serial console" or "serial 8250" stay.
_SERIAL_BARE_RE = re.compile(
    r"(?P<key>\b(?:serial(?:\s+number|\s+no\.?)?|S/N)\s+)"
    r"(?P<value>(?=[A-Za-z0-9_-]{0,63}\d)[A-Za-z0-9][A-Za-z0-9_-]{5,63})(?![\w:/])",
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
_NFS_SERVER_RE = re.compile(
    r"(?P<key>\b(?:nfs|NFS|lockd|NFSD|nfsd|SUNRPC|rpcbind)\b[^\n]{0,60}?\bserver\s+)"
    r"(?P<value>[A-Za-z0-9][A-Za-z0-9.-]{0,252})(?=\s+(?:not responding|OK\b|error)|:)"
)
_UNC_RE = re.compile(r"(?P<key>\\\\)(?P<value>[A-Za-z0-9][A-Za-z0-9.-]{0,252})(?=\\)")
_CIFS_URL_RE = re.compile(
    r"(?P<key>\b(?:CIFS|cifs|smb3?|SMB3?)\b[^\n]{0,60}?//)"
    r"(?P<value>[A-Za-z0-9][A-Za-z0-9.-]{0,252})(?=/)"
)
# A fully qualified name (three or more labels, a common top-level domain). Kernel text with
# dots (ext4.ko, kernel.panic, 6.8.0-45-generic, libc.so.6) has two labels or another suffix.
_FQDN_RE = re.compile(
    r"(?<![\w.-])(?P<value>[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,6}\."
    r"(?:com|net|org|edu|gov|mil|int|info|biz|io|eu|de|uk|fr|nl|be|ch|at|it|es|se|no|fi|dk|pl"
    r"|cz|ru|cn|jp|kr|tw|in|br|au|nz|ca|us|local|lan|internal|intranet|intra|corp|home|arpa"
    r"|localdomain|cloud))(?![\w.-])"
)
# Wi-Fi network names: SSID "x", ssid='x', SSID=x.
_SSID_RE = re.compile(
    r"(?P<key>\b(?:E?SSID|e?ssid)\s*[:=]?\s*)(?P<value>\"[^\"\n]{1,32}\"|'[^'\n]{1,32}'"
    r"|(?<=[=:])[^\s\"',;]{1,32})"
)
SSID = "<ssid>"
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
_FOR_USER_RE = re.compile(
    r"(?P<key>\b(?:for|by|of|from) user\s+)(?P<value>[A-Za-z_][A-Za-z0-9._-]{0,63})"
)
# "session opened for user root(uid=0) by alice(uid=1000)": a name right before (uid=N).
_NAME_UID_RE = re.compile(
    r"(?<![\w.-])(?P<value>[A-Za-z_][A-Za-z0-9._-]{0,63})(?=\((?:uid|auid|euid)=\d{1,10}\))"
)
# The boot banner "Linux version 6.8.0-45-generic (alice@build-box) (gcc ...)": who built the
# kernel, on which machine.
_BANNER_RE = re.compile(
    r"(?P<key>\bLinux version \S{1,100} \()(?P<user>[A-Za-z0-9_.-]{1,64})@"
    r"(?P<host>[A-Za-z0-9][A-Za-z0-9.-]{0,252})(?=\))"
)
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
_MAC_WORDS = (
    "MAC",
    "mac",
    "HWaddr",
    "hwaddr",
    "ether",
    "lladdr",
    "bssid",
    "BSSID",
    "bdaddr",
    "BD_ADDR",
    "perm_addr",
)
_FQDN_HINT = re.compile(r"\.[A-Za-z]{2,11}(?![\w.-])")  # a dot, then a top-level domain
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
    _SERIAL_BARE_RE: lambda t: any(w in t.casefold() for w in ("serial", "s/n")),
    _BY_ID_RE: lambda t: "_" in t and any(w in t for w in ("ata-", "nvme-", "usb-", "scsi-")),
    _MAC_BARE_RE: lambda t: any(w in t for w in _MAC_WORDS),
    _NAME_UID_RE: lambda t: "id=" in t,
    _BANNER_RE: lambda t: "Linux version " in t,
    _NFS_SERVER_RE: lambda t: "server" in t,
    _UNC_RE: lambda t: "\\\\" in t,
    _CIFS_URL_RE: lambda t: "//" in t,
    _FQDN_RE: lambda t: _FQDN_HINT.search(t) is not None,
    _SSID_RE: lambda t: "ssid" in t.casefold(),
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


_HOST_SOURCES = (
    _SYSLOG_HOST_RE,
    _HOST_FIELD_RE,
    _HOST_CHANGE_RE,
    _NFS_SERVER_RE,
    _UNC_RE,
    _CIFS_URL_RE,
    _FQDN_RE,
)
_USER_SOURCES = (_HOME_RE, _USER_FIELD_RE, _UID_NAME_RE, _FOR_USER_RE, _NAME_UID_RE)


def _names(text: str) -> tuple[set[str], set[str]]:
    """(host names, user names) learned from the places a log names them."""
    hosts = _learn(text, _HOST_SOURCES, "value") | _learn(text, (_BANNER_RE,), "host")
    users = _learn(text, _USER_SOURCES, "value") | _learn(text, (_BANNER_RE,), "user")
    return hosts, users


def scrub_text(text: str, options: ScrubOptions = DEFAULT) -> ScrubResult:
    """Scrub ``text``; ``counts`` says how many replacements each category made."""
    cats = options.categories
    counts = dict.fromkeys(CATEGORIES, 0)
    hosts, users = _names(text)
    if "user" in cats:
        text, n = _sub(_EMAIL_RE, EMAIL, text)
        counts["user"] += n
    if "mac" in cats:
        text, n = _sub(_MAC_RE, MAC, text)
        counts["mac"] += n
        text, n = _sub(_MAC_DASH_RE, MAC, text)
        counts["mac"] += n
        text, n = _sub(_MAC_BARE_RE, _keyed(MAC), text)
        counts["mac"] += n
    if "ip" in cats:
        text, n = _count_sub(_IPV6_RE, _ipv6(options), text)
        counts["ip"] += n
        text, n = _count_sub(_IPV4_RE, _ipv4(options), text)
        counts["ip"] += n
    if "serial" in cats:
        text, n = _sub(_SERIAL_RE, _keyed(SERIAL), text)
        counts["serial"] += n
        text, n = _sub(_SERIAL_BARE_RE, _keyed(SERIAL), text)
        counts["serial"] += n
        text, n = _sub(_BY_ID_RE, _keyed(SERIAL), text)
        counts["serial"] += n
        text, n = _count_sub(_UUID_RE, _uuid, text)
        counts["serial"] += n
    if "hostname" in cats:
        text, n = _sub(_SSID_RE, _keyed(SSID), text)
        counts["hostname"] += n
        text, n = _replace_words(text, hosts - users, HOST)
        counts["hostname"] += n
    if "user" in cats:
        text, n = _replace_words(text, users, USER)
        counts["user"] += n
    return ScrubResult(text=text, counts={k: v for k, v in counts.items() if k in cats})


def learned_names(text: str) -> tuple[set[str], set[str]]:
    """(host names, user names) the scrubber would replace in ``text`` (for diagnostics)."""
    hosts, users = _names(text)
    return hosts - users, users


@dataclass(frozen=True, slots=True)
class Rule:
    """One kind of personal data the scrubber removes: an example line, the secret in it that
    must go, and what stands in its place (docs/privacy.md shows this table; the tests run it)."""

    kind: str
    category: str
    example: str
    secret: str
    replaced_by: str


# What is scrubbed, with an example each. Keep docs/privacy.md's table in step.
RULES: tuple[Rule, ...] = (
    Rule(
        "syslog host prefix",
        "hostname",
        "Nov 22 01:02:03 build-box-7 kernel: BUG: oops",
        "build-box-7",
        HOST,
    ),
    Rule(
        "hostname= field", "hostname", "audit: hostname=build-box-7 op=login", "build-box-7", HOST
    ),
    Rule(
        "host name change",
        "hostname",
        "systemd[1]: Set hostname to 'build-box-7'.",
        "build-box-7",
        HOST,
    ),
    Rule(
        "NFS server",
        "hostname",
        "nfs: server nfs01.corp.example.com not responding, still trying",
        "nfs01.corp.example.com",
        HOST,
    ),
    Rule(
        "CIFS share (UNC)",
        "hostname",
        "CIFS: VFS: \\\\fs01\\share error -13 on ioctl",
        "fs01",
        HOST,
    ),
    Rule(
        "CIFS share (URL form)",
        "hostname",
        "CIFS: Attempting to mount //fs02.example.de/share",
        "fs02.example.de",
        HOST,
    ),
    Rule(
        "fully qualified host name",
        "hostname",
        "connected to build7.lab.example.org port 22",
        "build7.lab.example.org",
        HOST,
    ),
    Rule("Wi-Fi SSID", "hostname", "wlp2s0: SSID 'Home Net 5G' connected", "Home Net 5G", SSID),
    Rule(
        "kernel banner user@host",
        "user",
        "Linux version 6.8.0-45-generic (alice@build-box) (gcc 13.2) #45-Ubuntu",
        "alice@build-box",
        f"{USER}@{HOST}",
    ),
    Rule("home directory", "user", 'exe="/home/alice/bin/tool"', "alice", USER),
    Rule("user= field", "user", "pam_unix: user=alice tty=pts/0", "alice", USER),
    Rule("uid=N(name)", "user", "audit: uid=1000(alice) exe=x", "alice", USER),
    Rule("for/by/of user NAME", "user", "passwd: password changed of user alice", "alice", USER),
    Rule(
        "NAME(uid=N)",
        "user",
        "session opened for user root(uid=0) by alice(uid=1000)",
        "alice",
        USER,
    ),
    Rule("e-mail address", "user", "mail alice@example.org about it", "alice@example.org", EMAIL),
    Rule(
        "MAC address (colons)", "mac", "eth0: link up 8c:16:45:aa:bb:cc", "8c:16:45:aa:bb:cc", MAC
    ),
    Rule("MAC address (dashes)", "mac", "nic 8C-16-45-AA-BB-CC ready", "8C-16-45-AA-BB-CC", MAC),
    Rule(
        "MAC address (no separators)",
        "mac",
        "wlan0: authenticate with MAC 8c1645aabbcc",
        "8c1645aabbcc",
        MAC,
    ),
    Rule(
        "IPv4 address", "ip", "sshd: Accepted key from 192.168.10.23 port 5", "192.168.10.23", IPV4
    ),
    Rule("IPv6 address", "ip", "inet6 2001:db8::42 scope global", "2001:db8::42", IPV6),
    Rule(
        "serial number field", "serial", "usb 1-1: SerialNumber: 0123ABCDEF9", "0123ABCDEF9", SERIAL
    ),
    Rule("serial without a colon", "serial", "usb 1-1: serial 0123ABCDEF9", "0123ABCDEF9", SERIAL),
    Rule(
        "ATA disk serial (udev)",
        "serial",
        "ID_SERIAL=Samsung_SSD_850_EVO_250GB_S21PNXAG123456X",
        "S21PNXAG123456X",
        SERIAL,
    ),
    Rule(
        "ATA disk serial (by-id name)",
        "serial",
        "mounting /dev/disk/by-id/ata-WDC_WD40EFAX-68JH4N1_WD-WX12D1234567-part1",
        "WD-WX12D1234567",
        SERIAL,
    ),
    Rule(
        "filesystem UUID",
        "serial",
        "EXT4-fs (sda1): mounted filesystem 3e6f2a1b-1111-2222-3333-444455556666 r/w",
        "3e6f2a1b-1111-2222-3333-444455556666",
        SERIAL,
    ),
)
