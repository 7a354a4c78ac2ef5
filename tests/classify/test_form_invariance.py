"""One crash, one identity: class, Rust verdict, language and signature do not depend on the
form a report arrives in.

Forms: the fixture families of tests/report/fixtures (a real base report and the forms
``make_variants.py`` derives from it: dmesg, ``dmesg -T``, syslog, pstore, CRLF, caller tags,
interleaved CPUs, mail quotes and wrapping, QR tails), more forms of every base derived here
with the same transformations plus desymbolizing, and, for the syzkaller corpus, the
full-text forms and the raw-mode QR tails (``kpanic.qr.kmsg``) of V40/V30/V25 codes.

A form *joins* its base when class, verdict and language are equal and its signature is the
base's or, for a partial report, the base's signature is among its alternatives and is the
one the store would pick (``grouping.join_key``). Each exception below is listed with its
reason; a new exception fails, a listed one that now joins is printed as fixed.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

from kpanic.classify import classify
from kpanic.classify.corpus import read_log
from kpanic.classify.grouping import join_key
from kpanic.qr.encode import max_data_size
from kpanic.qr.kmsg import QR_BUFFER_SIZE, kmsg_dump_get_buffer
from kpanic.report import parse
from kpanic.report.model import CrashReport
from tests.classify.corpus_reports import corpus_files
from tests.classify.golden_inputs import FIXTURES, read_headers

Identity = tuple[str, str, str, str, tuple[str, ...]]  # class, verdict, language, sig, alts


@cache
def variants_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_variants", FIXTURES / "make_variants.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_variants", mod)
    spec.loader.exec_module(mod)
    return mod


def identity(log: str) -> Identity | None:
    report = parse(log).primary
    if report is None:
        return None
    c = classify(report)
    return (c.bug_class, c.rust_prevents, c.language, c.signature, tuple(c.signature_alternatives))


def joins(base: Identity, form: Identity | None) -> bool:
    if form is None:
        return False
    if base[:3] != form[:3]:
        return False
    return join_key(form[3], form[4], {base[3]}) == base[3]


def explain(base: Identity, form: Identity | None) -> str:
    if form is None:
        return "no report"
    names = ("class", "verdict", "language", "signature")
    pairs = zip(names, base[:4], form[:4], strict=True)
    return "; ".join(f"{n} {a!r} != {b!r}" for n, a, b in pairs if a != b)


# --- fixture families ---------------------------------------------------------------------------

_INLINE_LINE = re.compile(r"^.*\[inline\]\s*$")
_SOURCE = re.compile(r"(\+0x[0-9a-f]+/0x[0-9a-f]+)(?: \[\w+\])? [\w./-]+\.[chS]:\d+(?::\d+)?")


def desymbolize(log: str) -> str:
    """A raw console log of a symbolized report: no [inline] lines, no file:line after frames."""
    return "".join(
        _SOURCE.sub(r"\1", line) + "\n" for line in log.splitlines() if not _INLINE_LINE.match(line)
    )


def extra_forms() -> dict[str, Callable[[str], str]]:
    """More forms of each base, from make_variants' own transformations."""
    mv = variants_module()
    return {
        "x-dmesg": mv.strip_timestamps,
        "x-syslog": lambda log: mv.syslog(mv.add_timestamps(mv.strip_timestamps(log))),
        "x-quoted": mv.quote,
        "x-wrapped-76": lambda log: mv.wrap(log, 76),
        "x-crlf": mv.crlf,
        "x-desymbolized": desymbolize,
    }


_CONSOLE_LINE = re.compile(r"^\[ *\d+\.\d+\]")


def is_console(log: str) -> bool:
    """A raw console log: nearly every line starts with a ``[ seconds.micro]`` timestamp."""
    lines = [line for line in log.splitlines() if line.strip()]
    return bool(lines) and sum(bool(_CONSOLE_LINE.match(x)) for x in lines) >= 0.8 * len(lines)


def fixture_log(path: Path) -> tuple[dict[str, str], str]:
    parsed = read_headers(path.read_bytes().decode("utf-8"))
    assert parsed is not None, path
    return parsed


@cache
def fixture_results() -> dict[str, dict[str, tuple[Identity | None, bool]]]:
    """family -> form -> (identity, joins the base)."""
    out: dict[str, dict[str, tuple[Identity | None, bool]]] = {}
    for base_path in sorted(p for p in FIXTURES.glob("*.txt") if "--" not in p.name):
        fields, log = fixture_log(base_path)
        family = base_path.stem
        base = identity(log)
        assert base is not None, family
        forms: dict[str, tuple[Identity | None, bool]] = {"base": (base, True)}
        for path in sorted(FIXTURES.glob(f"{family}--*.txt")):
            vfields, vlog = fixture_log(path)
            if vfields.get("KIND") == "no-crash":
                continue  # a paste that stops before the crash: not a form of it
            form = identity(vlog)
            forms[path.stem.split("--", 1)[1]] = (form, joins(base, form))
        if is_console(log):  # a paste already quoted/indented/syslogged is not re-wrapped
            for name, fn in extra_forms().items():
                form = identity(fn(log))
                forms[name] = (form, joins(base, form))
        out[family] = forms
    return out


#: (family, form) -> why it does not join its base (parser limits: see the report helper).
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("satyr-rhbz-1518943", "qr-tail"): (
        "the faulting function (amdgpu_vm_sdma_commit, on the RIP line) is printed before "
        "'Call Trace:' and is lost; the tail's first frame is its caller"
    ),
    ("rust-e1000-arm64-unwrap", "qr-tail"): (
        "the parser starts the report at the final 'Kernel panic' line, so the Rust panic frames "
        "printed above it are not in the report; only the BUG trap is left"
    ),
}


