"""ASGI entry point for uvicorn (``kpanic serve``), configured from the environment.

``uvicorn kpanic.web.asgi:create_app_from_env --factory`` also works directly; the database comes
from KPANIC_DATABASE_URL (or the default SQLite file), the limits from KPANIC_* variables.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from kpanic.settings import get_settings
from kpanic.web.app import create_app
from kpanic.web.config import WebConfig


def create_app_from_env() -> FastAPI:
    """One app per server process; migrations run unless the parent already did them."""
    migrate = os.environ.get("KPANIC_WEB_SKIP_MIGRATE") != "1"
    return create_app(get_settings(), WebConfig.from_env(), migrate=migrate)
