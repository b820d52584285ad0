"""`datafair fund | settle | claim | payouts | refund | audit`: the money commands of a task.

Each parses its options, opens a :class:`~datafair.node.Node` (database, blobs, the chain —
embedded, or ``--rpc URL`` — with its deployment and escrow), calls one service of
:mod:`datafair.services.settlement` and prints a short report.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from datafair.cli.common import HOME_OPTION, STATE, console, open_node, settings_for
from datafair.core.errors import InvalidInput

if TYPE_CHECKING:
    from datafair.node import Node

RPC_OPTION = typer.Option(
    None, "--rpc", help="JSON-RPC URL of an EVM node (default: the embedded chain)."
)


def _account(node: Node, name: str | None) -> tuple[str, str]:
    """``(name, address)`` of keystore account ``name`` (default: the first one)."""
    if name is not None:
        return name, node.keystore.info(name).address
    stored = node.keystore.list()
    if not stored:
        raise InvalidInput(
            "--account", "no account in the keystore", "create one with 'datafair account new'"
        )
    return stored[0].name, stored[0].address


def _name_of(node: Node, address: str) -> str | None:
    """The keystore account holding ``address``'s key, if any."""
    wanted = address.lower()
    return next(
        (info.name for info in node.keystore.list() if info.address.lower() == wanted), None
    )


def _deployment_owner(home: Path | None, rpc: str | None) -> str:
    """The deployment's owner (operator and DevToken minter), read without unlocking a key."""
    with open_node(home, rpc=rpc) as reader:
        return reader.deployment.owner


def _operator(home: Path | None, rpc: str | None) -> str:
    """The keystore account of the deployment's owner, which signs on ``rpc``."""
    owner = _deployment_owner(home, rpc)
    with open_node(home) as local:
        name = _name_of(local, owner)
    if name is None:
        raise InvalidInput(
            "--account",
            f"the deployment's owner {owner} (the operator) has no key in this keystore",
            "import its key with 'datafair account import', or name an operator with --account",
        )
    return name


def _amount(text: str, field: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise InvalidInput(
            field, f"{text!r} is not an integer", "give base units, e.g. 10**18"
        ) from None
    from datafair.core.terms import token_amount

    return token_amount(value, field, positive=True)


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
        False,
        "--mint",
        help="Mint the amount of DevToken to the requester first (dev chains). Only the "
        "DevToken owner (the deployer) can mint: on --rpc its key must be in the keystore.",
    ),
    rpc: str | None = RPC_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """Fund a task on the escrow, committing to its gold answers."""
    from datafair.services.settlement.funding import fund_task
    from datafair.services.tasks import get_task

    value = _amount(amount, "AMOUNT")
    if mint and rpc is not None:  # the deployer signs the mint: a node unlocked for it
        _mint(home, rpc, task, token, account, value)
    with open_node(home, rpc=rpc) as node:
        node.account, address = _account(node, account)
        escrow = node.escrow
        with node.db.session() as session:
            info = get_task(session, task)
            chosen = token or info.spec.token or escrow.deployment.addresses.get("DevToken")
            if not chosen:
                raise InvalidInput("--token", "the task names no token", "pass --token ADDRESS")
            if mint and rpc is None:  # the embedded chain: any address may send
                _check_dev_token(chosen, escrow.deployment.addresses.get("DevToken"))
                escrow.token(chosen).mint(address, value, sender=escrow.deployment.owner)
            result = fund_task(
                session,
                escrow,
                info.task_id,
                value,
                sender=address,
                deadline=deadline,
                token=chosen,
            )
    console.print(f"funded task 0x{result.task_id.hex()} with {result.amount} of {result.token}")
    console.print(
        f"deposited {result.deposited}, unallocated {result.unallocated}, "
        f"deadline {result.deadline}"
    )
    console.print(f"gold commitment 0x{result.gold_commitment.hex()}")
    console.print(f"tx {result.tx_hash}")


def _check_dev_token(chosen: str | None, dev_token: str | None) -> None:
    if dev_token is None or chosen is None or chosen.lower() != dev_token.lower():
        raise InvalidInput(
            "--mint", "mints only the deployment's DevToken", "fund with a token you hold"
        )


