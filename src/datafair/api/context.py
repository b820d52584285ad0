"""What the server's handlers share: the worker's :class:`~datafair.node.Node`.

One ``ServerContext`` (a ``Node`` over the server's settings: ``DATAFAIR_RPC_URL`` and the
relayer account pick the chain and its signer) per worker process, built by the app's lifespan
and closed at shutdown; handlers get it through ``NodeDep`` (:mod:`datafair.api.deps`). The
chain, the deployment and the escrow client are opened on first use (a server that only takes
answers never loads the EVM). Every use of them runs on one dedicated thread
(:meth:`ServerContext.with_chain`) under the node's ``chain_lock``: the embedded chain's EVM
state is not thread-safe, and transactions are sent one at a time anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from datafair.node import Node
from datafair.settings import Settings

if TYPE_CHECKING:
    from datafair.chain.base import Sender
    from datafair.chain.escrow import EscrowClient
    from datafair.services.intake import GroupCommit
    from datafair.store.db import Database

T = TypeVar("T")


class ServerContext(Node):
    """The server's node, with a single thread for chain work (see the module docstring)."""

    def __init__(self, settings: Settings, database: Database | None = None) -> None:
        super().__init__(
            settings,
            rpc_url=settings.rpc_url,
            account=settings.relayer_account if settings.rpc_url else None,
            expected_chain_id=settings.chain_id if settings.rpc_url else None,
            database=database,
        )
        self._chain_thread: threading.Thread | None = None
        self._intake: GroupCommit | None = None
        self._intake_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="chain", initializer=self._mark_chain_thread
        )

    def _mark_chain_thread(self) -> None:
        self._chain_thread = threading.current_thread()

    def run_on_chain(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the chain's thread, holding ``chain_lock``; its result or error."""

        def locked() -> T:
            with self.chain_lock:
                return work()

        if threading.current_thread() is self._chain_thread:
            return locked()
        return self._executor.submit(locked).result()

    @property
    def intake(self) -> GroupCommit:
        """The group commit of single submissions (one per worker)."""
        if self._intake is None:
            with self._intake_lock:
                if self._intake is None:
                    from datafair.services.intake import GroupCommit

                    self._intake = GroupCommit(self.db.session)
        return self._intake

    def with_chain(self, work: Callable[[EscrowClient], T]) -> T:
        """Run ``work(escrow)`` on the chain thread; its result."""
        return self.run_on_chain(lambda: work(self.escrow))

    def relayer(self) -> Sender:
        """Who sends the operator's transactions: the unlocked relayer account on an RPC chain,
        the deployment's owner on the embedded chain (which needs no key)."""
        if self.settings.rpc_url is None:
            return self.deployment.owner
        from datafair.core.errors import InvalidInput

        name = self.settings.relayer_account
        if name is None:
            raise InvalidInput(
                "relayer_account",
                "is not set",
                "set DATAFAIR_RELAYER_ACCOUNT (and DATAFAIR_PASSWORD) for relayed claims",
            )
        return self.keystore.load(name, self.password())

    def close(self) -> None:
        try:
            if self._intake is not None:
                self._intake.close()
            self.run_on_chain(super().close)
        finally:
            self._executor.shutdown(wait=True)
