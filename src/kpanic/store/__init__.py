"""Crash report store: SQLAlchemy models, Alembic migrations, ingest pipeline, repository.

Entry points: :class:`kpanic.store.repository.Repository` and
:func:`kpanic.store.db.upgrade`. Submodules are imported on demand (no heavy imports here).
"""
