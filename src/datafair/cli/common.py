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

from datafair.core.errors import InvalidInput

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


# Characters that must never reach the terminal as themselves: C0 controls and DEL (ANSI
# escapes start with ESC), C1 controls (0x9B is a one-byte CSI), bidirectional embeddings,
# overrides, isolates and marks (Trojan Source, CVE-2021-42574), line and paragraph separators.
_UNSAFE = [
    *range(0x00, 0x20),
    0x7F,
    *range(0x80, 0xA0),
    0x061C,
    0x200E,
    0x200F,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    0x2028,
    0x2029,
]
_VISIBLE = {code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" for code in _UNSAFE}
_VISIBLE_LINES = {code: text for code, text in _VISIBLE.items() if code not in (0x09, 0x0A)}


def shown(value: object, *, lines: bool = False) -> str:
    """``value`` as text that rich prints literally: every control character (C0, DEL, C1,
    so any ANSI escape) and every bidirectional control (U+202E...) is replaced by its visible
    escape (``\\x1b``, ``\\u202e``), then rich markup is escaped (``rich.markup.escape``), so
    ``[/x]`` or ``[bold]`` print as typed. ``lines`` keeps newlines and tabs (item text).

    Use it for every user-supplied string (titles, descriptions, labels, names, item text,
    file names) printed through the consoles or put into a rich ``Table``, and print with
    markup on (the default).
    """
    from rich.markup import escape

    return escape(str(value).translate(_VISIBLE_LINES if lines else _VISIBLE))


def settings_for(home: Path | None) -> Settings:
    """Settings from the environment, with ``--home`` taking precedence."""
    from datafair.settings import load_settings

    return load_settings(home=home)


def prompt_password(text: str, confirm: bool) -> str:
    """Ask for a secret on the terminal, hidden (and twice when ``confirm``).

    Without a terminal (a script, a pipe, a service) there is nobody to ask: ``InvalidInput``
    telling to set ``$DATAFAIR_PASSWORD``, rather than an echoed prompt on stdout.
    """
    if sys.stdin is None or not sys.stdin.isatty():
        from datafair.node import PASSWORD_ENV

        raise InvalidInput(
            "password",
            "is not set and there is no terminal to ask for it",
            f"set ${PASSWORD_ENV} to the keystore password",
        )
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
