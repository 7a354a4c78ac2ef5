"""Worker tests run against SQLite and PostgreSQL (the web tests' database fixtures)."""

from tests.web.conftest import db_url, pg_url  # noqa: F401
