"""`datafair account`: wallets as encrypted keystore v3 files in the data directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from datafair.cli.common import (
    HOME_OPTION,
    console,
    new_table,
    read_password,
    settings_for,
    shown,
)

if TYPE_CHECKING:
    from datafair.store.keystore import KeyStore

app = typer.Typer(
    help="Create, import and list wallets (encrypted keystore v3 files).", no_args_is_help=True
)


def _keystore(home: Path | None) -> tuple[KeyStore, str | None]:
    settings = settings_for(home)
    return _open(settings.keys_dir), settings.password


def _open(keys_dir: Path) -> KeyStore:
    from datafair.store.keystore import KeyStore  # eth-account: loaded only when used

    return KeyStore(keys_dir)


@app.command("new")
def new(
    name: str = typer.Argument(..., help="Account name (lowercase letters, digits, . _ -)."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Create a new key pair, encrypted with a password ($DATAFAIR_PASSWORD or a prompt)."""
    settings = settings_for(home)
    password = read_password(settings, confirm=True)
    info = _open(settings.keys_dir).new(name, password)
    console.print(f"created account [bold]{shown(info.name)}[/] {info.address}")
    console.print(f"keystore: {shown(info.path)}")


@app.command("import")
def import_(
    name: str = typer.Argument(..., help="Account name for the imported key."),
    keystore_file: Path | None = typer.Option(
        None, "--keystore", exists=True, dir_okay=False, help="A keystore v3 JSON file to import."
    ),
    private_key_file: Path | None = typer.Option(
        None,
        "--private-key-file",
        exists=True,
        dir_okay=False,
        help="A file holding a hex private key (never pass keys on the command line).",
    ),
    home: Path | None = HOME_OPTION,
) -> None:
    """Import a key from a keystore v3 file or a hex private key file."""
    if (keystore_file is None) == (private_key_file is None):
        raise typer.BadParameter("give exactly one of --keystore or --private-key-file")
    settings = settings_for(home)
    store = _open(settings.keys_dir)
    if keystore_file is not None:
        password = read_password(settings, prompt="Keystore password")
        info = store.import_keystore(name, keystore_file, password)
    else:
        assert private_key_file is not None
        password = read_password(settings, confirm=True)
        info = store.import_key(name, private_key_file.read_text().strip(), password)
    console.print(f"imported account [bold]{shown(info.name)}[/] {info.address}")


@app.command("list")
def list_(home: Path | None = HOME_OPTION) -> None:
    """List the accounts stored in the data directory."""
    store, _ = _keystore(home)
    accounts = store.list()
    if not accounts:
        console.print("no accounts yet; create one with 'datafair account new NAME'")
        return
    table = new_table("name", "address", "keystore")
    for info in accounts:
        table.add_row(shown(info.name), info.address, shown(info.path))
    console.print(table)