def _mint(
    home: Path | None,
    rpc: str | None,
    task: str,
    token: str | None,
    account: str | None,
    value: int,
) -> None:
    """Mint ``value`` DevToken to the requester, sent by the DevToken owner (the deployer)."""
    from datafair.services.tasks import get_task

    owner = _deployment_owner(home, rpc)
    with open_node(home) as local:
        _, requester = _account(local, account)
        minter = _name_of(local, owner)
        with local.db.session() as session:
            task_token = get_task(session, task).spec.token
    if minter is None:
        raise InvalidInput(
            "--mint",
            f"only the DevToken owner can mint, and that is the deployer {owner}, whose key is "
            "not in this keystore",
            "import the deployer's key with 'datafair account import', or get DevToken from "
            "its holder and fund without --mint",
        )
    with open_node(home, rpc=rpc, account=minter) as node:
        dev_token = node.deployment.addresses.get("DevToken")
        _check_dev_token(token or task_token or dev_token, dev_token)
        assert dev_token is not None
        node.escrow.token(dev_token).mint(requester, value, sender=owner)
    console.print(f"minted {value} DevToken to {requester} (sent by the deployer {owner})")


def settle_command(
    task: str = typer.Argument(..., help="Task id (0x...)."),
    method: str = typer.Option("auto", "--method", help="Quality method (auto, ds, bds, ...)."),
    account: str | None = typer.Option(
        None, "--account", help="Operator account (default: the deployment's owner)."
    ),
    seal_partial: bool = typer.Option(
        False,
        "--seal-partial",
        help="Also pay answers to items still open (fewer than k answers) and seal those items: "
        "they take no more answers. Without it, those answers wait for their items to close.",
    ),
    rpc: str | None = RPC_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """Settle the next epoch of a task (or resume an interrupted one) and post its root.

    An epoch publishes (and pays) only answers to items closed to answers, so nobody reads an
    answer to an item they may still answer; answers to open items wait for a later epoch."""
    from datafair.services.settlement.settle import settle_task

    if account is None and rpc is not None:
        account = _operator(home, rpc)  # the deployment's owner, who may post payouts
    with open_node(home, rpc=rpc) as node:
        sender: str | None = None
        if account is not None:
            node.account, sender = _account(node, account)
        escrow = node.escrow
        with node.db.session() as session:
            report = settle_task(
                session,
                escrow,
                node.blobs,
                task,
                sender=sender or escrow.deployment.owner,
                method=method,
                seal_partial=seal_partial,
            )
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
    address: str | None = typer.Option(
        None,
        "--address",
        help="An address whose key is elsewhere (an external wallet): with --proofs-out, write "
        "what that wallet needs to claim, send nothing.",
    ),
    proofs_out: Path | None = typer.Option(
        None,
        "--proofs-out",
        dir_okay=False,
        help="Write the unclaimed leaves of --address with their proofs as JSON to this file.",
    ),
    rpc: str | None = RPC_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """Claim everything claimable, with proofs, for an account (or every keystore account).

    With --address and --proofs-out, write the claims for an external wallet instead.
    """
    from datafair.services.settlement.claims import claim_all

    if STATE.server:
        from datafair.cli import remote

        if account is None:
            raise InvalidInput("--account", "is required with --server", "name your account")
        remote.claim(settings_for(home), account)
        return
    if (address is None) != (proofs_out is None):
        raise InvalidInput(
            "--address" if address is None else "--proofs-out",
            "is needed with " + ("--proofs-out" if address is None else "--address"),
            "give both to write an external wallet's claims",
        )
    if address is not None and proofs_out is not None:
        _write_claims(home, rpc, address, proofs_out)
        return
    with open_node(home, rpc=rpc) as node:
        accounts = [node.keystore.info(account)] if account is not None else node.keystore.list()
        if not accounts:
            raise InvalidInput(
                "--account", "no account in the keystore", "create one with 'datafair account new'"
            )
        if rpc is not None and len(accounts) > 1:
            raise InvalidInput(
                "--account", "is required with --rpc", "name the account to claim for"
            )
        node.account = accounts[0].name
        escrow = node.escrow
        with node.db.session() as session:
            for info in accounts:
                report = claim_all(session, escrow, info.address, sender=info.address)
                if not report.claims:
                    console.print(
                        f"{info.name} {info.address}: nothing to claim "
                        f"({report.already_claimed} already claimed)"
                    )
                    continue
                console.print(
                    f"{info.name} {info.address}: claimed {report.amount} in "
                    f"{len(report.claims)} leaves ({report.already_claimed} already claimed)"
                )
                for tx_hash in report.tx_hashes:
                    console.print(f"  tx {tx_hash}")


def _checked_address(address: str, field: str) -> str:
    from datafair.core.ids import checksum_address

    return checksum_address(address, field)


def _write_claims(home: Path | None, rpc: str | None, address: str, path: Path) -> None:
    import json

    from datafair.services.settlement.claims import claim_document, payouts

    account = _checked_address(address, "--address")
    with open_node(home, rpc=rpc) as node, node.db.session() as session:
        found = payouts(session, node.escrow, account)
        document = claim_document(node.escrow, node.chain.chain_id, account, found)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    claims = document["claims"]
    assert isinstance(claims, list)
    total = sum(int(claim["amount"]) for claim in claims)
    console.print(f"wrote {len(claims)} unclaimed leaves ({total} in all) for {account} to {path}")
    console.print(f"send {document['function']} to {document['escrow']} for each (any sender)")


def payouts_command(
    address: str = typer.Argument(..., help="The account's address (0x...)."),
    rpc: str | None = RPC_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """List an address's payouts: task, epoch, leaf index, amount, claimed or not."""
    from rich.table import Table

    from datafair.services.settlement.claims import payouts

    account = _checked_address(address, "ADDRESS")
    with open_node(home, rpc=rpc) as node, node.db.session() as session:
        found = payouts(session, node.escrow, account)
    if not found:
        console.print(f"no payouts for {account}")
        return
    table = Table("task", "epoch", "index", "amount", "claimed")
    for payout in found:
        table.add_row(
            "0x" + payout.task_id.hex(),
            str(payout.epoch),
            str(payout.index),
            str(payout.amount),
            "yes" if payout.claimed else "no",
        )
    console.print(table)
    unclaimed = sum(payout.amount for payout in found if not payout.claimed)
    console.print(f"unclaimed {unclaimed} in {sum(not p.claimed for p in found)} leaves")


def refund_command(
    task: str = typer.Argument(..., help="Task id (0x...)."),
    account: str | None = typer.Option(None, "--account", help="Requester account (keystore)."),
    rpc: str | None = RPC_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """After the deadline, take back what no payout of the task took."""
    from datafair.core.ids import parse_task_id
    from datafair.services.settlement.funding import refund_task

    with open_node(home, rpc=rpc) as node:
        node.account, address = _account(node, account)
        before = node.escrow.task(parse_task_id(task))
        receipt = refund_task(node.escrow, task, sender=address)
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
    Given a release manifest's CID, audits the release instead (see ``datafair market audit``).
    """
    from datafair.services.settlement.audit import audit_bundle, escrow_named_by, read_bundle

    with open_node(home, rpc=rpc) as node:
        data, cid = read_bundle(bundle, node.blobs)
        if cid is not None and data.startswith(b'{"card":'):
            from datafair.cli.market import audit_release_manifest

            if audit_release_manifest(node, cid):  # a release manifest, not a payout bundle
                return
        if offline:
            report = audit_bundle(data, None, expected_cid=cid, workers=workers)
        else:
            from datafair.core.errors import NotFound

            with node.chain_lock:
                try:
                    escrow = node.escrow
                except NotFound:  # an auditor without a deployment file: the bundle's escrow
                    escrow = escrow_named_by(node.chain, data, node.settings.cache_dir)
                report = audit_bundle(
                    data, escrow, expected_cid=cid, workers=workers, history=node.blobs
                )
    console.print(f"audit ok: bundle {report.bundle_cid}")
    console.print(f"task 0x{report.task_id.hex()} epoch {report.epoch}")
    console.print(
        f"{report.submissions} signatures verified, {report.paid_submissions} paid this epoch, "
        f"{report.reviews} reviews, {report.gold_items} gold items revealed "
        f"({report.gold_revealed_now} this epoch; each proof opens the commitment)"
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


def earnings_command(
    account: str = typer.Option(..., "--account", help="Keystore account whose earnings to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Earnings per settled epoch, with the reasons (answers paid, agreement, gold, spam), and
    the answers no epoch pays yet (their item still open, or awaiting settlement)."""
    import json

    from rich.table import Table

    if STATE.server:
        from datafair.cli import remote

        rows = remote.earnings(settings_for(home), account)
        pending = [] if as_json else remote.pending(settings_for(home), account)
    else:
        from datafair.services.portfolio import earnings, pending_answers

        with open_node(home) as node, node.db.session() as session:
            address = node.keystore.info(account).address
            rows = [
                {**row.__dict__, "amount": str(row.amount), "gross": str(row.gross)}
                for row in earnings(session, node.blobs, address)
            ]
            pending = [row.__dict__ for row in pending_answers(session, address)]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    for row in pending:
        console.print(f"task {row['task_id'][:12]}…: {row['answers']} answers {row['reason']}")
    if not rows:
        console.print(f"{account}: no settled epoch pays or mentions this account yet")
        return
    table = Table(
        "task", "epoch", "amount", "answers paid", "agreeing", "gold ok", "spam", "reviews"
    )
    for row in rows:
        table.add_row(
            row["task_id"][:12] + "…",
            str(row["epoch"]),
            str(row["amount"]),
            str(row["answers_paid"]),
            str(row["answers_agreeing"]),
            f"{row['gold_correct']}/{row['gold_answered']}",
            "yes" if row["spam_flagged"] else "no",
            f"{row['reviews_agreeing']}/{row['reviews_made']}",
        )
    console.print(table)
