"""The composition root: one :class:`Node` owns everything a datafair process works with.

A ``Node`` is built from :class:`~datafair.settings.Settings` (plus, for an external chain, a
JSON-RPC URL and the keystore account that signs there) and hands out, on first use and then
always the same object:

* ``db`` — the migrated :class:`~datafair.store.db.Database` (one engine per node);
* ``blobs`` — the content-addressed :class:`~datafair.store.blobs.BlobStore`;
* ``keystore`` — the encrypted :class:`~datafair.store.keystore.KeyStore`;
* ``chain`` — the embedded chain in the home, or an ``RpcChain`` when ``rpc_url`` is given;
* ``deployment`` — the contracts' :class:`~datafair.chain.deploy.Deployment` on that chain;
* ``escrow`` — the :class:`~datafair.chain.escrow.EscrowClient` on the deployment's TaskEscrow.

It is the single place that wires chain → deployment → escrow, and the single reader of the
keystore password (:meth:`Node.password`: the settings' ``password`` / ``$DATAFAIR_PASSWORD``,
then a prompt callback). The CLI builds one per command (``datafair.cli.common.open_node``); a
long-running server builds one at start-up and closes it at shutdown, in the manner of
datasette's single ``Datasette(...)`` object.

Threads: the lazy attributes are created under a lock, so concurrent first uses get the same
object. The database is safe to share (each request opens its own session). The chain is one
in-process EVM (or one RPC client with local nonces): code that sends transactions or reads
chain state from several threads holds :attr:`Node.chain_lock` around that work. Nothing heavy
(SQLAlchemy, web3, py-evm) is imported until the attribute that needs it is first read, so
importing this module keeps the CLI's start-up fast.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from datafair.core.errors import Conflict, InvalidInput, NotFound
from datafair.settings import Settings

if TYPE_CHECKING:
    from datafair.chain.base import Chain
    from datafair.chain.deploy import Deployment
    from datafair.chain.escrow import EscrowClient
    from datafair.store.blobs import BlobStore
    from datafair.store.db import Database
    from datafair.store.keystore import KeyStore

PASSWORD_ENV = "DATAFAIR_PASSWORD"

Prompt = Callable[[str, bool], str]
"""``prompt(text, confirm)``: ask a person for a secret (the CLI passes a hidden typer prompt)."""


def read_password(
    settings: Settings,
    prompt: Prompt | None = None,
    *,
    text: str = "Password",
    confirm: bool = False,
) -> str:
    """The keystore password: ``settings.password``, else ``$DATAFAIR_PASSWORD``, else a prompt.

    ``settings.password`` is itself read from ``$DATAFAIR_PASSWORD`` when the settings load; the
    environment is checked again for settings built before the variable was set. Without a
    prompt callback (a server, a script) a missing password is an ``InvalidInput``.
    """
    if settings.password is not None:
        return settings.password
    env = os.environ.get(PASSWORD_ENV)
    if env is not None:
        return env
    if prompt is None:
        raise InvalidInput("password", "is not set", f"set ${PASSWORD_ENV}")
    return prompt(text, confirm)


class Node:
    """Settings plus the lazily opened, cached services of one datafair process.

    Inputs: ``settings``; ``rpc_url`` (``None``: the embedded chain in ``settings.chain_dir``);
    ``account``, the keystore account that signs transactions on ``rpc_url`` (unlocked with
    :meth:`password` when the chain is first opened; ignored on the embedded chain, where any
    address may send); ``expected_chain_id`` (refuse a node on another chain); ``prompt``, how to
    ask for a missing password; ``database``, an already open database to use instead of the
    settings' one (the node then does not dispose it). ``account`` may be set after
    construction, until the chain is first opened (a command learns it from the keystore). Use
    as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        rpc_url: str | None = None,
        account: str | None = None,
        expected_chain_id: int | None = None,
        prompt: Prompt | None = None,
        database: Database | None = None,
    ) -> None:
        self.settings = settings
        self.rpc_url = rpc_url
        self.account = account
        self.expected_chain_id = expected_chain_id
        self.prompt = prompt
        self.chain_lock = threading.RLock()
        """Held by code that uses :attr:`chain` (or :attr:`escrow`) from several threads."""
        self._lock = threading.RLock()
        self._db = database
        self._owns_db = database is None
        self._blobs: BlobStore | None = None
        self._keystore: KeyStore | None = None
        self._chain: Chain | None = None
        self._deployment: Deployment | None = None
        self._escrow: EscrowClient | None = None
        self._closed = False

    # -- secrets -----------------------------------------------------------------------------------

    def password(self, text: str = "Password", *, confirm: bool = False) -> str:
        """The keystore password (see :func:`read_password`), prompting with ``text`` if needed."""
        return read_password(self.settings, self.prompt, text=text, confirm=confirm)

    # -- storage -----------------------------------------------------------------------------------

    @property
    def home(self) -> Path:
        return self.settings.home

    @property
    def db(self) -> Database:
        """The migrated database (created, with the home, on first use)."""
        if self._db is None:
            with self._lock:
                if self._db is None:
                    self._check_open()
                    from datafair.store.db import Database

                    self._db = Database.open(self.settings)
        return self._db

    @property
    def blobs(self) -> BlobStore:
        """The blob store in ``settings.blobs_dir``."""
        if self._blobs is None:
            with self._lock:
                if self._blobs is None:
                    from datafair.store.blobs import BlobStore

                    self._blobs = BlobStore(self.settings.blobs_dir)
        return self._blobs

    @property
    def keystore(self) -> KeyStore:
        """The keystore in ``settings.keys_dir``."""
        if self._keystore is None:
            with self._lock:
                if self._keystore is None:
                    from datafair.store.keystore import KeyStore

                    self._keystore = KeyStore(self.settings.keys_dir)
        return self._keystore

    # -- chain -------------------------------------------------------------------------------------

    @property
    def chain(self) -> Chain:
        """The embedded chain of the home, or the JSON-RPC node at ``rpc_url``."""
        if self._chain is None:
            with self._lock:
                if self._chain is None:
                    self._check_open()
                    self._chain = self._open_chain()
        return self._chain

    def _open_chain(self) -> Chain:
        from datafair.chain import open_chain

        signer = self.account if self.rpc_url is not None else None
        password = None
        if signer is not None:
            password = self.password(f"Password of {signer}")
        return open_chain(
            self.settings,
            self.rpc_url,
            signer,
            password,
            expected_chain_id=self.expected_chain_id,
        )

    @property
    def deployment_path(self) -> Path:
        """Where the deployment file of :attr:`chain` lives (``chain_dir/deployments/...``)."""
        from datafair.chain.deploy import deployment_path

        return deployment_path(self.settings.chain_dir, self.chain)

    @property
    def deployment(self) -> Deployment:
        """The contracts on :attr:`chain`; ``NotFound`` if they were never deployed there."""
        if self._deployment is None:
            with self._lock:
                if self._deployment is None:
                    from datafair.chain.deploy import load_deployment

                    self._deployment = load_deployment(self.settings.chain_dir, self.chain)
        return self._deployment

    @property
    def escrow(self) -> EscrowClient:
        """The client of the deployment's TaskEscrow."""
        if self._escrow is None:
            with self._lock:
                if self._escrow is None:
                    from datafair.chain.escrow import EscrowClient

                    self._escrow = EscrowClient(
                        self.chain, self.deployment, self.settings.cache_dir
                    )
        return self._escrow

    def has_deployment(self) -> bool:
        """Whether :attr:`deployment` loads (contracts deployed on this chain)."""
        try:
            self.deployment  # noqa: B018 - loading is the check
        except NotFound:
            return False
        return True

    def deploy(
        self,
        owner: str,
        *,
        fee_bps: int | None = None,
        dev_token: bool = True,
        evm_version: str | None = None,
        replace: bool = False,
    ) -> Deployment:
        """Deploy the contracts from ``owner``, save the deployment file and use it from now on.

        ``Conflict`` if a deployment file exists for this chain and ``replace`` is false.
        """
        from datafair.chain.deploy import DEFAULT_FEE_BPS, deploy_all, save_deployment

        with self._lock, self.deploy_lock():
            path = self.deployment_path
            if path.exists() and not replace:
                raise Conflict(
                    f"contracts are already deployed on {self.chain.name} ({path}); use --force"
                )
            deployment = deploy_all(
                self.chain,
                owner,
                fee_bps=DEFAULT_FEE_BPS if fee_bps is None else fee_bps,
                dev_token=dev_token,
                cache_dir=self.settings.cache_dir,
                evm_version=evm_version,
            )
            save_deployment(deployment, path)
            self._deployment = deployment
            self._escrow = None
        return deployment

    def deploy_lock(self, *, wait: bool = False) -> AbstractContextManager[None]:
        """The lock of this chain's deployment file (``Conflict`` if another process holds it,
        unless ``wait``); :meth:`deploy` takes it, a command may take it earlier."""
        from datafair.chain.deploy import deploy_lock

        return deploy_lock(self.deployment_path, wait=wait)

    def ensure_deployment(self, owner: str) -> Deployment:
        """The deployment on :attr:`chain`, deploying the contracts from ``owner`` if none
        (waiting for, then using, a deployment another process is making)."""
        with self._lock:
            if self.has_deployment():
                return self.deployment
            with self.deploy_lock(wait=True):
                if self.has_deployment():
                    return self.deployment
                return self.deploy(owner)

    def escrow_at(self, address: str) -> EscrowClient:
        """A client for the TaskEscrow at ``address`` on :attr:`chain` (no deployment file)."""
        from datafair.chain.escrow import escrow_at

        return escrow_at(self.chain, address, self.settings.cache_dir)

    # -- lifetime ----------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this datafair node is closed")

    def close(self) -> None:
        """Close the chain and dispose of the database (if the node opened it); idempotent."""
        with self._lock:
            self._closed = True
            chain, self._chain = self._chain, None
            self._escrow = None
            self._deployment = None
            if chain is not None:
                with self.chain_lock:
                    chain.close()
            database, self._db = self._db, None
            if database is not None and self._owns_db:
                database.dispose()

    def __enter__(self) -> Node:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
