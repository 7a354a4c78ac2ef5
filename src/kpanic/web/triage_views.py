"""What the triage routes show: the group page's triage panel, the "copy as mail" text, the
JSON form of a group's triage, and the Atom entries of a groups list."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request
from sqlalchemy import select

from kpanic.store.db import read_session
from kpanic.store.triage import TriageInfo, possible_duplicates, triage_info
from kpanic.store.triage_models import GroupSubsystem
from kpanic.triage.feed import FeedGroup
from kpanic.triage.lifecycle import STATUSES
from kpanic.triage.settings import TriageSettings

if TYPE_CHECKING:
    from kpanic.store.views import GroupDetail, GroupSummary

__all__ = [
    "SubsystemView",
    "feed_entries",
    "mail_text",
    "panel_context",
    "settings_of",
    "triage_json",
]


def settings_of(request: Request) -> TriageSettings:
    """The app's triage settings (read from the environment once per app)."""
    state = request.app.state
    found = getattr(state, "triage_settings", None)
    if found is None:
        found = TriageSettings.from_env()
        state.triage_settings = found
    return found  # type: ignore[no-any-return]


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@dataclass(frozen=True)
class SubsystemView:
    name: str
    reason: str
    status: str | None = None
    maintainers: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    lists: tuple[str, ...] = ()
    trees: tuple[str, ...] = ()


def _subsystems(request: Request, s: Any, group_id: int) -> list[SubsystemView]:
    rows = s.execute(
        select(GroupSubsystem.subsystem, GroupSubsystem.reason)
        .where(GroupSubsystem.group_id == group_id)
        .order_by(GroupSubsystem.rank, GroupSubsystem.subsystem)
    ).all()
    try:
        m = settings_of(request).maintainers()
    except Exception:  # a MAINTAINERS file that went missing: names only, never a 500
        m = None
    out = []
    for name, reason in rows:
        sub = m.by_name(name) if m is not None else None
        if sub is None:
            out.append(SubsystemView(name, reason))
        else:
            out.append(
                SubsystemView(
                    name, reason, sub.status, sub.maintainers, sub.reviewers, sub.lists, sub.trees
                )
            )
    return out


def _fix_subject(info: TriageInfo) -> str | None:
    """The subject of the fix commit, from a commit link whose URL names the commit."""
    commit = (info.state.fix_commit or "").split()[0] if info.state.fix_commit else ""
    commits = [x for x in info.links if x.kind == "commit" and x.title]
    if commit:
        for x in commits:
            if commit.lower()[:12] in x.url.lower():
                return x.title
    return commits[0].title if commits and commit else None


def _gather(request: Request, group_id: int) -> dict[str, Any]:
    repo = request.app.state.repo
    with read_session(repo.engine) as s:
        info = triage_info(s, group_id)
        dups = possible_duplicates(s, group_id)
        subs = _subsystems(request, s, group_id)
    return {"info": info, "dups": dups, "subsystems": subs, "fix_subject": _fix_subject(info)}


def panel_context(request: Request, group_id: int) -> dict[str, Any]:
    """Context of templates/_triage.html (``triage`` key) for the group page."""
    data = _gather(request, group_id)
    return {"triage": {**data, "statuses": STATUSES}}


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def triage_json(request: Request, group_id: int) -> dict[str, Any]:
    data = _gather(request, group_id)
    info: TriageInfo = data["info"]
    st = info.state
    return {
        "group_id": group_id,
        "status": st.status,
        "fix_commit": st.fix_commit,
        "fix_commit_subject": data["fix_subject"],
        "fix_release": st.fix_release,
        "invalid_reason": st.invalid_reason,
        "duplicate_of": st.duplicate_of,
        "regressed": st.regressed,
        "regressed_at": _plain(info.regressed_at),
        "assignee": info.assignee,
        "before_fix": info.before_fix,
        "unplaced": info.unplaced,
        "subsystems": _plain(data["subsystems"]),
        "history": _plain(list(info.history)),
        "links": _plain(list(info.links)),
        "possible_duplicates": [{"id": i, "title": t} for i, t in data["dups"]],
    }


def _frame_line(f: dict[str, Any]) -> str:
    text = f" {'? ' if f.get('unreliable') else ''}{f.get('function') or '?'}"
    if f.get("offset") is not None:
        text += f"+0x{int(f['offset']):x}"
        if f.get("size") is not None:
            text += f"/0x{int(f['size']):x}"
    if f.get("module"):
        text += f" [{f['module']}]"
    if f.get("file"):
        text += f" {f['file']}" + (f":{f['line']}" if f.get("line") else "")
    if f.get("inline"):
        text += " [inline]"
    return text


