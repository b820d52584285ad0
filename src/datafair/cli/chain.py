"""`datafair chain` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="chain commands.", no_args_is_help=True)
