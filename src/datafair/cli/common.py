"""Shared CLI helpers: global state, settings options, consoles, password prompts, the node.

A command builds its :class:`~datafair.node.Node` with :func:`open_node` (settings from
``--home`` and the environment, the chain from ``--rpc``, passwords from ``$DATAFAIR_PASSWORD``
or a hidden prompt) and uses it as a context manager, so the database and the chain it opened
are closed when the command ends.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from datafair.node import Node
from datafair.node import read_password as node_password
from datafair.settings import Settings, load_settings

if TYPE_CHECKING:
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


def prompt_password(text: str, confirm: bool) -> str:
    """Ask for a secret on the terminal, hidden (and twice when ``confirm``)."""
    value: str = typer.prompt(text, hide_input=True, confirmation_prompt=confirm)
    return value


def read_password(settings: Settings, *, confirm: bool = False, prompt: str = "Password") -> str:
    """The keystore password: ``$DATAFAIR_PASSWORD`` if set, otherwise a hidden prompt."""
    return node_password(settings, prompt_password, text=prompt, confirm=confirm)


def open_node(
    home: Path | None,
    *,
    rpc: str | None = None,
    account: str | None = None,
    expected_chain_id: int | None = None,
) -> Node:
    """The :class:`~datafair.node.Node` of a command: ``--home``, ``--rpc`` and its signer."""
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
    """The blob store of ``settings``."""
    from datafair.store.blobs import BlobStore

    return BlobStore(settings.blobs_dir)


def split_list(value: str | None) -> tuple[str, ...]:
    """``"a, b,c"`` → ``("a", "b", "c")``; empty parts dropped."""
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())
