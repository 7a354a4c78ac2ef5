"""`kpanic stats` (class / language / Rust-verdict shares over many logs) and
`kpanic signature` (show a crash's signature and why; diff two signature versions)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpanic.cli import selection
from kpanic.errors import KpanicError

if TYPE_CHECKING:
    from kpanic.classify.batch import Entry


def _version(value: str) -> str:
    from kpanic.classify.signature import RULESETS

    if value not in RULESETS:
        raise argparse.ArgumentTypeError(
            f"unknown signature version {value!r} (known: {', '.join(RULESETS)})"
        )
    return value


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `stats` and `signature` to the `kpanic` parser."""
    p = sub.add_parser(
        "stats",
        help="bug class, language and 'would Rust prevent it' shares over a set of logs",
        description="Parse and classify every log in FILE|DIR... and count crashes per bug "
        "class, per language and per Rust verdict (primary crash of each log).",
    )
    p.add_argument("paths", nargs="+", metavar="FILE|DIR", help="log files and directories")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--plot", type=Path, metavar="OUT.png|OUT.svg", help="also draw a chart")
    p.add_argument(
        "--all-reports", action="store_true", help="count every crash of a log, not the first"
    )
    selection.add_arguments(p)
    p.set_defaults(handler=run_stats)

    s = sub.add_parser("signature", help="crash signatures: show them, compare versions")
    ssub = s.add_subparsers(dest="signature_command", metavar="ACTION", required=True)
    d = ssub.add_parser(
        "diff",
        help="which groups a new signature version would merge or split",
        description="Group the crashes in FILE|DIR... under two signature versions and list "
        "the groups the second version merges and splits.",
    )
    d.add_argument(
        "--from",
        dest="v_from",
        type=_version,
        required=True,
        metavar="V1",
        help="the signature version to compare from (kpanic signature versions lists them)",
    )
    d.add_argument(
        "--to", dest="v_to", type=_version, default=None, metavar="V2", help="default: current"
    )
    d.add_argument("paths", nargs="+", metavar="FILE|DIR", help="log files and directories")
    d.add_argument("--json", action="store_true", help="print JSON")
    selection.add_arguments(d)
    d.set_defaults(handler=run_diff)

    sh = ssub.add_parser("show", help="the signature of each crash, with the rule notes")
    sh.add_argument("paths", nargs="+", metavar="FILE|DIR", help="log files and directories")
    sh.add_argument(
        "--version", dest="sig_version", type=_version, default=None, help="default: current"
    )
    sh.add_argument("--json", action="store_true", help="print JSON")
    selection.add_arguments(sh)
    sh.set_defaults(handler=run_show)

    v = ssub.add_parser("versions", help="list the signature rule-set versions")
    v.set_defaults(handler=run_versions)


def _crash_id(e: Entry) -> str:
    return f"{e.path}" if e.index == 0 else f"{e.path}#{e.index}"


def _files(args: argparse.Namespace) -> list[Path]:
    """The files under ``args.paths`` after --glob/--exclude and the default skips."""
    sel = selection.select(args.paths, globs=args.glob, excludes=args.exclude)
    note = sel.note()
    if note:
        print(f"kpanic: {note}", file=sys.stderr)
    if not sel.files:
        raise KpanicError("no files to read under the given paths")
    return sel.files


def _current() -> str:
    from kpanic.classify.signature import CURRENT

    return CURRENT


def run_stats(args: argparse.Namespace) -> int:
    from rich.console import Console

    from kpanic.classify import classify
    from kpanic.classify.batch import run_batch
    from kpanic.classify.stats import Stats, plot, render_tables

    if args.plot:
        from kpanic.cli.inputs import check_output

        check_output(args.plot)
        if args.plot.suffix.lower() not in (".png", ".svg", ".pdf"):
            raise KpanicError(f"{args.plot}: --plot writes .png or .svg files")
    entries = run_batch(_files(args), all_reports=args.all_reports, show_progress=True)
    stats = Stats(logs=len({e.path for e in entries}))
    for e in entries:
        if e.error:
            stats.errors += 1
        elif e.report is None:
            stats.no_crash += 1
        else:
            stats.add(classify(e.report))
    if args.plot:
        source = ", ".join("/".join(Path(p).resolve().parts[-3:]) for p in args.paths[:2])
        try:
            plot(stats, args.plot, source)
        except OSError as exc:
            from kpanic.cli.inputs import path_error

            raise path_error(args.plot, exc) from None
    if args.json:
        json.dump(stats.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        render_tables(stats, Console())
        if args.plot:
            print(f"chart written to {args.plot}")
    return 0


def run_diff(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from kpanic.classify.batch import run_batch
    from kpanic.classify.grouping import compare
    from kpanic.classify.signature import compute_signature

    args.v_to = args.v_to or _current()
    entries = [e for e in run_batch(_files(args), show_progress=True) if e.report is not None]
    pairs = []
    for e in entries:
        assert e.report is not None
        old = compute_signature(e.report, args.v_from).value
        new = compute_signature(e.report, args.v_to).value
        pairs.append((_crash_id(e), old, new))
    result = compare(pairs)
    if args.json:
        out = {"from": args.v_from, "to": args.v_to, "crashes": len(pairs), **result.to_dict()}
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    con = Console()
    con.print(
        f"{len(pairs)} crashes: {result.old_groups} groups under {args.v_from}, "
        f"{result.new_groups} under {args.v_to}; {len(result.merges)} merges, "
        f"{len(result.splits)} splits"
    )
    for title, changes, verb in (
        ("Merged", result.merges, "takes crashes from"),
        ("Split", result.splits, "splits into"),
    ):
        if not changes:
            continue
        t = Table(title=f"{title} groups ({args.v_from} -> {args.v_to})", show_lines=True)
        t.add_column("group")
        t.add_column(verb)
        t.add_column("crashes", justify="right")
        for c in changes:
            t.add_row(c.key, "\n".join(c.into), str(len(c.members)))
        con.print(t)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from rich.console import Console

    from kpanic.classify.batch import run_batch
    from kpanic.classify.signature import compute_signature

    args.sig_version = args.sig_version or _current()
    rows = []
    for e in run_batch(_files(args), all_reports=True, show_progress=True):
        if e.report is None:
            continue
        sig = compute_signature(e.report, args.sig_version)
        rows.append(
            {
                "crash": _crash_id(e),
                "title": e.report.title,
                "signature": sig.value,
                "version": sig.version,
                "digest": sig.digest,
                "notes": sig.notes,
            }
        )
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not rows:
        raise KpanicError("no crash found in the given logs")
    con = Console()
    for r in rows:
        con.print(f"[bold]{r['crash']}[/]\n  {r['signature']}  [dim]({r['version']})[/]")
        for note in r["notes"]:
            con.print(f"    [dim]- {note}[/]", highlight=False)
    return 0


def run_versions(args: argparse.Namespace) -> int:
    from kpanic.classify.signature import CURRENT, RULESETS

    for version, rs in RULESETS.items():
        mark = " (current)" if version == CURRENT else ""
        print(f"{version}{mark}: {rs.description}")
        for rule in rs.rules:
            print(f"  {rule.id}: {rule.doc}")
    return 0
