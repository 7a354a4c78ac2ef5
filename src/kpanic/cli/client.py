"""``kpanic collect`` (find this machine's crashes of earlier boots, preview, send) and
``kpanic submit`` (send files, standard input, collect's output, photos or panic URLs to a
kpanic server). Nothing leaves the machine without ``--send``, ``submit``, or ``send = true``
in the client configuration."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpanic.errors import KpanicError

if TYPE_CHECKING:
    from kpanic.client.config import ClientConfig
    from kpanic.client.send import Outcome, Sender
    from kpanic.client.spool import Entry, Spool
    from kpanic.client.state import State

SOURCE_NAMES = ("pstore", "systemd-pstore", "journal", "kdump", "syslog")
MAX_SUBMIT_BYTES = 64 * 1024 * 1024
EXIT_TEMPFAIL = 75  # some reports wait in the spool for the next run (sysexits EX_TEMPFAIL)


def _client_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="FILE",
        help="client configuration (default: $KPANIC_CLIENT_CONFIG, else "
        "/etc/kpanic/client.toml when it exists)",
    )
    p.add_argument("--server", metavar="URL", help="the kpanic server (default: from the config)")
    p.add_argument(
        "--token",
        metavar="TOKEN",
        help="API token (default: $KPANIC_TOKEN, else the config's token_file)",
    )
    p.add_argument(
        "--state-dir",
        metavar="DIR",
        help="state file and spool (default: the config's state_dir, $KPANIC_CLIENT_STATE_DIR, "
        "/var/lib/kpanic as root, else the per-user state directory)",
    )
    p.add_argument(
        "--no-scrub",
        action="store_true",
        help="send logs as they are (default: host/user names, addresses and serials are "
        "removed first, exactly as the server does)",
    )
    p.add_argument(
        "--retry-now",
        action="store_true",
        help="send every spooled report now, ignoring the retry backoff",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``collect`` and ``submit``."""
    p = sub.add_parser(
        "collect",
        help="find the crashes of earlier boots on this machine (pstore, journal, kdump, syslog)",
        description="Find the crashes of earlier boots: pstore records (efi, ramoops, erst; "
        "compressed .enc.z parts; the parts of one crash joined), systemd-pstore's archive, "
        "the journal of earlier boots (kernel messages), kdump's vmcore-dmesg.txt and "
        "kern.log/messages where there is no journal. A crash already handled (state file) "
        "is not offered again. Nothing is sent without --send (or send = true in the config).",
    )
    p.add_argument(
        "--root",
        type=Path,
        default=Path("/"),
        metavar="DIR",
        help="read the sources under DIR instead of / (containers, tests, a mounted disk)",
    )
    p.add_argument(
        "--source",
        action="append",
        choices=SOURCE_NAMES,
        metavar="NAME",
        help=f"read only this source (repeatable; {', '.join(SOURCE_NAMES)}; default: the "
        "config's sources, else all)",
    )
    p.add_argument(
        "--since",
        metavar="WHEN",
        help="only crashes recorded after WHEN: a date (2026-11-20) or an age (30d, 12h)",
    )
    p.add_argument("--all", action="store_true", help="also crashes already handled before")
    p.add_argument(
        "--show",
        action="store_true",
        help="print exactly what would be sent (after scrubbing; removed fields marked <host>, "
        "<ipv4>, ...)",
    )
    p.add_argument(
        "--send", action="store_true", help="send the crashes found (consent for this run)"
    )
    p.add_argument(
        "--dismiss",
        action="store_true",
        help="remember the crashes found as handled without sending them",
    )
    p.add_argument(
        "--journal-boots",
        type=int,
        metavar="N",
        help="earlier boots of the journal to read (default 3)",
    )
    _client_options(p)
    p.set_defaults(handler=_collect)

    s = sub.add_parser(
        "submit",
        help="send kernel logs, photos or panic URLs to a kpanic server",
        description="Send each INPUT to the server's JSON API and show its analysis (title, "
        "class, Rust verdict, group, whether it is new) and the report's page. INPUT is a log "
        "file, a photo of a panic QR code, a panic URL, a text file holding one, the JSON "
        "output of 'kpanic collect --json', or - for standard input. Reports that cannot be "
        "sent now (server down, 5xx, timeout) wait in the spool and are retried with backoff "
        "at the next run; refused ones (4xx) are shown with the server's reason. Without "
        "INPUT, only the spool is sent.",
    )
    s.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="log file, photo, panic URL, collect --json output, or - (standard input)",
    )
    s.add_argument("--photo", action="append", default=[], metavar="FILE", help="a photo")
    s.add_argument("--url", action="append", default=[], metavar="PANIC_URL", help="a panic URL")
    _client_options(s)
    s.set_defaults(handler=_submit)


