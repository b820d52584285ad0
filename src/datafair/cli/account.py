"""`datafair account` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="account commands.", no_args_is_help=True)