def test_fixture_families_share_one_identity() -> None:
    results = fixture_results()
    failing = {(fam, form) for fam, forms in results.items() for form, (_, ok) in forms.items()}
    failing = {(fam, form) for fam, form in failing if not results[fam][form][1]}
    total = sum(len(forms) - 1 for forms in results.values())
    joined = total - len(failing)
    full = [(f, n) for f, forms in results.items() for n in forms if n != "base"]
    tails = [(f, n) for f, n in full if "tail" in n]
    share = f"{joined / total:.1%}"
    print(f"\nfixture families: {len(results)}, forms {total}, joined {joined} ({share})")
    t_ok = sum(1 for k in tails if k not in failing)
    print(
        f"  full-text forms: {len(full) - len(tails) - len(failing - set(tails))}/"
        f"{len(full) - len(tails)}; QR tails: {t_ok}/{len(tails)}"
    )
    for key in sorted(failing):
        base = results[key[0]]["base"][0]
        assert base is not None
        why = KNOWN_EXCEPTIONS.get(key, "NEW")
        diff = explain(base, results[key[0]][key[1]][0])
        print(f"  exception {key[0]} / {key[1]}: {diff} -- {why}")
    for key in sorted(set(KNOWN_EXCEPTIONS) - failing):
        print(f"  fixed (remove from KNOWN_EXCEPTIONS): {key}")
    assert failing <= set(KNOWN_EXCEPTIONS), sorted(failing - set(KNOWN_EXCEPTIONS))
    assert total >= 80


# --- the syzkaller corpus -----------------------------------------------------------------------

QR_VERSIONS = (40, 30, 25)


PANIC_TRAILER = (
    "Kernel panic - not syncing: Fatal exception\n"
    "Kernel Offset: disabled\n"
    "---[ end Kernel panic - not syncing: Fatal exception ]---\n"
)


def panic_log(log: str, report: CrashReport) -> str:
    """The log as the panicking kernel's kmsg holds it when drm_panic draws: everything up to
    the end of the primary report, then the panic trailer."""
    last = next((x.strip() for x in reversed(report.text.splitlines()) if x.strip()), "")
    at = log.find(last, report.start) if last else -1
    end = log.find("\n", at) + 1 if at >= 0 else len(log)
    return log[: end or len(log)] + PANIC_TRAILER


@cache
def corpus_results() -> dict[str, tuple[int, int, list[str]]]:
    """form -> (forms compared, joined, first exceptions)."""
    forms = extra_forms()
    del forms["x-crlf"]  # covered by the fixtures; the corpus is LF throughout
    tallies: dict[str, tuple[int, int, list[str]]] = {}

    def tally(name: str, ok: bool, why: str) -> None:
        n, j, ex = tallies.get(name, (0, 0, []))
        if not ok and len(ex) < 5:
            ex = [*ex, why]
        tallies[name] = (n + 1, j + ok, ex)

    for path in corpus_files():
        log = read_log(path).log
        report = parse(log).primary
        base = identity(log)
        if base is None or report is None:
            continue
        for name, fn in forms.items():
            if name == "x-desymbolized" and "[inline]" not in log:
                continue
            form = identity(fn(log))
            tally(name, joins(base, form), f"{path.name}: {explain(base, form)}")
        panicked = panic_log(log, report)
        bare = panicked.removesuffix(PANIC_TRAILER)
        for version in QR_VERSIONS:
            size = min(max_data_size(version, 0), QR_BUFFER_SIZE)
            for label, full in (("", panicked), ("-no-trailer", bare)):
                tail = kmsg_dump_get_buffer(full, size).decode("utf-8", "replace")
                if tail == full:
                    continue  # the whole log fits: not a tail
                form = identity(tail)
                why = f"{path.name}: {explain(base, form)}"
                tally(f"qr-raw-V{version}{label}", joins(base, form), why)
                if form is not None and label:
                    # the classifier's share: tails the parser turned into a report at all
                    tally(f"qr-raw-V{version}-reported", joins(base, form), why)
    return tallies


# The floor each corpus form must keep (measured 2026-12-03; raise it when it improves).
CORPUS_FLOORS = {
    "x-dmesg": 0.97,
    "x-syslog": 0.97,
    "x-quoted": 0.99,
    "x-wrapped-76": 0.94,
    "x-desymbolized": 0.99,
    # QR tails: the parser finds no crash in most tails that start after the report header
    # (issue 10 item 1, the parser's part); these floors guard what works today.
    "qr-raw-V40": 0.03,
    "qr-raw-V30": 0.01,
    "qr-raw-V25": 0.01,
    "qr-raw-V40-no-trailer": 0.03,
    "qr-raw-V30-no-trailer": 0.01,
    "qr-raw-V25-no-trailer": 0.01,
    "qr-raw-V40-reported": 0.03,
    "qr-raw-V30-reported": 0.01,
    "qr-raw-V25-reported": 0.01,
}


@pytest.mark.slow
def test_syzkaller_corpus_forms() -> None:
    results = corpus_results()
    print()
    low = []
    for name, (n, j, ex) in results.items():
        print(f"syzkaller {name}: {j}/{n} joined ({j / n:.1%})")
        for why in ex:
            print(f"    {why}")
        if j / n < CORPUS_FLOORS[name]:
            low.append((name, j, n))
    assert not low, low
