"""The crash in plain words for the person who just photographed a panic screen.

Three answers, each a sentence or a short list, built from the classification and the crash
group: what crashed (the bug class and the Rust verdict said plainly), whether the crash is
already known (its group, how many reports, since when, and the release that fixes it when the
group records one), and what to do next (update, report to the distribution with a prepared
text, attach the full log from the journal). The wording lives here as data, with the reason for
each entry, so the server-rendered preview and the in-browser preview say the same thing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

# Bug class -> what happened, for someone who is not a kernel developer.
CLASS_WORDS: dict[str, str] = {
    "out-of-bounds": "read or wrote memory past the end of a buffer",
    "use-after-free": "used memory after it had been freed",
    "invalid-free": "freed memory that was not allocated, or freed it twice",
    "leak": "kept memory it no longer used (a memory leak)",
    "uninit": "used memory before anything was written to it",
    "null-deref": "followed a NULL (empty) pointer",
    "lock-misuse": "used a lock the wrong way (for example slept while holding one)",
    "deadlock": "waited for a lock that could never be released (a deadlock)",
    "refcount": "miscounted the users of an object (reference count went wrong)",
    "data-race": "let two threads change the same data at the same time (a data race)",
    "assertion": "hit a check its developers wrote for a situation that must never happen",
    "hang": "stopped responding (a task or CPU got stuck)",
    "arithmetic": "did impossible arithmetic (for example a division by zero or an overflow)",
    "rust-panic": "stopped in Rust code that detected an impossible state (a Rust panic)",
}
UNKNOWN_CLASS = "crashed in a way kpanic could not put in a bug class"

# The Rust verdict in a sentence (the question the dashboard's badge answers).
VERDICT_WORDS: dict[str, str] = {
    "yes": "Code written in safe Rust would have prevented this kind of bug.",
    "partly": "Safe Rust would have prevented some forms of this bug, but not all of them.",
    "no": "Safe Rust would not have prevented this kind of bug: it is a logic error that any "
    "language allows.",
}
UNKNOWN_VERDICT = "Whether safe Rust would have prevented it is not known."

# Distribution -> how its users report a kernel bug (the distribution's own tracker first:
# distributions patch their kernels and forward upstream what is not theirs).
DISTRO_TRACKERS: dict[str, str] = {
    "debian": "with reportbug linux-image-$(uname -r), or at https://bugs.debian.org",
    "ubuntu": "with ubuntu-bug linux, or at https://bugs.launchpad.net/ubuntu/+source/linux",
    "fedora": "at https://bugzilla.redhat.com (product Fedora, component kernel)",
    "rhel": "through Red Hat support or https://issues.redhat.com",
    "arch": "at https://gitlab.archlinux.org/archlinux/packaging/packages/linux/-/issues",
    "opensuse": "at https://bugzilla.opensuse.org (component Kernel)",
    "gentoo": "at https://bugs.gentoo.org",
    "manjaro": "on https://forum.manjaro.org (Kernel category)",
    "android": "to the device maker",
}
UPSTREAM = (
    "on the mailing list of the guilty subsystem (./scripts/get_maintainer.pl -f FILE in the "
    "kernel source names it), or at https://bugzilla.kernel.org"
)

# The full log of the boot that crashed, once the machine is up again.
JOURNAL_COMMAND = "journalctl -k -b -1 > kernel.log"
COLLECT_COMMAND = "kpanic collect --show"

# Attribute names under which a crash group may carry the release that fixes it.
FIX_FIELDS = ("fixed_in", "fix_release", "fixed_release")


@dataclass(frozen=True, slots=True)
class Step:
    text: str
    command: str | None = None


@dataclass(frozen=True, slots=True)
class Advice:
    what: str  # what crashed, in a sentence or two
    known: str  # whether this crash is already known
    steps: list[Step] = field(default_factory=list)  # what to do next
    report_text: str = ""  # a prepared text for the distribution's bug tracker

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def fix_release(group: Any) -> str | None:
    """The release that fixes the group's crash, if the group records one."""
    for name in FIX_FIELDS:
        value = _get(group, name)
        if value:
            return str(value)
    return None