def _when(t: dt.datetime) -> str:
    t = t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _status_line(info: TriageInfo) -> str:
    st = info.state
    if st.status == "fixed":
        parts = [
            p
            for p in (
                st.fix_release and f"release {st.fix_release}",
                st.fix_commit and f"commit {st.fix_commit}",
            )
            if p
        ]
        line = "fixed in " + " and ".join(parts)
        if info.before_fix:
            line += f" ({info.before_fix} crashes since on older releases)"
        return line
    if st.status == "invalid":
        return f"invalid: {st.invalid_reason}"
    if st.status == "duplicate":
        return f"duplicate of group {st.duplicate_of}"
    return "open, REGRESSED (crashed again after the fix)" if st.regressed else "open"


def mail_text(request: Request, detail: GroupDetail) -> str:
    """The text a maintainer pastes into a bug report or a mail, in the shape syzbot's
    reports have: who it goes to, the facts block, the crash's frames, links, the URL."""
    g: GroupSummary = detail.group
    data = _gather(request, g.id)
    info: TriageInfo = data["info"]
    subs: list[SubsystemView] = data["subsystems"]
    url = f"{base_url(request)}/groups/{g.id}"
    rep = detail.representative
    parse = rep.parse if rep else None
    reports = (parse or {}).get("reports") or []
    crash = reports[0] if reports and isinstance(reports[0], dict) else {}
    to = [m for s in subs for m in s.maintainers]
    cc = [x for s in subs for x in (*s.reviewers, *s.lists)]
    lines: list[str] = []
    if to:
        lines.append("To: " + ", ".join(dict.fromkeys(to)))
    if cc:
        lines.append("Cc: " + ", ".join(dict.fromkeys(cc)))
    lines += [
        f"Subject: [kpanic] {g.title}",
        "",
        "Hello,",
        "",
        "kpanic collected the following crash:",
        "",
    ]
    kernel = crash.get("kernel") or (rep.summary.kernel if rep else None)
    releases = ", ".join(f"{k.value} ({k.count})" for k in detail.kernels[:10])
    facts = [
        ("title", g.title),
        ("kernel release", kernel or "unknown"),
        ("seen on", releases or "unknown"),
        ("arch", crash.get("arch") or (rep.summary.arch if rep else None) or "unknown"),
        ("crashes", f"{g.report_count} (first {_when(g.first_seen)}, last {_when(g.last_seen)})"),
        ("status", _status_line(info)),
    ]
    if g.bug_class:
        facts.append(("bug class", g.bug_class))
    if subs:
        facts.append(("subsystems", ", ".join(s.name for s in subs)))
    if crash.get("guilty_frame"):
        where = crash.get("guilty_file")
        facts.append(("guilty frame", crash["guilty_frame"] + (f" ({where})" if where else "")))
    facts.append(("dashboard link", url))
    width = max(len(k) for k, _ in facts) + 2
    lines += [f"{k + ':':<{width}}{v}" for k, v in facts]
    lines += ["", g.title]
    frames = [f for f in crash.get("frames") or [] if isinstance(f, dict)]
    if frames:
        lines.append("Call Trace:")
        lines += [_frame_line(f) for f in frames[:40]]
        if len(frames) > 40:
            lines.append(f" ... {len(frames) - 40} more frames")
    else:
        lines.append("(no stack frames were found in the report)")
    if info.links:
        lines += ["", "Links:"]
        lines += [f"  {x.kind}: {x.url}" + (f" ({x.title})" if x.title else "") for x in info.links]
    lines += [
        "",
        "---",
        "This report was generated by kpanic.",
        f"The crash group, its reports and its status are at {url}",
        "",
    ]
    return "\n".join(lines)


def feed_entries(request: Request, items: list[GroupSummary]) -> list[FeedGroup]:
    from kpanic.store import triage_list

    repo = request.app.state.repo
    with read_session(repo.engine) as s:
        marks = triage_list.badges(s, [g.id for g in items])
    out = []
    for g in items:
        b = marks.get(g.id)
        status = "regressed" if b and b.regressed else (b.status if b else "open")
        parts = [g.bug_class or "unknown class", f"{g.report_count} reports", f"status {status}"]
        if g.kernels:
            parts.append("kernels " + ", ".join(g.kernels[:5]))
        if b and b.subsystems:
            parts.append("subsystems " + ", ".join(b.subsystems))
        out.append(
            FeedGroup(
                group_id=g.id,
                title=g.title,
                url=f"{base_url(request)}/groups/{g.id}",
                last_seen=g.last_seen,
                first_seen=g.first_seen,
                summary="; ".join(parts),
            )
        )
    return out