# ----------------------------------------------------------------------------- shared


def _config(args: argparse.Namespace) -> ClientConfig:
    from kpanic.client import config as cfgmod

    cfg = cfgmod.load(args.config)
    changes: dict[str, Any] = {"server": args.server, "state_dir": args.state_dir}
    if args.no_scrub:
        changes["scrub"] = False
    if getattr(args, "source", None):
        changes["sources"] = tuple(dict.fromkeys(args.source))
    jb = getattr(args, "journal_boots", None)
    if jb is not None:
        if not 0 <= jb <= 100:
            raise KpanicError("--journal-boots must be 0..100")
        changes["journal_boots"] = jb
    return cfg.with_(**changes)


def _server(cfg: ClientConfig) -> str:
    server = cfg.server
    if not server:
        raise KpanicError("no server: give --server URL or set server in the client config")
    if not server.startswith(("http://", "https://")):
        raise KpanicError(f"--server must be an http:// or https:// URL, not {server!r}")
    return server


def _sender(cfg: ClientConfig, args: argparse.Namespace) -> Sender:
    from kpanic.client.config import read_token
    from kpanic.client.machine import machine_token
    from kpanic.client.send import Sender

    root = getattr(args, "root", None) or Path("/")
    machine = machine_token(Path(root)) if cfg.machine_id else None
    return Sender(
        _server(cfg), token=read_token(cfg, args.token), timeout=cfg.timeout, machine=machine
    )


def _state_dir(cfg: ClientConfig) -> Path:
    from kpanic.client.config import state_dir

    d = state_dir(cfg)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from kpanic.cli.inputs import path_error

        raise path_error(d, exc) from None
    return d


def deliver(
    spool: Spool,
    sender: Sender,
    state: State | None,
    *,
    retry_now: bool,
    only: set[str] | None = None,
) -> tuple[list[tuple[Entry, Outcome]], list[Entry]]:
    """Send the due spool entries (``only``: these keys, whatever their time); the final
    answers leave the spool (and are written to the state file), the others are rescheduled.
    Returns (sent or failed entries with their outcome, entries still waiting)."""
    from kpanic.cli.progress import Progress
    from kpanic.client.spool import MAX_ATTEMPTS, backoff

    done: list[tuple[Entry, Outcome]] = []
    waiting: list[Entry] = []
    now = time.time()
    entries = list(spool.entries())
    for name in spool.bad:
        print(f"kpanic: {spool.dir / name}: damaged spool entry set aside (.bad)", file=sys.stderr)
    unreachable: Outcome | None = None  # once the server cannot be reached, stop trying
    progress = Progress(len(entries), "sending")  # on a terminal, when it takes a while
    for entry in entries:
        progress.advance()
        due = retry_now or entry.next_attempt <= now or (only is not None and entry.key in only)
        if not due:
            waiting.append(entry)
            continue
        if unreachable is not None:
            out = dataclasses.replace(unreachable)
        else:
            out = sender.send(entry)
            if not out.final and out.http_status is None:
                unreachable = out
        if out.final:
            if state is not None and entry.state_key:
                state.mark(
                    entry.state_key,
                    "rejected" if out.status == "rejected" else "sent",
                    report=out.page,
                    reason=out.reason,
                    http_status=out.http_status,
                )
                state.save()
            spool.remove(entry.key)
            done.append((entry, out))
            continue
        entry.attempts += 1
        entry.last_error = out.reason
        if entry.attempts >= MAX_ATTEMPTS:
            out.status, out.reason = "rejected", f"given up after {entry.attempts} attempts"
            if state is not None and entry.state_key:
                state.mark(entry.state_key, "rejected", reason=out.reason)
                state.save()
            spool.remove(entry.key)
            done.append((entry, out))
            continue
        delay = max(backoff(entry.attempts), out.retry_after or 0.0)
        entry.next_attempt = time.time() + delay
        spool.put(entry)
        done.append((entry, out))
        waiting.append(entry)
    progress.close()
    return done, waiting


