"""`datafair serve`: the marketplace over HTTP (FastAPI under uvicorn).

SQLite serves with one worker (one writer at a time; several processes would only queue on its
lock). With PostgreSQL (``DATAFAIR_DATABASE_URL``) ``--workers N`` starts N processes on one
database. The database is migrated once, before the workers start. Ctrl-C or SIGTERM stops
accepting connections and lets in-flight requests finish (up to ``--grace`` seconds).
The access log is one JSON object per request on stdout.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from datafair.cli.common import HOME_OPTION, console, settings_for
from datafair.core.errors import InvalidInput

APP_FACTORY = "datafair.api.server:app_from_environment"


def logging_config(level: str) -> dict[str, object]:
    """uvicorn's logging: our JSON access lines and uvicorn's errors, on stdout/stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(message)s"},
            "server": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        },
        "handlers": {
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "stream": "ext://sys.stdout",
            },
            "server": {
                "class": "logging.StreamHandler",
                "formatter": "server",
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            "datafair.access": {"handlers": ["access"], "level": level.upper(), "propagate": False},
            "datafair": {"handlers": ["server"], "level": level.upper(), "propagate": False},
            "uvicorn": {"handlers": ["server"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
        },
    }


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port."),
    workers: int = typer.Option(
        1, "--workers", min=1, max=64, help="Worker processes (more than 1 needs PostgreSQL)."
    ),
    grace: int = typer.Option(
        30, "--grace", min=1, help="Seconds in-flight requests get to finish at shutdown."
    ),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Serve the marketplace API (/api/v1), its docs (/docs) and the chain (/rpc)."""
    import uvicorn

    from datafair.store.db import Database

    if log_level.lower() not in ("debug", "info", "warning", "error"):
        raise InvalidInput("--log-level", f"{log_level!r} is not a level", "use info or debug")
    settings = settings_for(home)
    database = Database.open(settings)  # migrate once, before any worker starts
    dialect = database.dialect
    database.dispose()
    if workers > 1 and dialect == "sqlite":
        raise InvalidInput(
            "--workers",
            "SQLite serves from one worker",
            "set DATAFAIR_DATABASE_URL to a PostgreSQL database to run several",
        )
    # the workers (separate processes) read their settings from the environment
    os.environ["DATAFAIR_HOME"] = str(settings.home.resolve())
    console.print(
        f"datafair serving http://{host}:{port}/docs ({dialect}, {workers} worker"
        f"{'s' if workers > 1 else ''}, home {settings.home})"
    )
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=logging_config(log_level),
        timeout_graceful_shutdown=grace,
        # a worker imports the whole stack before it answers the supervisor's first ping
        timeout_worker_healthcheck=60,
        proxy_headers=False,
    )
