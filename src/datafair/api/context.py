"""What the server's handlers share: settings, database, blobs, keystore, chain and escrow.

One ``ServerContext`` per worker process, built by the app's lifespan and closed at shutdown;
handlers get it through ``NodeDep`` (:mod:`datafair.api.deps`). The chain, the deployment and
the escrow client are opened on first use (a server that only takes answers never loads the
EVM) and used under one lock, as the embedded chain is not thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
        self.chain_lock = threading.RLock()
        self._chain: Chain | None = None

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
        with self.chain_lock:
            if self._chain is None:
                from datafair.chain import open_chain

                account = self.settings.relayer_account if self.settings.rpc_url else None
                password = self.password() if account else None
                self._chain = open_chain(self.settings, self.settings.rpc_url, account, password)
            return self._chain

    @cached_property
    def deployment(self) -> Deployment:
        from datafair.chain.deploy import load_deployment

        with self.chain_lock:
            return load_deployment(self.settings.chain_dir, self.chain)

    @cached_property
    def escrow(self) -> EscrowClient:
        from datafair.chain.escrow import EscrowClient

        with self.chain_lock:
            return EscrowClient(self.chain, self.deployment, self.settings.cache_dir)

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

    @contextmanager
    def on_chain(self) -> Iterator[EscrowClient]:
        """The escrow client, held under the chain lock for the block's duration."""
        with self.chain_lock:
            yield self.escrow

    def with_chain(self, work: Callable[[EscrowClient], T]) -> T:
        with self.on_chain() as escrow:
            return work(escrow)

    def close(self) -> None:
        with self.chain_lock:
            if self._chain is not None:
                self._chain.close()
                self._chain = None
        if "db" in self.__dict__:
            self.db.dispose()
