"""Shared CLI helpers: global state, settings options, consoles, password prompts, the node.

A command builds its :class:`~datafair.node.Node` with :func:`open_node` (settings from
``--home`` and the environment, the chain from ``--rpc``, passwords from ``$DATAFAIR_PASSWORD``
or a hidden prompt) and uses it as a context manager, so the database and the chain it opened
are closed when the command ends. Everything heavy (rich, settings, the node, the store) is
imported where it is used, so that ``datafair --help`` and usage errors start fast.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer

if TYPE_CHECKING:  # imported where used: a command's start-up pays only for what it needs
    from rich.console import Console
    from rich.table import Table

    from datafair.node import Node
    from datafair.settings import Settings
    from datafair.store.blobs import BlobStore
    from datafair.store.db import Database


@dataclass
class CliState:
    debug: bool = False
    server: str | None = None


STATE = CliState()


class _LazyConsole:
    """A ``rich.console.Console`` made on first use (rich is not needed for ``--help``)."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            # Piped output is not cut to 80 columns: ids and paths must survive `| grep`.
            width = None if self._stderr or sys.stdout.isatty() else 240
            self._console = Console(stderr=self._stderr, highlight=False, width=width)
        return getattr(self._console, name)

    # special methods bypass __getattr__: rich's Live and Progress enter the console
    def __enter__(self) -> Any:
        return self.__getattr__("__enter__")()

    def __exit__(self, *exc: object) -> Any:
        return self.__getattr__("__exit__")(*exc)


console = cast("Console", _LazyConsole(stderr=False))
err_console = cast("Console", _LazyConsole(stderr=True))


QUALITY_METHODS = ("auto", "mv", "wmv", "ds", "onecoin", "bds")
"""``datafair.quality.METHODS``, named here so help texts need not import the quality engine."""
EXPORT_FORMAT_NAMES = (
    "jsonl",
    "parquet",
    "hf",
    "coco",
    "yolo",
    "conll",
    "labelstudio",
)
"""``datafair.formats.EXPORT_FORMATS``, named here so help texts need not import pyarrow."""

HOME_OPTION = typer.Option(
    None, "--home", help="Data directory (default: $DATAFAIR_HOME or ./.datafair)."
)


def new_table(*columns: Any, **options: Any) -> Table:
    """A ``rich.table.Table`` (rich is imported on first use, not at start-up)."""
    from rich.table import Table

    return Table(*columns, **options)


def settings_for(home: Path | None) -> Settings:
    """Settings from the environment, with ``--home`` taking precedence."""
    from datafair.settings import load_settings

    return load_settings(home=home)


def prompt_password(text: str, confirm: bool) -> str:
    """Ask for a secret on the terminal, hidden (and twice when ``confirm``)."""
    value: str = typer.prompt(text, hide_input=True, confirmation_prompt=confirm)
    return value


def read_password(settings: Settings, *, confirm: bool = False, prompt: str = "Password") -> str:
    """The keystore password: ``$DATAFAIR_PASSWORD`` if set, otherwise a hidden prompt."""
    from datafair.node import read_password as node_password

    return node_password(settings, prompt_password, text=prompt, confirm=confirm)


def open_node(
    home: Path | None,
    *,
    rpc: str | None = None,
    account: str | None = None,
    expected_chain_id: int | None = None,
) -> Node:
    """The :class:`~datafair.node.Node` of a command: ``--home``, ``--rpc`` and its signer."""
    from datafair.node import Node

    return Node(
        settings_for(home),
        rpc_url=rpc,
        account=account,
        expected_chain_id=expected_chain_id,
        prompt=prompt_password,
    )


def open_database(settings: Settings) -> Database:
    """The migrated database of ``settings``."""
    from datafair.store.db import Database

    return Database.open(settings)


def blob_store(settings: Settings) -> BlobStore:
    """The content-addressed blob store of ``settings``."""
    from datafair.store.blobs import BlobStore

    return BlobStore(settings.blobs_dir)


def split_list(value: str | None) -> tuple[str, ...]:
    """``"a, b,c"`` → ``("a", "b", "c")``; empty parts dropped."""
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())
