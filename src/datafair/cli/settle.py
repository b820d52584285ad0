"""`datafair fund | settle | claim | refund | audit`: the money commands of a task.

Each parses its options, opens the chain (embedded, or ``--rpc URL``) and the deployment, calls
one service of :mod:`datafair.services.settlement` and prints a short report.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from datafair.cli.common import (
    HOME_OPTION,
    blob_store,
    console,
    open_database,
    read_password,
    settings_for,
)
from datafair.core.errors import InvalidInput

if TYPE_CHECKING:
    from datafair.chain.escrow import EscrowClient
    from datafair.settings import Settings

RPC_OPTION = typer.Option(
    None, "--rpc", help="JSON-RPC URL of an EVM node (default: the embedded chain)."
)


def _account(settings: Settings, name: str | None) -> tuple[str, str]:
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
def _escrow(
    settings: Settings, rpc: str | None, account: str | None = None
) -> Iterator[EscrowClient]:
    """The deployed escrow on the embedded chain or at ``rpc`` (``account`` signs on RPC)."""
    from datafair.chain import open_chain
    from datafair.chain.deploy import load_deployment
    from datafair.chain.escrow import EscrowClient

    password = None
    if rpc is not None and account is not None:
        password = read_password(settings, prompt=f"Password of {account}")
    with open_chain(settings, rpc, account if rpc else None, password) as chain:
        deployment = load_deployment(settings.chain_dir, chain)
        yield EscrowClient(chain, deployment, settings.cache_dir)


def _amount(text: str, field: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise InvalidInput(
            field, f"{text!r} is not an integer", "give base units, e.g. 10**18"
        ) from None
    if value <= 0:
        raise InvalidInput(field, f"must be positive, got {value}")
    return value


def fund_command(
    task: str = typer.Argument(..., help="Task id (0x...)."),
    amount: str = typer.Argument(..., help="Amount in token base units."),
    deadline: int | None = typer.Option(
        None,
        "--deadline",
        help="Unix seconds after which the rest can be refunded (default: the task's deadline).",
    ),
    token: str | None = typer.Option(
        None, "--token", help="ERC-20 address (default: the task's token, else DevToken)."
    ),
    account: str | None = typer.Option(None, "--account", help="Requester account (keystore)."),
    mint: bool = typer.Option(
        False, "--mint", help="Mint the amount of DevToken to the requester first (dev chains)."
    ),
    rpc: str | None = RPC_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """Fund a task on the escrow, committing to its gold answers."""
    from datafair.services.settlement.funding import fund_task
    from datafair.services.tasks import get_task

    settings = settings_for(home)
    value = _amount(amount, "AMOUNT")
    name, address = _account(settings, account)
    database = open_database(settings)
    with _escrow(settings, rpc, name) as escrow, database.session() as session:
        info = get_task(session, task)
        chosen = token or info.spec.token or escrow.deployment.addresses.get("DevToken")
        if not chosen:
            raise InvalidInput("--token", "the task names no token", "pass --token ADDRESS")
        if mint:
            escrow.token(chosen).mint(address, value, sender=escrow.deployment.owner)
        result = fund_task(
            session, escrow, info.task_id, value, sender=address, deadline=deadline, token=chosen
        )
    database.dispose()
    console.print(f"funded task 0x{result.task_id.hex()} with {result.amount} of {result.token}")
    console.print(
        f"deposited {result.deposited}, unallocated {result.unallocated}, "
        f"deadline {result.deadline}"
    )
    console.print(f"gold commitment 0x{result.gold_commitment.hex()}")
    console.print(f"tx {result.tx_hash}")


def settle_command(
    task: str = typer.Argument(..., help="Task id (0x...)."),
    method: str = typer.Option("auto", "--method", help="Quality method (auto, ds, bds, ...)."),
    account: str | None = typer.Option(
        None, "--account", help="Operator account (default: the deployment's owner)."
    ),
    rpc: str | None = RPC_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """Settle the next epoch of a task (or resume an interrupted one) and post its root."""
    from datafair.services.settlement.settle import settle_task

    settings = settings_for(home)
    name: str | None = None
    sender: str | None = None
    if account is not None or rpc is not None:
        name, sender = _account(settings, account)
    database = open_database(settings)
    with _escrow(settings, rpc, name) as escrow, database.session() as session:
        report = settle_task(
            session,
            escrow,
            blob_store(settings),
            task,
            sender=sender or escrow.deployment.owner,
            method=method,
        )
    database.dispose()
    verb = "resumed and settled" if report.resumed else "settled"
    console.print(f"{verb} task 0x{report.task_id.hex()} epoch {report.epoch}: {report.state}")
    console.print(f"submissions paid {report.submissions}, leaves {report.leaves}")
    console.print(f"total {report.total}, fee {report.fee}")
    if report.root is not None:
        console.print(f"root 0x{report.root.hex()}")
    console.print(f"bundle {report.bundle_cid}")
    if report.tx_hash:
        console.print(f"tx {report.tx_hash}")


def claim_command(
    account: str | None = typer.Option(
        None, "--account", help="Keystore account to claim for (default: every account)."
    ),
    rpc: str | None = RPC_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """Claim everything claimable, with proofs, for an account (or every keystore account)."""
    from datafair.services.settlement.claims import claim_all
    from datafair.store.keystore import KeyStore

    settings = settings_for(home)
    keys = KeyStore(settings.keys_dir)
    accounts = [keys.info(account)] if account is not None else keys.list()
    if not accounts:
        raise InvalidInput(
            "--account", "no account in the keystore", "create one with 'datafair account new'"
        )
    if rpc is not None and len(accounts) > 1:
        raise InvalidInput("--account", "is required with --rpc", "name the account to claim for")
    database = open_database(settings)
    with _escrow(settings, rpc, accounts[0].name) as escrow, database.session() as session:
        for info in accounts:
            report = claim_all(session, escrow, info.address, sender=info.address)
            if not report.claims:
                console.print(
                    f"{info.name} {info.address}: nothing to claim "
                    f"({report.already_claimed} already claimed)"
                )
                continue
            console.print(
                f"{info.name} {info.address}: claimed {report.amount} in {len(report.claims)} "
                f"leaves ({report.already_claimed} already claimed)"
            )
            for tx_hash in report.tx_hashes:
                console.print(f"  tx {tx_hash}")
    database.dispose()


def refund_command(
    task: str = typer.Argument(..., help="Task id (0x...)."),
    account: str | None = typer.Option(None, "--account", help="Requester account (keystore)."),
    rpc: str | None = RPC_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """After the deadline, take back what no payout of the task took."""
    from datafair.services.settlement.funding import refund_task
    from datafair.services.tasks import parse_task_id

    settings = settings_for(home)
    name, address = _account(settings, account)
    with _escrow(settings, rpc, name) as escrow:
        before = escrow.task(parse_task_id(task))
        receipt = refund_task(escrow, task, sender=address)
    console.print(f"refunded {before.unallocated} to {address}")
    console.print(f"tx {receipt.tx_hash}")


def audit_command(
    bundle: str = typer.Argument(..., help="Bundle file, or its CID in the blob store."),
    rpc: str | None = RPC_OPTION,
    offline: bool = typer.Option(
        False,
        "--offline",
        help="Recompute the bundle only; do not compare with the chain or earlier epochs.",
    ),
    workers: int | None = typer.Option(
        None, "--workers", help="Processes for signature checks (default: up to 2)."
    ),
    home: Path | None = HOME_OPTION,
) -> None:
    """Recompute a settlement bundle from itself alone and compare it with the chain.

    Against the chain, also checks it against the earlier epochs' bundles in the blob store.
    """
    from datafair.services.settlement.audit import audit_bundle, escrow_named_by, read_bundle

    settings = settings_for(home)
    blobs = blob_store(settings)
    data, cid = read_bundle(bundle, blobs)
    if offline:
        report = audit_bundle(data, None, expected_cid=cid, workers=workers)
    else:
        from datafair.chain import open_chain
        from datafair.chain.deploy import load_deployment
        from datafair.chain.escrow import EscrowClient
        from datafair.core.errors import NotFound

        with open_chain(settings, rpc) as chain:
            try:
                deployment = load_deployment(settings.chain_dir, chain)
                escrow = EscrowClient(chain, deployment, settings.cache_dir)
            except NotFound:  # an auditor without a deployment file: use the bundle's escrow
                escrow = escrow_named_by(chain, data, settings.cache_dir)
            report = audit_bundle(data, escrow, expected_cid=cid, workers=workers, history=blobs)
    console.print(f"audit ok: bundle {report.bundle_cid}")
    console.print(f"task 0x{report.task_id.hex()} epoch {report.epoch}")
    console.print(
        f"{report.submissions} signatures verified, {report.paid_submissions} paid this epoch, "
        f"{report.reviews} reviews, {report.gold_items} gold items (commitment opened)"
    )
    console.print(f"inference {report.method} recomputed; {report.leaves} leaves")
    root = "none (nothing earned)" if report.root is None else "0x" + report.root.hex()
    console.print(f"root {root}")
    console.print(
        f"total {report.total}, fee {report.fee} ({report.fee_bps} bps), unearned {report.unearned}"
    )
    if report.chain_checked:
        console.print(
            f"chain matches: root, total, fee, bundle CID at escrow {report.escrow} "
            f"(tx {report.tx_hash})"
        )
    else:
        console.print("chain not checked (--offline)")
    history = []
    if report.history_checked:
        history.append(", ".join(map(str, report.history_checked)) + " checked")
    history.extend(f"{epoch} not available ({absent})" for epoch, absent in report.history_missing)
    if history:
        console.print("earlier epochs: " + "; ".join(history))
