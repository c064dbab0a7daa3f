"""The ASGI entry point for uvicorn or gunicorn workers: settings from the environment."""

import os

from starlette.applications import Starlette

from server.app import create_app
from server.settings import Settings


def app_from_environment() -> Starlette:
    """``uvicorn --factory server.asgi:app_from_environment``."""
    return create_app(Settings.from_env(os.environ))
