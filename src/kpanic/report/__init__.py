"""Kernel crash report parser: console logs, dmesg, pstore and decoded QR text -> CrashReport.

``parse(log)`` finds every crash in a log with syzkaller-compatible titles, types, alternative
titles and corruption verdicts, plus frames, guilty frame/file, language and metadata;
``contains_crash(log)`` answers the yes/no question cheaply.
"""

from kpanic.report.model import CrashReport, Frame, ParseResult
from kpanic.report.parser import DEFAULT_MAX_BYTES, NO_CRASH_TITLE, contains_crash, parse

#: Version of the parser's output (titles, frames, spans); bump it with a dated string whenever
#: a change moves any parse result, so stored reports say which parser produced them.
PARSER_VERSION = "2026-12-04"

__all__ = [
    "DEFAULT_MAX_BYTES",
    "NO_CRASH_TITLE",
    "PARSER_VERSION",
    "CrashReport",
    "Frame",
    "ParseResult",
    "contains_crash",
    "parse",
]
