"""Shared CLI helpers: global state, settings options, consoles, password prompts."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from datafair.settings import Settings, load_settings
from datafair.store.blobs import BlobStore
from datafair.store.db import Database


@dataclass
class CliState:
    debug: bool = False
    server: str | None = None


STATE = CliState()
# Piped output is not cut to 80 columns: ids and paths must survive `| grep`.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 240)
err_console = Console(stderr=True, highlight=False)

HOME_OPTION = typer.Option(
    None, "--home", help="Data directory (default: $DATAFAIR_HOME or ./.datafair)."
)


def settings_for(home: Path | None) -> Settings:
    """Settings from the environment, with ``--home`` taking precedence."""
    return load_settings(home=home)


def read_password(settings: Settings, *, confirm: bool = False, prompt: str = "Password") -> str:
    """The keystore password: ``$DATAFAIR_PASSWORD`` if set, otherwise a hidden prompt."""
    if settings.password is not None:
        return settings.password
    env = os.environ.get("DATAFAIR_PASSWORD")
    if env is not None:
        return env
    value: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    return value


def open_database(settings: Settings) -> Database:
    """The migrated database of ``settings``."""
    return Database.open(settings)


def blob_store(settings: Settings) -> BlobStore:
    return BlobStore(settings.blobs_dir)


def split_list(value: str | None) -> tuple[str, ...]:
    """``"a, b,c"`` → ``("a", "b", "c")``; empty parts dropped."""
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())
