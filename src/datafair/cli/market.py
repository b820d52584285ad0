"""`datafair market list | show | sell | buy | download | royalties | claim-royalties | audit`.

Each command parses its options, opens the store (and the chain when it needs it: embedded, or
``--rpc URL``), calls one function of :mod:`datafair.services.market` and prints a rich table.
Text that users wrote (titles, cards, samples) goes through
:func:`datafair.cli.common.shown` before rich renders it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from datafair.cli.common import (
    HOME_OPTION,
    blob_store,
    console,
    open_database,
    open_node,
    read_password,
    settings_for,
    shown,
)
from datafair.core.errors import InvalidInput
from datafair.settings import Settings

if TYPE_CHECKING:
    from datafair.chain.market import MarketClient

app = typer.Typer(
    help="Browse, buy and sell dataset releases; claim royalties.", no_args_is_help=True
)

RPC_OPTION = typer.Option(
    None, "--rpc", help="JSON-RPC URL of an EVM node (default: the embedded chain)."
)
ACCOUNT_OPTION = typer.Option(
    None, "--account", help="Keystore account that signs (default: the first one)."
)


def keystore_account(settings: Settings, name: str | None) -> tuple[str, str]:
    """``(name, address)`` of keystore account ``name`` (default: the first one)."""
    from datafair.store.keystore import KeyStore

    keys = KeyStore(settings.keys_dir)
    if name is not None:
        return name, keys.info(name).address
    stored = keys.list()
    if not stored:
        raise InvalidInput(
            "--account", "no account in the keystore", "create one with 'datafair account new'"
        )
    return stored[0].name, stored[0].address


@contextmanager
def open_market(
    settings: Settings, rpc: str | None, account: str | None = None
) -> Iterator[MarketClient]:
    """The deployed market on the embedded chain or at ``rpc`` (``account`` signs on RPC)."""
    from datafair.chain import open_chain
    from datafair.chain.deploy import load_deployment
    from datafair.chain.market import MarketClient

    password = None
    if rpc is not None and account is not None:
        password = read_password(settings, prompt=f"Password of {account}")
    with open_chain(settings, rpc, account if rpc else None, password) as chain:
        deployment = load_deployment(settings.chain_dir, chain)
        yield MarketClient(chain, deployment, settings.cache_dir)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _amount(text: str, field: str, *, allow_zero: bool = False) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise InvalidInput(field, f"{text!r} is not an integer", "give token base units") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput(field, f"must be {'non-negative' if allow_zero else 'positive'}")
    return value


@app.command("list")
def list_command(
    query: str | None = typer.Option(None, "--search", help="Full-text search on the cards."),
    modality: str | None = typer.Option(None, "--modality", help="text, image or pair."),
    task_type: str | None = typer.Option(None, "--task-type", help="e.g. classification."),
    license: str | None = typer.Option(None, "--license", help="SPDX licence id."),
    language: str | None = typer.Option(None, "--language", help="BCP-47 tag, e.g. en."),
    min_items: int | None = typer.Option(None, "--min-items", help="Least number of items."),
    max_items: int | None = typer.Option(None, "--max-items", help="Most number of items."),
    min_agreement: float | None = typer.Option(
        None, "--min-agreement", help="Least measured agreement, 0..1."
    ),
    min_accuracy: float | None = typer.Option(
        None, "--min-accuracy", help="Least inferred accuracy, 0..1."
    ),
    max_price: str | None = typer.Option(None, "--max-price", help="Highest price, base units."),
    listed: bool = typer.Option(False, "--listed", help="Only releases listed for sale."),
    home: Path | None = HOME_OPTION,
) -> None:
    """List releases, filtered and searched."""
    from datafair.services.market import ReleaseFilter, browse

    settings = settings_for(home)
    filters = ReleaseFilter(
        query=query,
        modality=modality,
        task_type=task_type,
        license=license,
        language=language,
        min_items=min_items,
        max_items=max_items,
        min_agreement=min_agreement,
        min_inferred_accuracy=min_accuracy,
        max_price=None if max_price is None else _amount(max_price, "--max-price", allow_zero=True),
        listed_only=listed,
    )
    database = open_database(settings)
    with database.session() as session:
        releases = browse(session, filters)
    database.dispose()
    if not releases:
        console.print("no release matches; release a settled task with 'datafair release TASK'")
        return
    table = Table("id", "token", "title", "items", "licence", "agreement", "accuracy", "price")
    for info in releases:
        table.add_row(
            str(info.release_id),
            "-" if info.token_id is None else f"#{info.token_id}",
            shown(info.title),
            f"{info.items:,}",
            shown(info.license),
            _percent(info.quality["agreement"]),
            _percent(info.quality["inferred_accuracy"]),
            "not listed" if info.price is None else str(info.price),
        )
    console.print(table)


@app.command("show")
def show_command(
    release: str = typer.Argument(..., help="Release id, #token id or manifest CID."),
    card: bool = typer.Option(False, "--card", help="Print the whole dataset card."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Show a release: card facts, weights, listing and a sample of items."""
    from datafair.services.market import get_release

    settings = settings_for(home)
    database = open_database(settings)
    with database.session() as session:
        info = get_release(session, release)
    database.dispose()
    table = Table(show_header=False)
    table.add_row("release", f"{info.release_id} (version {info.version})")
    table.add_row("title", shown(info.title))
    table.add_row("manifest", info.manifest_cid)
    table.add_row("release bundle", info.release_cid)
    table.add_row("token", "-" if info.token_id is None else f"#{info.token_id}")
    table.add_row("owner", info.owner)
    table.add_row("items", f"{info.items:,}")
    table.add_row(
        "licence",
        f"{shown(info.license)} (commercial use: {'yes' if info.commercial_use else 'no'})",
    )
    for key, value in info.quality.items():
        table.add_row(key.replace("_", " "), _percent(value))
    table.add_row("royalty share", f"{info.royalty_bps / 100:g} %")
    table.add_row("weights", f"total {info.total_weight}, root 0x{info.weights_root.hex()}")
    table.add_row(
        "price", "not listed" if info.price is None else f"{info.price} of {info.payment_token}"
    )
    table.add_row("sample", "\n".join(shown(line) for line in info.sample))
    console.print(table)
    if card:
        console.print(shown(info.card_text, lines=True))