def _print_outcomes(
    done: list[tuple[Entry, Outcome]], waiting: list[Entry], *, as_json: bool
) -> int:
    rejected = False
    for entry, out in done:
        rejected |= out.status == "rejected"
        if as_json:
            r = out.result
            print(
                json.dumps(
                    {
                        "input": entry.name,
                        "status": out.status,
                        "http_status": out.http_status,
                        "reason": out.reason,
                        "page": out.page,
                        "group_page": out.group_page,
                        "report_id": r.get("report_id"),
                        "group_id": r.get("group_id"),
                        "is_new": r.get("is_new"),
                        "group_is_new": r.get("group_is_new"),
                        "title": r.get("title"),
                        "bug_class": r.get("bug_class"),
                        "rust_prevents": r.get("rust_prevents"),
                        "joined_report_id": r.get("joined_report_id"),
                        "joined_as": r.get("joined_as"),
                    }
                ),
                flush=True,
            )
        else:
            _print_outcome(entry, out)
    now = time.time()
    later = [e for e in waiting if all(e is not d for d, _ in done)]
    if later and not as_json:
        soonest = min(e.next_attempt for e in later) - now
        print(
            f"{len(later)} earlier report(s) wait in the spool; next attempt in "
            f"{max(0, int(soonest))} s (or now with --retry-now)"
        )
    if rejected:
        return 1
    return EXIT_TEMPFAIL if waiting else 0


def _print_outcome(entry: Entry, out: Outcome) -> None:
    r = out.result
    if out.status in ("stored", "duplicate"):
        what = "stored as a new report" if out.status == "stored" else "already stored"
        if r.get("joined_report_id") is not None:
            what = (
                "joined with the stored crash: the report now keeps this fuller log"
                if r.get("joined_as") == "fuller"
                else "joined with the stored crash (a piece of its log)"
            )
        print(f"{entry.name}: {what} (report {r.get('report_id')})")
        print(f"  title:  {r.get('title')}")
        print(
            f"  class:  {r.get('bug_class') or '-'}; safe Rust prevents: "
            f"{r.get('rust_prevents') or '-'}"
        )
        if r.get("group_id") is not None:
            new = " (a new group)" if r.get("group_is_new") else " (a known crash)"
            print(f"  group:  {r.get('group_id')}{new}  {out.group_page or ''}".rstrip())
        print(f"  page:   {out.page}")
    elif out.status == "accepted":
        print(f"{entry.name}: accepted by the server; analysis pending")
        if out.page:
            print(f"  status: {out.page}")
    elif out.status == "rejected":
        code = f"HTTP {out.http_status}: " if out.http_status else ""
        print(f"kpanic: {entry.name}: refused by the server: {code}{out.reason}", file=sys.stderr)
    else:
        print(
            f"kpanic: {entry.name}: not sent ({out.reason}); kept in the spool for the next run",
            file=sys.stderr,
        )


# ----------------------------------------------------------------------------- collect


def _collect(args: argparse.Namespace) -> int:
    from kpanic.client import sources
    from kpanic.client.files import locked
    from kpanic.client.state import State

    cfg = _config(args)
    root = args.root
    if not root.is_dir():
        what = "not a directory" if root.exists() else "no such directory"
        raise KpanicError(f"--root {root}: {what}")
    since_text: str | None = args.since or cfg.since
    since = sources.parse_since(since_text) if since_text else None
    send = args.send or cfg.send
    if send and args.dismiss:
        raise KpanicError("--send and --dismiss exclude each other")
    sender = _sender(cfg, args) if send else None
    sdir = _state_dir(cfg)
    with locked(sdir):
        state = State.load(sdir)
        found = sources.collect(root, cfg, since=since, known=None if args.all else state.known)
        prepared = [_prepared(c, cfg.scrub) for c in found.crashes]
        if args.json:
            _collect_json(found, prepared)
        elif args.show:
            _collect_show(found, prepared)
        else:
            _collect_list(found, prepared, send=send, dismiss=args.dismiss)
        if args.dismiss:
            for crash, _text, _counts in prepared:
                state.mark(sources.crash_key(crash), "dismissed")
            state.save()
            return 0
        if sender is None:
            return 0
        try:
            return _collect_send(prepared, sender, sdir, state, args)
        finally:
            sender.close()


