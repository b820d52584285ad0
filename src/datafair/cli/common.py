"""Shared CLI helpers: global state, settings options, consoles, password prompts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from datafair.settings import Settings, load_settings


@dataclass
class CliState:
    debug: bool = False


STATE = CliState()
console = Console(highlight=False)
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