@app.command("sell")
def sell_command(
    release: str = typer.Argument(..., help="Release id, #token id or manifest CID."),
    price: str = typer.Argument(..., help="Price per licence, in token base units."),
    token: str | None = typer.Option(None, "--token", help="ERC-20 address (default DevToken)."),
    royalty_bps: int | None = typer.Option(
        None, "--royalty-bps", help="Contributors' share (default and floor: the promise)."
    ),
    free: bool = typer.Option(False, "--free", help="Allow a price of 0."),
    non_transferable: bool = typer.Option(
        False, "--non-transferable", help="Licences cannot be transferred."
    ),
    account: str | None = ACCOUNT_OPTION,
    rpc: str | None = RPC_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """List a release for sale (its owner only)."""
    from datafair.services.market import list_release

    settings = settings_for(home)
    name, address = keystore_account(settings, account)
    value = _amount(price, "PRICE", allow_zero=free)
    database = open_database(settings)
    with open_market(settings, rpc, name) as market, database.session() as session:
        chosen = token or market.deployment.addresses.get("DevToken")
        if not chosen:
            raise InvalidInput("--token", "no token given and no DevToken", "pass --token ADDRESS")
        info = list_release(
            session,
            market,
            release,
            price=value,
            token=chosen,
            sender=address,
            royalty_bps=royalty_bps,
            transferable=not non_transferable,
            zero_price_ok=free,
        )
    database.dispose()
    console.print(
        f"listed release {info.release_id} (#{info.token_id}) at {info.price} of "
        f"{info.payment_token}; contributors get {info.royalty_bps / 100:g} % of every sale"
    )


@app.command("buy")
def buy_command(
    release: str = typer.Argument(..., help="Release id, #token id or manifest CID."),
    max_price: str | None = typer.Option(None, "--max-price", help="Refuse to pay more."),
    permit: bool = typer.Option(
        False, "--permit", help="One transaction: sign an EIP-2612 permit instead of approving."
    ),
    account: str | None = ACCOUNT_OPTION,
    rpc: str | None = RPC_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """Buy one licence of a listed release."""
    from datafair.services.market import buy_release

    settings = settings_for(home)
    name, address = keystore_account(settings, account)
    database = open_database(settings)
    with open_market(settings, rpc, name) as market, database.session() as session:
        signer: Any = address
        if permit:
            from datafair.store.keystore import KeyStore

            password = read_password(settings, prompt=f"Password of {name}")
            signer = KeyStore(settings.keys_dir).load(name, password)
        purchase = buy_release(
            session,
            market,
            release,
            sender=signer,
            max_price=None if max_price is None else _amount(max_price, "--max-price"),
            permit=permit,
        )
    database.dispose()
    sale = purchase.sale
    console.print(f"bought licence #{purchase.licence_id} of dataset #{sale.dataset_id}")
    console.print(
        f"paid {sale.price}: fee {sale.fee}, contributors {sale.royalty}, owner {sale.to_seller}"
    )
    console.print(f"gas {purchase.receipt.gas_used}, tx {purchase.receipt.tx_hash}")


@app.command("download")
def download_command(
    release: str = typer.Argument(..., help="Release id, #token id or manifest CID."),
    output: Path = typer.Option(
        Path("release.json"), "--output", "-o", help="Where to write the release data."
    ),
    account: str | None = ACCOUNT_OPTION,
    rpc: str | None = RPC_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """Download a release's data (licence holders only; others get its card and a sample)."""
    from datafair.services.market import LicenceCache, issue_download, open_download
    from datafair.services.release_files import download_secret

    settings = settings_for(home)
    name, address = keystore_account(settings, account)
    secret = download_secret(settings.home, settings.download_secret)
    database = open_database(settings)
    with open_market(settings, rpc, name) as market, database.session() as session:
        grant = issue_download(
            session,
            market,
            release,
            address,
            secret=secret,
            ttl=settings.download_ttl,
            licences=LicenceCache(ttl=settings.licence_cache_ttl),
        )
        data = open_download(
            session,
            blob_store(settings),
            grant.release_id,
            grant.wallet,
            grant.expires,
            grant.signature,
            secret=secret,
        )
    database.dispose()
    output.write_bytes(data)
    console.print(f"wrote {len(data):,} bytes to {shown(str(output))}")


@app.command("royalties")
def royalties_command(
    account: str | None = ACCOUNT_OPTION,
    rpc: str | None = RPC_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """Show an account's royalty weights and what it can claim now."""
    from datafair.services.market import royalties_of

    settings = settings_for(home)
    name, address = keystore_account(settings, account)
    database = open_database(settings)
    with open_market(settings, rpc, name) as market, database.session() as session:
        lines = royalties_of(session, market, address)
    database.dispose()
    if not lines:
        console.print(f"{address} holds no royalty weight in any release")
        return
    table = Table("release", "token", "title", "weight", "share", "claimable", "paid")
    for line in lines:
        table.add_row(
            str(line.release_id),
            f"#{line.dataset_id}",
            shown(line.title),
            str(line.weight),
            f"{line.weight / line.total_weight:.2%}" if line.total_weight else "-",
            str(line.claimable),
            str(line.paid),
        )
    console.print(table)


@app.command("claim-royalties")
def claim_royalties_command(
    release: list[str] = typer.Argument(
        None, help="Releases to claim from (default: every release with something to claim)."
    ),
    account: str | None = ACCOUNT_OPTION,
    rpc: str | None = RPC_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """Claim every royalty accrued to an account, in one transaction."""
    from datafair.services.market import claim_royalties

    settings = settings_for(home)
    name, address = keystore_account(settings, account)
    database = open_database(settings)
    with open_market(settings, rpc, name) as market, database.session() as session:
        amount, receipt = claim_royalties(
            session, market, address, sender=address, releases=release or None
        )
    database.dispose()
    if receipt is None:
        console.print(f"{address}: nothing to claim")
        return
    console.print(f"{address}: claimed {amount} (gas {receipt.gas_used}, tx {receipt.tx_hash})")


def audit_release_manifest(node: Any, manifest: str) -> bool:
    """Audit the release whose manifest is ``manifest`` and print the report; ``False`` (and
    nothing printed) when that blob is not a release manifest."""
    import json

    from datafair.chain.market import MarketClient
    from datafair.services.releases import MANIFEST_FORMAT, audit_release

    try:
        document = json.loads(node.blobs.get(manifest))
    except ValueError:
        return False
    if not isinstance(document, dict) or document.get("format") != MANIFEST_FORMAT:
        return False
    with node.chain_lock:
        market = MarketClient(node.chain, node.deployment, node.settings.cache_dir)
        report = audit_release(node.blobs, manifest, market)
    console.print(f"release audit ok: {report.manifest_cid} (dataset #{report.dataset_id})")
    console.print(
        f"{report.accounts} weights recomputed from {report.settlement_bundles} settlement "
        f"bundles; total {report.total_weight}, root 0x{report.root.hex()}"
    )
    console.print(f"registry matches; royalty floor {report.royalty_bps / 100:g} % holds")
    return True


@app.command("audit")
def audit_command(
    manifest: str = typer.Argument(..., help="Manifest CID of the release."),
    rpc: str | None = RPC_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """Recompute a release's weights and root from its bundle and compare with the chain."""
    with open_node(home, rpc=rpc) as node:
        if not audit_release_manifest(node, manifest):
            raise InvalidInput(
                "MANIFEST", f"{manifest} is not a release manifest", "see `datafair market show`"
            )
