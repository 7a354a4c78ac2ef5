"""Triage commands, against the database directly (like ``kpanic group merge``):

- ``kpanic group status ID fixed --release 6.15.3 --commit SHA --why ...`` (also ``open``,
  ``invalid --reason``, ``duplicate --of ID``), ``kpanic group assign ID NAME``,
  ``kpanic group link ID URL [--title]``, ``kpanic group show ID``;
- ``kpanic owners refresh --maintainers FILE`` (default ``$KPANIC_MAINTAINERS``);
- ``kpanic rule add|list|rm``;
- ``kpanic notify run [--once] [--interval 60]``: the dispatcher (plan pending events into
  the outbox, send due messages, retry with backoff). SMTP from ``KPANIC_SMTP_*``.

The acting user of a change is ``--who`` (default ``$KPANIC_USER``, else the login name).
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import os
import signal
import threading
from pathlib import Path
from typing import Any

from kpanic.errors import KpanicError
from kpanic.triage.rules import EVENT_KINDS


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="database URL (default: $KPANIC_DATABASE_URL or SQLite)",
    )


def _add_who(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--who", default=None, help="who makes the change (default: $KPANIC_USER or the login name)"
    )


def _subcommands(
    sub: argparse._SubParsersAction[Any], name: str, help_text: str, dest: str
) -> argparse._SubParsersAction[Any]:
    """The sub-commands of ``kpanic NAME``, created or (for ``group``) extended."""
    parser = sub.choices.get(name)
    if parser is None:
        parser = sub.add_parser(name, help=help_text)
        return parser.add_subparsers(dest=dest, metavar="ACTION", required=True)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(dest=dest, metavar="ACTION", required=True)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    grp = _subcommands(sub, "group", "crash groups", "group_command")
    p = grp.add_parser("status", help="set a group's status (open, fixed, invalid, duplicate)")
    p.add_argument("group_id", type=int, help="the group's id")
    p.add_argument(
        "status", choices=("open", "fixed", "invalid", "duplicate"), help="the new status"
    )
    p.add_argument("--release", help="fixed: the first kernel release with the fix")
    p.add_argument("--commit", help="fixed: the fix commit")
    p.add_argument("--reason", help="invalid: why")
    p.add_argument("--of", dest="duplicate_of", type=int, help="duplicate: the other group")
    p.add_argument("--why", default="", help="recorded in the audit trail")
    _add_who(p)
    _add_db(p)
    p.set_defaults(handler=_group_status)
    p = grp.add_parser("assign", help="assign a group to NAME ('' to unassign)")
    p.add_argument("group_id", type=int, help="the group's id")
    p.add_argument("assignee", help="the person (a token name); '' to unassign")
    p.add_argument("--why", default="", help="why (kept in the audit trail)")
    _add_who(p)
    _add_db(p)
    p.set_defaults(handler=_group_assign)
    p = grp.add_parser("link", help="add a tracker, lore or commit link to a group")
    p.add_argument("group_id", type=int, help="the group's id")
    p.add_argument("url", help="a Bugzilla, GitLab/GitHub issue, lore thread or commit URL")
    p.add_argument("--title", default="", help="e.g. the fix commit's subject")
    _add_who(p)
    _add_db(p)
    p.set_defaults(handler=_group_link)
    p = grp.add_parser("show", help="a group's triage: status, owners, links, history")
    p.add_argument("group_id", type=int, help="the group's id")
    _add_db(p)
    p.set_defaults(handler=_group_show)

    own = _subcommands(
        sub, "owners", "subsystems of groups from a MAINTAINERS file", "owners_command"
    )
    p = own.add_parser("refresh", help="recompute every group's subsystems")
    p.add_argument(
        "--maintainers",
        type=Path,
        default=None,
        help="the kernel MAINTAINERS file (default: $KPANIC_MAINTAINERS)",
    )
    _add_db(p)
    p.set_defaults(handler=_owners_refresh)

    rule = _subcommands(sub, "rule", "notification rules: add, list, rm", "rule_command")
    p = rule.add_parser("add", help="add a webhook or e-mail rule")
    p.add_argument("channel", choices=("webhook", "email"), help="how the rule delivers")
    p.add_argument("target", help="webhook URL or mail address")
    p.add_argument("--name", default="", help="a name for the rule")
    p.add_argument(
        "--secret-file",
        type=Path,
        help="webhook: file holding the HMAC secret (at least 16 characters)",
    )
    p.add_argument(
        "--events",
        default=",".join(EVENT_KINDS),
        help=f"comma list of {', '.join(EVENT_KINDS)} (default: all)",
    )
    p.add_argument("--subsystem", help="only groups of this MAINTAINERS subsystem")
    p.add_argument("--class", dest="bug_class", help="only groups of this bug class")
    p.add_argument("--language", help="only groups whose faulting code is c or rust")
    p.add_argument("--kernel", dest="kernel_prefix", help="kernel release prefix, e.g. 6.12")
    p.add_argument(
        "--threshold",
        type=int,
        default=0,
        help="escalation: crashes within --window (0: no escalation events)",
    )
    p.add_argument("--window", type=int, default=3600, help="escalation window in seconds")
    _add_who(p)
    _add_db(p)
    p.set_defaults(handler=_rule_add)
    p = rule.add_parser("list", help="list rules (secrets are never shown)")
    _add_db(p)
    p.set_defaults(handler=_rule_list)
    p = rule.add_parser("rm", help="delete a rule with its outbox and delivery log")
    p.add_argument("rule_id", type=int, help="the rule's id (kpanic rule list)")
    _add_db(p)
    p.set_defaults(handler=_rule_rm)

    notify = _subcommands(sub, "notify", "the notification dispatcher", "notify_command")
    p = notify.add_parser("run", help="send notifications every --interval seconds")
    p.add_argument("--once", action="store_true", help="one round, then exit")
    p.add_argument(
        "--interval",
        type=int,
        default=None,
        help="seconds between rounds: the digest interval (default: $KPANIC_NOTIFY_INTERVAL or 60)",
    )
    p.add_argument(
        "--base-url",
        default=None,
        help="the service's public URL for links (default: $KPANIC_BASE_URL)",
    )
    p.add_argument(
        "--maintainers",
        type=Path,
        default=None,
        help="give new groups owners before planning (default: $KPANIC_MAINTAINERS)",
    )
    _add_db(p)
    p.set_defaults(handler=_notify_run)


def _repo(args: argparse.Namespace) -> Any:
    from kpanic.store.repository import open_repository

    return open_repository(args.db)


def _who(args: argparse.Namespace) -> str:
    if args.who:
        return str(args.who)
    env = os.environ.get("KPANIC_USER", "").strip()
    if env:
        return env
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without passwd entry)
        return "cli"


def _group_status(args: argparse.Namespace) -> int:
    from kpanic.store.triage import change_status
    from kpanic.triage.lifecycle import LifecycleError

    with _repo(args) as repo:
        try:
            change = change_status(
                repo,
                args.group_id,
                args.status,
                who=_who(args),
                why=args.why,
                commit=args.commit,
                release=args.release,
                reason=args.reason,
                duplicate_of=args.duplicate_of,
            )
        except LifecycleError as exc:
            raise KpanicError(str(exc)) from None
    print(f"group {args.group_id}: {change.summary()}")
    return 0


def _group_assign(args: argparse.Namespace) -> int:
    from kpanic.store.triage import assign

    with _repo(args) as repo:
        assign(repo, args.group_id, args.assignee, who=_who(args), why=args.why)
    name = args.assignee.strip()
    print(f"group {args.group_id}: " + (f"assigned to {name}" if name else "unassigned"))
    return 0


def _group_link(args: argparse.Namespace) -> int:
    from kpanic.store.triage import add_link, link_kind

    with _repo(args) as repo:
        link_id = add_link(repo, args.group_id, args.url, who=_who(args), title=args.title)
    print(f"group {args.group_id}: {link_kind(args.url.strip())} link {link_id} added")
    return 0


def _group_show(args: argparse.Namespace) -> int:
    from kpanic.store.db import read_session
    from kpanic.store.triage import triage_info

    with _repo(args) as repo, read_session(repo.engine) as s:
        info = triage_info(s, args.group_id)
    st = info.state
    print(f"group {args.group_id}: {st.status}" + (" (regressed)" if st.regressed else ""))
    if st.fix_release or st.fix_commit:
        print(f"  fixed in: release {st.fix_release or '-'}, commit {st.fix_commit or '-'}")
    if info.before_fix or info.unplaced:
        print(f"  since the fix: {info.before_fix} on older releases, {info.unplaced} unplaced")
    print(f"  assignee: {info.assignee or '-'}")
    print(f"  subsystems: {', '.join(info.subsystems) or '-'}")
    for x in info.links:
        print(f"  link {x.id} [{x.kind}] {x.url}" + (f" ({x.title})" if x.title else ""))
    for h in info.history:
        print(f"  {h.at:%Y-%m-%d %H:%M} {h.who}: {h.summary}" + (f" - {h.why}" if h.why else ""))
    return 0


def _maintainers(path: Path | None) -> Any:
    from kpanic.triage.settings import TriageSettings, maintainers_at

    if path is not None:
        return maintainers_at(path)
    return TriageSettings.from_env().maintainers()


def _owners_refresh(args: argparse.Namespace) -> int:
    from kpanic.store.triage import assign_owners

    m = _maintainers(args.maintainers)
    if m is None:
        raise KpanicError("give --maintainers FILE or set KPANIC_MAINTAINERS")
    with _repo(args) as repo:
        owned = assign_owners(repo, m)
    print(f"{owned} groups have owners ({len(m.subsystems)} subsystems in the file)")
    return 0


def _rule_add(args: argparse.Namespace) -> int:
    from kpanic.store.db import write_session
    from kpanic.store.triage import create_rule

    secret = None
    if args.secret_file is not None:
        try:
            secret = args.secret_file.read_text().strip()
        except OSError as exc:
            raise KpanicError(f"cannot read {args.secret_file}: {exc.strerror}") from None
    events = [e.strip() for e in args.events.split(",") if e.strip()]
    with _repo(args) as repo, write_session(repo.engine) as s:
        row = create_rule(
            s,
            name=args.name,
            channel=args.channel,
            target=args.target,
            who=_who(args),
            events=events,
            subsystem=args.subsystem,
            bug_class=args.bug_class,
            language=args.language,
            kernel_prefix=args.kernel_prefix,
            threshold=args.threshold,
            window_s=args.window,
            secret=secret,
        )
        rule_id, name = row.id, row.name
    print(f"rule {rule_id} added: {name}")
    return 0


def _rule_list(args: argparse.Namespace) -> int:
    from kpanic.store.db import read_session
    from kpanic.store.triage import list_rules

    with _repo(args) as repo, read_session(repo.engine) as s:
        rules = list_rules(s)
    for r in rules:
        scope = [
            f"{k}={v}"
            for k, v in (
                ("subsystem", r.subsystem),
                ("class", r.bug_class),
                ("language", r.language),
                ("kernel", r.kernel_prefix),
            )
            if v
        ]
        if r.threshold:
            scope.append(f"threshold={r.threshold}/{r.window_s}s")
        print(
            f"{r.id}\t{r.name}\t{r.channel} {r.target}\t{','.join(r.events)}\t"
            f"{' '.join(scope) or 'all groups'}" + ("" if r.enabled else "\t(disabled)")
        )
    if not rules:
        print("no rules")
    return 0


def _rule_rm(args: argparse.Namespace) -> int:
    from kpanic.store.db import write_session
    from kpanic.store.triage import delete_rule

    with _repo(args) as repo, write_session(repo.engine) as s:
        delete_rule(s, args.rule_id)
    print(f"rule {args.rule_id} deleted")
    return 0


def _notify_run(args: argparse.Namespace) -> int:
    from kpanic.store.dispatcher import run_loop
    from kpanic.triage.settings import TriageSettings

    settings = TriageSettings.from_env()
    interval = args.interval if args.interval is not None else settings.notify_interval
    if interval < 1:
        raise KpanicError("--interval must be at least 1 second")
    if args.base_url:
        settings = dataclasses.replace(settings, base_url=args.base_url)
    maintainers = _maintainers(args.maintainers)
    stop = threading.Event()

    def on_signal(*_: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with _repo(args) as repo:
        run_loop(
            repo,
            settings,
            stop,
            interval=interval,
            once=args.once,
            maintainers=maintainers,
            report=lambda r: print(r.line(), flush=True),
        )
    return 0