def _prepared(crash: Any, scrub: bool) -> tuple[Any, str, dict[str, int]]:
    from kpanic.client.pipeline import scrub as scrub_text

    if not scrub:
        return crash, crash.text, {}
    s = scrub_text(crash.text)
    return crash, s.text, s.counts


def _collect_send(
    prepared: list[tuple[Any, str, dict[str, int]]],
    sender: Sender,
    sdir: Path,
    state: State,
    args: argparse.Namespace,
) -> int:
    from kpanic.client import sources
    from kpanic.client.pipeline import content_key
    from kpanic.client.spool import Entry, Spool

    spool = Spool(sdir)
    spool.prepare()
    keys: set[str] = set()
    for crash, text, _counts in prepared:
        key = content_key(text)
        name = f"{crash.source} crash" + (f" of {crash.time:%Y-%m-%d %H:%M}" if crash.time else "")
        spool.put(
            Entry(key=key, kind="log", body=text, name=name, state_key=sources.crash_key(crash))
        )
        state.mark(sources.crash_key(crash), "spooled", source=crash.source, title=crash.title)
        state.save()
        keys.add(key)
    done, waiting = deliver(spool, sender, state, retry_now=args.retry_now, only=keys)
    return _print_outcomes(done, waiting, as_json=args.json)


def _collect_json(found: Any, prepared: list[tuple[Any, str, dict[str, int]]]) -> None:
    from kpanic.client import sources

    out = {
        "crashes": [
            {**c.to_dict(), "key": sources.crash_key(c), "scrubbed": counts, "text": text}
            for c, text, counts in prepared
        ],
        "sources": [s.to_dict() for s in found.statuses],
        "already_known": found.already_known,
        "too_old": found.too_old,
        "no_crash": found.no_crash,
    }
    print(json.dumps(out, ensure_ascii=False))


def _status_lines(found: Any) -> list[str]:
    lines = []
    for s in found.statuses:
        extra = f": {s.detail}" if s.detail else ""
        count = ""
        if s.status == "ok":
            count = f" ({s.crashes} crash(es))" if s.crashes else " (nothing found)"
        lines.append(f"  {s.source:<15} {s.status:<10} {s.where}{count}{extra}")
    return lines


def _summary(found: Any) -> str:
    bits = [f"{len(found.crashes)} new crash(es)"]
    if found.already_known:
        bits.append(f"{found.already_known} already handled (--all shows them)")
    if found.too_old:
        bits.append(f"{found.too_old} before --since")
    if found.no_crash:
        bits.append(f"{found.no_crash} record(s) without a crash (console logs, shutdowns)")
    return ", ".join(bits)


