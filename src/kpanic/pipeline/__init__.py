"""The database-free half of intake: what a submission is and how it becomes a report.

Read top to bottom, one submission's way through the service:

1. ``submission``: the edge (``kpanic.web.intake``) turns a request into a frozen
   :class:`Submission` (kind, data, origin). Invalid text is made valid here (lone surrogates
   replaced, as the log reader replaces undecodable bytes).
2. ``kpanic.store.queue``: the raw submission is stored (the acknowledgement, 202).
3. ``stages``: a worker (``kpanic.worker``) runs the named stages on each claimed submission:
   ``decode`` (URL / photo / log bytes to kernel log text, content limits),
   ``analyse`` (scrub, parse, classify: a ``PreparedReport``).
4. ``kpanic.store.repository.Repository.store_many``: duplicate lookup and grouping, one
   transaction per batch; the queue row is marked done with the report.
5. ``result``: :class:`SubmitResult` describes the outcome for the API and the pages.

``errors`` maps every processing failure to the HTTP status and message the client sees; the
web app and the workers use the same table.
"""