def _day(value: Any) -> str | None:
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, str) and value:
        return value[:10]
    return None


def what_crashed(
    bug_class: str | None, rust_prevents: str | None, guilty: str | None = None
) -> str:
    """'The kernel used memory after it had been freed (in foo). Safe Rust would ...'."""
    words = CLASS_WORDS.get(bug_class or "", UNKNOWN_CLASS)
    where = f" in the function {guilty}" if guilty else ""
    verdict = VERDICT_WORDS.get(rust_prevents or "", UNKNOWN_VERDICT)
    return f"The kernel {words}{where}. {verdict}"


def known_status(group: Any, *, stored: bool, group_is_new: bool = False) -> str:
    """Whether the crash was seen before: the group, its report count, since when, the fix."""
    if group is None or (group_is_new and int(_get(group, "report_count") or 0) <= 1):
        if stored:
            return "This crash was not known before: yours is the first report of it."
        return "This crash is not known yet: yours would be the first report of it."
    count = int(_get(group, "report_count") or 0)
    since = _day(_get(group, "first_seen"))
    text = f"This crash is already known as crash group #{_get(group, 'id')}"
    text += f" with {count} report{'s' if count != 1 else ''}"
    if stored:
        text += " (yours included)"
    if since:
        text += f", first seen on {since}"
    text += "."
    fixed = fix_release(group)
    if fixed:
        text += f" It is fixed in kernel {fixed}."
    return text


def next_steps(distro: str | None, fixed: str | None) -> list[Step]:
    """What the person can do now, most useful first."""
    steps = []
    if fixed:
        steps.append(Step(f"Update to kernel {fixed} or later: that release has the fix."))
    else:
        steps.append(
            Step("Install your distribution's kernel updates: a newer release may fix it.")
        )
    where = DISTRO_TRACKERS.get(distro or "")
    who = f"to {distro.capitalize()} {where}" if distro and where else f"upstream {UPSTREAM}"
    steps.append(Step(f"Report it {who}, with the prepared text below."))
    steps.append(
        Step(
            "After the next boot, save the full kernel log of the boot that crashed and attach "
            "it to the report:",
            JOURNAL_COMMAND,
        )
    )
    steps.append(Step("Or let kpanic find and show it:", COLLECT_COMMAND))
    return steps


def report_text(
    *,
    title: str,
    kernel: str | None,
    arch: str | None,
    distro: str | None,
    bug_class: str | None,
    guilty: str | None,
    link: str | None,
) -> str:
    """A bug report body to paste into the distribution's tracker."""
    lines = [
        f"Kernel crash: {title or '(no title)'}",
        "",
        f"Kernel release: {kernel or 'unknown'}",
        f"Architecture: {arch or 'unknown'}",
    ]
    if distro:
        lines.append(f"Distribution: {distro}")
    lines.append(f"Bug class (kpanic): {bug_class or 'unknown'}")
    if guilty:
        lines.append(f"Guilty function: {guilty}")
    if link:
        lines.append(f"Crash report: {link}")
    lines += ["", f"The full kernel log is attached ({JOURNAL_COMMAND})."]
    return "\n".join(lines)


def advise(
    *,
    title: str,
    bug_class: str | None,
    rust_prevents: str | None,
    guilty: str | None,
    kernel: str | None,
    arch: str | None,
    distro: str | None,
    group: Any,
    stored: bool,
    group_is_new: bool = False,
    link: str | None = None,
) -> Advice:
    fixed = fix_release(group)
    return Advice(
        what=what_crashed(bug_class, rust_prevents, guilty),
        known=known_status(group, stored=stored, group_is_new=group_is_new),
        steps=next_steps(distro, fixed),
        report_text=report_text(
            title=title,
            kernel=kernel,
            arch=arch,
            distro=distro,
            bug_class=bug_class,
            guilty=guilty,
            link=link,
        ),
    )
