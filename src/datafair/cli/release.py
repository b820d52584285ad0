"""`datafair release TASK_OR_DATASET...`: freeze a dataset version and register it on chain.

Parses the options, opens the store, blobs and chain, calls
:func:`datafair.services.releases.release` and prints what was frozen and registered.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from datafair.cli.common import (
    HOME_OPTION,
    blob_store,
    console,
    open_database,
    settings_for,
    shown,
)
from datafair.cli.market import ACCOUNT_OPTION, RPC_OPTION, keystore_account, open_market


def release_command(
    targets: list[str] = typer.Argument(
        ..., help="Settled task ids (0x...) and/or dataset manifest CIDs (their settled tasks)."
    ),
    title: str | None = typer.Option(None, "--title", help="Release title (default: dataset's)."),
    license: str | None = typer.Option(
        None, "--license", help="SPDX licence id of the release (default: the dataset's)."
    ),
    commercial_use: bool | None = typer.Option(
        None,
        "--commercial-use/--no-commercial-use",
        help="Whether buyers may use the data commercially (default: from the licence).",
    ),
    royalty_bps: int | None = typer.Option(
        None, "--royalty-bps", help="Contributors' share of sales (at least the tasks' promise)."
    ),
    account: str | None = ACCOUNT_OPTION,
    rpc: str | None = RPC_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """Freeze a release: manifest, card, contribution table, royalty weights; register it."""
    from datafair.services.release_files import download_secret
    from datafair.services.releases import release

    settings = settings_for(home)
    name, address = keystore_account(settings, account)
    secret = download_secret(settings.home, settings.download_secret)
    database = open_database(settings)
    with (
        console.status("freezing the release"),
        open_market(settings, rpc, name) as market,
        database.session() as session,
    ):
        info = release(
            session,
            blob_store(settings),
            targets,
            market,
            sender=address,
            secret=secret,
            title=title,
            license=license,
            commercial_use=commercial_use,
            royalty_bps=royalty_bps,
        )
    database.dispose()
    table = Table(show_header=False)
    table.add_row("release", f"{info.release_id}: {shown(info.title)} (version {info.version})")
    table.add_row("dataset token", f"#{info.token_id} owned by {info.owner}")
    table.add_row("manifest", info.manifest_cid)
    table.add_row("release bundle", info.release_cid)
    table.add_row("items", f"{info.items:,}")
    table.add_row("licence", shown(info.license))
    table.add_row("royalty share", f"{info.royalty_bps / 100:g} % of every sale")
    table.add_row("weights", f"total {info.total_weight}, root 0x{info.weights_root.hex()}")
    console.print(table)
    console.print(f"list it with: datafair market sell {info.release_id} PRICE")
