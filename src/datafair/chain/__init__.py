"""On-chain money: one ``Chain`` interface, the embedded and RPC adapters, deployment, escrow.

* :class:`datafair.chain.base.Chain` — deploy, call, transact, read events and balances.
* :class:`datafair.chain.embedded.EmbeddedChain` — in-process py-evm persisted in the data dir.
* :class:`datafair.chain.rpc.RpcChain` — any EVM JSON-RPC node through web3.py.
* :func:`datafair.chain.deploy.deploy_all` and the deployment file.
* :class:`datafair.chain.escrow.EscrowClient` — the TaskEscrow facade settlement uses.

:func:`open_chain` picks the adapter from settings; the heavy modules load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datafair.chain.base import Chain
    from datafair.settings import Settings


def open_chain(
    settings: Settings,
    rpc_url: str | None = None,
    account: str | None = None,
    password: str | None = None,
    *,
    expected_chain_id: int | None = None,
) -> Chain:
    """The embedded chain in ``settings.chain_dir``, or the node at ``rpc_url``.

    With ``rpc_url``, ``account`` names a keystore account (unlocked with ``password``) that
    signs transactions; ``expected_chain_id`` makes a node on another chain an error.
    """
    if rpc_url is None:
        from datafair.chain.embedded import EmbeddedChain
        from datafair.store.private import private_dir

        private_dir(settings.chain_dir)
        return EmbeddedChain(settings.chain_dir, settings.chain_id)

    from datafair.chain.rpc import RpcChain
    from datafair.store.keystore import KeyStore

    accounts = []
    if account is not None:
        if password is None:
            from datafair.core.errors import InvalidInput

            raise InvalidInput("password", f"is needed to unlock account {account!r}")
        accounts.append(KeyStore(settings.keys_dir).load(account, password))
    return RpcChain(rpc_url, accounts, expected_chain_id=expected_chain_id)
