"""The app uvicorn loads in each worker process: settings from the environment."""

from __future__ import annotations

from fastapi import FastAPI

from datafair.api.app import create_app
from datafair.settings import load_settings


def app_from_environment() -> FastAPI:
    """``create_app`` over ``DATAFAIR_*`` settings (``datafair serve`` sets ``DATAFAIR_HOME``)."""
    return create_app(load_settings(), server_process=True)
