"""Deploy datafair's contracts and keep a deployment file per chain in ``settings.chain_dir``.

``deploy_all`` deploys ``DevToken`` (development chains), ``TaskEscrow``, ``DatasetRegistry``
(bound to the escrow, whose royalty promises releases honour) and ``DatasetMarket`` (bound to the
registry, with the same fee rate and recipient as the escrow); the :class:`Deployment` file
records the chain id, addresses, first block, the SHA-256 of each contract source and the EVM
version the contracts were compiled for, so a later process (or ``datafair chain status``) can
find the contracts and notice sources that changed since.

One deployment per chain at a time: :func:`deploy_lock` holds an exclusive ``flock`` on
``<deployment file>.lock`` while a deployment runs, so a second concurrent ``datafair chain
deploy`` on the same chain refuses at once (``Conflict``) instead of deploying other contracts
and replacing the file. The deployment file is written atomically (temporary file, then
rename) and, like the lock file and the ``deployments`` folder, is private (0600/0700).
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from datafair.chain.base import Chain, Contract, Sender, address_of
from datafair.contracts import CONTRACT_NAMES, check_evm_version, load_contract
from datafair.core.errors import ChainError, Conflict, InvalidInput, NotFound
from datafair.store.private import private_dir, private_file

DEFAULT_FEE_BPS = 250
"""Fee rate set at deployment (2.5 %); the contract caps it at 5 %."""


@dataclass(frozen=True)
class Deployment:
    """Where datafair's contracts live on one chain."""

    network: str
    chain_id: int
    owner: str
    block: int
    addresses: dict[str, str]
    source_hashes: dict[str, str]
    deployed_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )
    evm_version: str | None = None
    """EVM version the contracts were compiled for; ``None`` in files written before it was
    recorded (those used Vyper's default)."""

    def address(self, name: str) -> str:
        """Address of contract ``name``; ``NotFound`` if it was not deployed."""
        try:
            return self.addresses[name]
        except KeyError:
            raise NotFound(f"contract {name} is not in the deployment on {self.network}") from None

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored in the deployment file."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        """Inverse of :meth:`to_json`."""
        return cls(**data)


def network_key(chain: Chain) -> str:
    """File stem of a chain's deployment: ``embedded`` or ``chain-<id>``."""
    return "embedded" if chain.name == "embedded" else f"chain-{chain.chain_id}"


def deployment_path(chain_dir: Path, chain: Chain) -> Path:
    """``chain_dir/deployments/<network>.json``."""
    return Path(chain_dir) / "deployments" / f"{network_key(chain)}.json"


def save_deployment(deployment: Deployment, path: Path) -> Path:
    """Write the deployment file atomically, private (0600); returns its path."""
    private_dir(path.parent, "chain")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(deployment.to_json(), handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


_HELD: dict[tuple[Path, int], int] = {}
"""Locks this process holds, by (deployment file, thread): re-entrant for the holding thread;
another thread opens its own descriptor, which ``flock`` refuses like another process."""
_HELD_GUARD = threading.Lock()


@contextmanager
def deploy_lock(path: Path, *, wait: bool = False) -> Iterator[None]:
    """Hold the deployment lock of deployment file ``path`` (``<path>.lock``, ``flock``).

    Another process (or thread) holding it: ``Conflict`` at once, or with ``wait`` block until
    it is released. Re-entrant within a thread (a command that locks, then deploys, locks once);
    the lock is released when the outermost holder exits or the process dies.
    """
    file = Path(os.path.abspath(path))
    key = (file, threading.get_ident())
    with _HELD_GUARD:
        if key in _HELD:
            _HELD[key] += 1
            held = True
        else:
            held = False
    if held:
        try:
            yield
        finally:
            with _HELD_GUARD:
                _HELD[key] -= 1
        return
    private_dir(file.parent, "chain")
    lock_path = private_file(file.with_name(file.name + ".lock"), "chain")
    descriptor = os.open(lock_path, os.O_RDWR)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise Conflict(
                f"another 'datafair chain deploy' is deploying to this chain now (lock "
                f"{lock_path}); wait for it to finish, then see 'datafair chain status'"
            ) from None
        with _HELD_GUARD:
            _HELD[key] = 1
        try:
            yield
        finally:
            with _HELD_GUARD:
                del _HELD[key]
    finally:
        os.close(descriptor)


def load_deployment(chain_dir: Path, chain: Chain) -> Deployment:
    """Read the deployment for ``chain``; ``NotFound`` if none, ``ChainError`` if stale."""
    path = deployment_path(chain_dir, chain)
    if not path.is_file():
        raise NotFound(f"no deployment for {chain.name}; run 'datafair chain deploy' first")
    try:
        deployment = Deployment.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise InvalidInput(str(path), "is not a deployment file", "delete it and redeploy") from exc
    if deployment.chain_id != chain.chain_id:
        raise ChainError(
            f"deployment {path} is for chain id {deployment.chain_id}, "
            f"the node reports {chain.chain_id}"
        )
    for name, address in deployment.addresses.items():
        if not chain.code_at(address):
            raise ChainError(
                f"{name} from {path} has no code at {address}; the chain was reset, redeploy"
            )
    return deployment


def deploy_all(
    chain: Chain,
    owner: Sender,
    *,
    fee_bps: int = DEFAULT_FEE_BPS,
    fee_recipient: str | None = None,
    dev_token: bool = True,
    cache_dir: Path | None = None,
    evm_version: str | None = None,
) -> Deployment:
    """Deploy DevToken (if ``dev_token``), TaskEscrow, DatasetRegistry and DatasetMarket.

    ``owner`` deploys and owns them; the escrow and the market charge ``fee_bps`` to
    ``fee_recipient`` (the owner when ``None``).

    The contracts are compiled for ``evm_version`` (Vyper's default when ``None``; e.g.
    ``"shanghai"`` for chains without Cancun's transient storage), which the deployment records.
    """
    version = check_evm_version(evm_version)
    owner_address = address_of(owner)
    addresses: dict[str, str] = {}
    hashes: dict[str, str] = {}
    first_block: int | None = None
    for name in CONTRACT_NAMES:
        if name == "DevToken" and not dev_token:
            continue
        compiled = load_contract(name, cache_dir, version)
        recipient = address_of(fee_recipient or owner_address)
        constructor_args: dict[str, list[Any]] = {
            "DevToken": ["datafair dev token", "DDEV", 18],
            "TaskEscrow": [fee_bps, recipient],
            "DatasetRegistry": [addresses.get("TaskEscrow")],
            "DatasetMarket": [addresses.get("DatasetRegistry"), fee_bps, recipient],
        }
        args = constructor_args[name]
        contract, receipt = chain.deploy(compiled, args, owner)
        addresses[name] = contract.address
        hashes[name] = compiled.source_hash
        first_block = receipt.block_number if first_block is None else first_block
    return Deployment(
        network=chain.name,
        chain_id=chain.chain_id,
        owner=owner_address,
        block=first_block or 0,
        addresses=addresses,
        source_hashes=hashes,
        evm_version=version,
    )


def contract(
    chain: Chain, deployment: Deployment, name: str, cache_dir: Path | None = None
) -> Contract:
    """Handle of deployed contract ``name`` (ABI from the source compiled as it was deployed)."""
    compiled = load_contract(name, cache_dir, deployment.evm_version)
    return Contract(name, deployment.address(name), compiled.abi)
