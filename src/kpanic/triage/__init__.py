"""Triage: what maintainers do with crash groups, as database-free rules.

- ``kver``: kernel release strings parsed and ordered (``6.15.0-rc3 < 6.15.0 < 6.15.1``).
- ``lifecycle``: open / fixed / invalid / duplicate, the audit record of a change, and what a
  new crash does to a fixed group (regression or "before the fix").
- ``maintainers``: subsystems and maintainers of a crash from a kernel MAINTAINERS file.
- ``rules``: notification rules, events and digests (one delivery per rule per interval).
- ``deliver``: signed webhooks, SMTP mail, the retry schedule of the outbox.
- ``feed``: Atom feeds of a filtered groups list.

The store keeps the state these functions compute; nothing here touches a database.
"""
