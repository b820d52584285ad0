"""What the server's handlers share: settings, database, blobs, keystore, chain and escrow.

One ``ServerContext`` per worker process, built by the app's lifespan and closed at shutdown;
handlers get it through ``NodeDep`` (:mod:`datafair.api.deps`). The chain, the deployment and
the escrow client are opened on first use (a server that only takes answers never loads the
EVM). Every use of them runs on one dedicated thread (:meth:`ServerContext.with_chain`): the
embedded chain keeps a SQLite connection that only its own thread may use, and its EVM state
is not thread-safe; transactions are sent one at a time anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from datafair.settings import Settings
from datafair.store.blobs import BlobStore
from datafair.store.db import Database
from datafair.store.keystore import KeyStore

if TYPE_CHECKING:
    from datafair.chain.base import Chain, Sender
    from datafair.chain.deploy import Deployment
    from datafair.chain.escrow import EscrowClient

T = TypeVar("T")


class ServerContext:
    """The long-lived parts of one server process (see the module docstring)."""

    def __init__(self, settings: Settings, database: Database | None = None) -> None:
        self.settings = settings
        self._database = database
        self._chain: Chain | None = None
        self._chain_thread: threading.Thread | None = None
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="chain", initializer=self._mark_chain_thread
        )

    def _mark_chain_thread(self) -> None:
        self._chain_thread = threading.current_thread()

    def run_on_chain(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the chain's thread and return its result (or raise its error)."""
        if threading.current_thread() is self._chain_thread:
            return work()
        return self._executor.submit(work).result()

    @cached_property
    def db(self) -> Database:
        return self._database if self._database is not None else Database.open(self.settings)

    @cached_property
    def blobs(self) -> BlobStore:
        self.settings.blobs_dir.mkdir(parents=True, exist_ok=True)
        return BlobStore(self.settings.blobs_dir)

    @cached_property
    def keystore(self) -> KeyStore:
        return KeyStore(self.settings.keys_dir)

    def password(self) -> str | None:
        """The keystore password of the server's own accounts (``DATAFAIR_PASSWORD``)."""
        return self.settings.password

    @property
    def chain(self) -> Chain:
        """The chain (opened on first use, on the chain thread)."""

        def opened() -> Chain:
            if self._chain is None:
                from datafair.chain import open_chain

                account = self.settings.relayer_account if self.settings.rpc_url else None
                password = self.password() if account else None
                self._chain = open_chain(self.settings, self.settings.rpc_url, account, password)
            return self._chain

        return self.run_on_chain(opened)

    @cached_property
    def deployment(self) -> Deployment:
        from datafair.chain.deploy import load_deployment

        return self.run_on_chain(lambda: load_deployment(self.settings.chain_dir, self.chain))

    @cached_property
    def escrow(self) -> EscrowClient:
        from datafair.chain.escrow import EscrowClient

        return self.run_on_chain(
            lambda: EscrowClient(self.chain, self.deployment, self.settings.cache_dir)
        )

    def relayer(self) -> Sender:
        """Who sends the operator's transactions: the unlocked relayer account on an RPC chain,
        the deployment's owner on the embedded chain (which needs no key)."""
        if self.settings.rpc_url is None:
            return self.deployment.owner
        from datafair.core.errors import InvalidInput

        name = self.settings.relayer_account
        password = self.password()
        if name is None or password is None:
            raise InvalidInput(
                "relayer_account",
                "is not set, or DATAFAIR_PASSWORD is missing",
                "set DATAFAIR_RELAYER_ACCOUNT and DATAFAIR_PASSWORD for relayed claims",
            )
        return self.keystore.load(name, password)

    def with_chain(self, work: Callable[[EscrowClient], T]) -> T:
        """Run ``work(escrow)`` on the chain thread; its result."""
        return self.run_on_chain(lambda: work(self.escrow))

    def close(self) -> None:
        def closed() -> None:
            if self._chain is not None:
                self._chain.close()
                self._chain = None

        self.run_on_chain(closed)
        self._executor.shutdown(wait=True)
        if "db" in self.__dict__:
            self.db.dispose()