def _collect_list(
    found: Any, prepared: list[tuple[Any, str, dict[str, int]]], *, send: bool, dismiss: bool
) -> None:
    print(_summary(found))
    for i, (c, text, counts) in enumerate(prepared, 1):
        when = c.time.strftime("%Y-%m-%d %H:%M") if c.time else "time unknown"
        size = len(text.encode("utf-8", "surrogatepass"))
        print(f"{i}. [{c.source}] {when}  {c.title}")
        print(
            f"   {size} bytes"
            + (f", {c.parts} pstore parts joined" if c.parts > 1 else "")
            + (f", kernel {c.kernel}" if c.kernel else "")
        )
        print(f"   from {', '.join(c.origin[:3])}" + (" ..." if len(c.origin) > 3 else ""))
        if counts:
            print("   scrubbed: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
        for note in c.notes:
            print(f"   note: {note}")
    lines = _status_lines(found)
    if lines:
        print("sources:")
        print("\n".join(lines))
    if prepared and not send and not dismiss:
        print(
            "nothing was sent. Preview: kpanic collect --show; send: kpanic collect --send "
            "--server URL; never offer these again: kpanic collect --dismiss"
        )


def _collect_show(found: Any, prepared: list[tuple[Any, str, dict[str, int]]]) -> None:
    from kpanic.client.pipeline import PLACEHOLDERS

    tty = sys.stdout.isatty()
    print(_summary(found))
    for i, (c, text, counts) in enumerate(prepared, 1):
        removed = ", ".join(f"{n} {k}" for k, n in counts.items()) or "nothing"
        print(f"===== crash {i} of {len(prepared)}: [{c.source}] {c.title}")
        print(f"===== removed before sending: {removed} (marked {' '.join(PLACEHOLDERS)})")
        body = text
        if tty:
            for ph in PLACEHOLDERS:
                body = body.replace(ph, f"\x1b[7m{ph}\x1b[0m")
        sys.stdout.write(body if body.endswith("\n") else body + "\n")
        print(f"===== end of crash {i}")


# ----------------------------------------------------------------------------- submit


def _entries_for(args: argparse.Namespace, scrub: bool) -> list[Entry]:
    import hashlib

    from kpanic.cli.inputs import is_image, looks_like_url, read_bytes
    from kpanic.client.pipeline import content_key
    from kpanic.client.pipeline import scrub as scrub_text
    from kpanic.client.spool import Entry

    entries: list[Entry] = []

    def log_entry(text: str, name: str) -> Entry:
        if scrub:
            text = scrub_text(text).text
        return Entry(key=content_key(text), kind="log", body=text, name=name)

    def url_entry(url: str, name: str) -> Entry:
        url = url.strip()
        return Entry(key=hashlib.sha256(url.encode()).hexdigest(), kind="url", body=url, name=name)

    def photo_entry(data: bytes, name: str) -> Entry:
        return Entry(
            key=hashlib.sha256(data).hexdigest(),
            kind="photo",
            body=Entry.photo_body(data),
            name=name,
        )

    for u in args.url:
        entries.append(url_entry(u, u[:60]))
    for p in args.photo:
        data = read_bytes(p, MAX_SUBMIT_BYTES)
        if not is_image(data[:16]):
            raise KpanicError(f"{p}: not an image (JPEG, PNG, HEIC, ...)")
        entries.append(photo_entry(data, p))
    for item in args.inputs:
        if item != "-" and looks_like_url(item):
            entries.append(url_entry(item, item[:60]))
            continue
        data = read_bytes(item, MAX_SUBMIT_BYTES)
        name = "standard input" if item == "-" else item
        if is_image(data[:16]):
            entries.append(photo_entry(data, name))
            continue
        text = data.decode("utf-8", "replace")
        stripped = text.strip()
        if stripped.startswith(("http://", "https://")) and "\n" not in stripped:
            entries.append(url_entry(stripped, name))
            continue
        collected = _collect_output(stripped)
        if collected is not None:
            for i, (crash, state_key) in enumerate(collected, 1):
                entry = log_entry(crash, f"{name} crash {i}")
                entry.state_key = state_key  # sent this way, collect will not offer it again
                entries.append(entry)
            continue
        entries.append(log_entry(text, name))
    return entries


def _collect_output(text: str) -> list[tuple[str, str | None]] | None:
    """(text, state key) of each crash in ``kpanic collect --json`` output, or None for
    anything else."""
    if not text.startswith("{"):
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    crashes = doc.get("crashes") if isinstance(doc, dict) else None
    if not isinstance(crashes, list):
        return None
    return [
        (c["text"], c["key"] if isinstance(c.get("key"), str) else None)
        for c in crashes
        if isinstance(c, dict) and isinstance(c.get("text"), str)
    ]


def _submit(args: argparse.Namespace) -> int:
    from kpanic.client.files import locked
    from kpanic.client.spool import Spool
    from kpanic.client.state import State

    cfg = _config(args)
    entries = _entries_for(args, cfg.scrub)
    sender = _sender(cfg, args)
    sdir = _state_dir(cfg)
    try:
        with locked(sdir):
            spool = Spool(sdir)
            spool.prepare()
            for e in entries:
                spool.put(e)
            done, waiting = deliver(
                spool,
                sender,
                State.load(sdir),
                retry_now=args.retry_now,
                only={e.key for e in entries},
            )
            if not entries and not done and not waiting and not args.json:
                print("nothing to send: the spool is empty")
            return _print_outcomes(done, waiting, as_json=args.json)
    finally:
        sender.close()
