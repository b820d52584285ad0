"""`datafair chain`: deploy the contracts and show the chain, the deployment and balances."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from datafair.cli.common import HOME_OPTION, console, new_table, open_node, shown
from datafair.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from datafair.node import Node

app = typer.Typer(
    help="Deploy datafair's contracts and inspect the chain (embedded or --rpc URL).",
    no_args_is_help=True,
)

RPC_OPTION = typer.Option(
    None, "--rpc", help="JSON-RPC URL of an EVM node (default: the embedded chain)."
)
ACCOUNT_OPTION = typer.Option(
    None, "--account", help="Keystore account that sends transactions (default: the first)."
)
CHAIN_ID_OPTION = typer.Option(
    None, "--chain-id", help="Refuse a node whose chain id differs (e.g. 530 for Pundi AIFX)."
)
EVM_VERSION_OPTION = typer.Option(
    None,
    "--evm-version",
    metavar="NAME",
    help=(
        "EVM version to compile the contracts for (default: Vyper's, prague). Use shanghai "
        "on chains without Cancun support (no transient storage or MCOPY), such as some "
        "Cosmos/Ethermint chains."
    ),
)


DEPLOYER = "deployer"


def _account_name(node: Node, account: str | None) -> str:
    if account is not None:
        node.keystore.info(account)
        return account
    stored = node.keystore.list()
    if stored:
        return stored[0].name
    if node.rpc_url is not None:
        raise InvalidInput(
            "--account",
            "no account in the keystore",
            "create or import the funded deployer's key with 'datafair account new|import'",
        )
    # The embedded chain: any address may send, so a fresh home gets a local deployer.
    info = node.keystore.new(DEPLOYER, node.password("Password for the new deployer account"))
    console.print(
        f"created account {shown(info.name)} {info.address} to deploy from (keystore was empty)"
    )
    return info.name


@app.command("deploy")
def deploy(
    rpc: str | None = RPC_OPTION,
    account: str | None = ACCOUNT_OPTION,
    chain_id: int | None = CHAIN_ID_OPTION,
    fee_bps: int = typer.Option(250, "--fee-bps", help="Initial fee rate (cap: 500 = 5 %)."),
    dev_token: bool = typer.Option(
        True, "--dev-token/--no-dev-token", help="Also deploy DevToken (test ERC-20)."
    ),
    force: bool = typer.Option(False, "--force", help="Deploy again over an existing deployment."),
    evm_version: str | None = EVM_VERSION_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """Deploy DevToken, TaskEscrow, DatasetRegistry and DatasetMarket; write the deployment file."""
    from datafair.contracts import check_evm_version

    if not 0 <= fee_bps <= 500:
        raise InvalidInput(
            "--fee-bps", f"{fee_bps} is outside 0..500", "the contract caps it at 5 %"
        )
    version = check_evm_version(evm_version, "--evm-version")
    with open_node(home, rpc=rpc, expected_chain_id=chain_id) as node:
        node.settings.ensure_home()
        # one deploy per chain at a time (node.deploy locks); on the embedded chain the lock
        # is taken first, so a concurrent deploy refuses before it makes a deployer account
        # (on --rpc the chain must be opened with the account, so it locks in node.deploy)
        with node.deploy_lock() if rpc is None else nullcontext():
            node.account = _account_name(node, account)
            sender = node.keystore.info(node.account).address
            deployment = node.deploy(
                sender, fee_bps=fee_bps, dev_token=dev_token, evm_version=version, replace=force
            )
        path = node.deployment_path
    table = new_table(title=f"deployed on {deployment.network} (chain id {deployment.chain_id})")
    table.add_column("contract")
    table.add_column("address")
    table.add_column("source sha256")
    for contract_name, address in deployment.addresses.items():
        table.add_row(contract_name, address, deployment.source_hashes[contract_name][:16])
    console.print(table)
    console.print(
        f"owner {deployment.owner}, block {deployment.block}, EVM version {deployment.evm_version}"
    )
    console.print(f"deployment file: {path}")


@app.command("status")
def status(
    rpc: str | None = RPC_OPTION,
    chain_id: int | None = CHAIN_ID_OPTION,
    home: Path | None = HOME_OPTION,
) -> None:
    """Show the chain, the deployment (with source changes) and the accounts' balances."""
    from datafair.chain.embedded import EmbeddedChain
    from datafair.contracts import load_contract, source_path

    with open_node(home, rpc=rpc, expected_chain_id=chain_id) as node:
        chain = node.chain
        console.print(
            f"chain {chain.name}: chain id {chain.chain_id}, block {chain.block_number()}, "
            f"time {chain.timestamp()}"
        )
        if isinstance(chain, EmbeddedChain):
            console.print(f"history: {chain.storage_summary()}")
        try:
            deployment = node.deployment
        except NotFound as missing:
            console.print(f"no deployment: {missing}")
            deployment = None
        token = None
        if deployment is not None:
            table = new_table(title="deployment")
            for column in ("contract", "address", "source"):
                table.add_column(column)
            version = deployment.evm_version
            cache_dir = node.settings.cache_dir
            for name, address in deployment.addresses.items():
                current = load_contract(name, cache_dir, version).source_hash
                state = "current" if current == deployment.source_hashes.get(name) else "changed"
                table.add_row(name, address, f"{state} ({source_path(name).name})")
            console.print(table)
            recorded = version or "not recorded (Vyper's default at the time)"
            console.print(f"contracts compiled for EVM version {recorded}")
            escrow = node.escrow
            console.print(
                f"escrow owner {escrow.owner()}, fee {escrow.fee_bps()} bps "
                f"(cap {escrow.max_fee_bps()}), fee recipient {escrow.fee_recipient()}"
            )
            if "DevToken" in deployment.addresses:
                token = escrow.token(deployment.address("DevToken"))
        accounts = node.keystore.list()
        if accounts:
            table = new_table(title="balances")
            for column in ("account", "address", "native (wei)", "DevToken"):
                table.add_column(column)
            for info in accounts:
                dev = str(token.balance_of(info.address)) if token is not None else "-"
                table.add_row(shown(info.name), info.address, str(chain.balance(info.address)), dev)
            console.print(table)
