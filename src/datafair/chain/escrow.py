"""``EscrowClient``: the TaskEscrow operations settlement and the CLI use, in plain Python.

Ids and roots are 32-byte ``bytes``; amounts are integers in the token's base unit; payout
leaves are ``(index, account, amount)`` in a :class:`~datafair.crypto.merkle.StandardMerkleTree`
with :data:`~datafair.crypto.merkle.PAYOUT_LEAF_ENCODING`. Inputs are checked before anything is
sent (``InvalidInput`` naming the field); contract reverts arrive as one-line ``ChainError``
such as ``TaskEscrow.claim reverted: TaskEscrow: already claimed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from datafair.chain.base import Chain, Contract, Event, Receipt, Sender, address_of
from datafair.chain.deploy import Deployment, contract
from datafair.chain.tokens import TokenClient
from datafair.core.errors import InvalidInput
from datafair.crypto.merkle import PAYOUT_LEAF_ENCODING, StandardMerkleTree

MAX_PROOF = 32
MAX_CLAIMS = 32
MAX_ROYALTY_BPS = 9_500
"""Largest royalty share a task may promise: 10,000 bps less the 500 bps fee cap."""
_UINT256 = 2**256


@dataclass(frozen=True)
class TaskState:
    """A task as the escrow holds it; ``exists`` is false for unknown ids."""

    task_id: bytes
    requester: str
    token: str
    deadline: int
    gold_commitment: bytes
    deposited: int
    unallocated: int
    outstanding: int

    @property
    def exists(self) -> bool:
        """Whether the task was ever funded."""
        return int(self.requester, 16) != 0


@dataclass(frozen=True)
class ClaimRequest:
    """One leaf to claim: where it is and its proof (the account is given separately)."""

    task_id: bytes
    epoch: int
    index: int
    amount: int
    proof: tuple[bytes, ...]


def _bytes32(value: bytes, field: str) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise InvalidInput(field, "must be 32 bytes", "pass a bytes32 value, e.g. a keccak digest")
    return bytes(value)


def _uint(value: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _UINT256:
        raise InvalidInput(field, f"{value!r} is not a uint256", "pass a non-negative integer")
    return value


def _proof(proof: Sequence[bytes]) -> list[bytes]:
    if len(proof) > MAX_PROOF:
        raise InvalidInput("proof", f"has {len(proof)} elements", f"at most {MAX_PROOF} allowed")
    return [_bytes32(p, "proof") for p in proof]


def claim_request(
    tree: StandardMerkleTree, task_id: bytes, epoch: int, position: int
) -> tuple[str, ClaimRequest]:
    """The account and claim of leaf ``position`` of a payout ``tree``."""
    index, account, amount = tree.value(position)
    request = ClaimRequest(task_id, epoch, int(index), int(amount), tuple(tree.proof(position)))
    return address_of(account), request


class EscrowClient:
    """Fund tasks, post payouts, claim and refund on a deployed TaskEscrow."""

    def __init__(self, chain: Chain, deployment: Deployment, cache_dir: Path | None = None) -> None:
        """Bind to the TaskEscrow of ``deployment`` on ``chain``."""
        self.chain = chain
        self.deployment = deployment
        self.cache_dir = cache_dir
        self.contract: Contract = contract(chain, deployment, "TaskEscrow", cache_dir)

    @property
    def address(self) -> str:
        """The escrow's address."""
        return self.contract.address

    def token(self, address: str) -> TokenClient:
        """An ERC-20 client (DevToken ABI, a superset of ERC-20) for ``address``."""
        abi = contract(self.chain, self.deployment, "DevToken", self.cache_dir).abi
        return TokenClient(self.chain, Contract("ERC20", address_of(address), abi))

    # -- requester ---------------------------------------------------------------------------------

    def fund(
        self,
        task_id: bytes,
        token: str,
        amount: int,
        deadline: int,
        gold_commitment: bytes,
        *,
        sender: Sender,
        approve: bool = True,
        royalty_bps: int | None = None,
    ) -> Receipt:
        """Fund (or top up) ``task_id`` with ``amount`` of ``token``, approving first if needed.

        ``royalty_bps`` is the share of every future sale of data built from the task that it
        promises its contributors (``TaskEscrow.fund_with_royalty``): recorded at the first
        funding, repeated by top-ups; ``None`` funds without a promise (``TaskEscrow.fund``).
        """
        _bytes32(task_id, "task_id")
        _bytes32(gold_commitment, "gold_commitment")
        if _uint(amount, "amount") == 0:
            raise InvalidInput("amount", "is zero", "fund a positive amount")
        _uint(deadline, "deadline")
        args: list[object] = [task_id, address_of(token), amount, deadline, gold_commitment]
        if royalty_bps is not None:
            if _uint(royalty_bps, "royalty_bps") > MAX_ROYALTY_BPS:
                raise InvalidInput(
                    "royalty_bps",
                    f"{royalty_bps} is above {MAX_ROYALTY_BPS}",
                    "a sale's fee may take 5 %, so promise at most 95 %",
                )
            state = self.task(task_id)
            if state.exists and self.royalty_promise(task_id) != royalty_bps:
                raise InvalidInput(
                    "royalty_bps",
                    f"{royalty_bps} differs from the {self.royalty_promise(task_id)} bps the "
                    "task promised at its first funding",
                    "a top-up repeats the promise",
                )
            args.append(royalty_bps)
        if approve:
            self.token(token).ensure_allowance(self.address, amount, sender=sender)
        function = "fund" if royalty_bps is None else "fund_with_royalty"
        return self.chain.transact(self.contract, function, *args, sender=sender)

    def refund(self, task_id: bytes, *, sender: Sender) -> Receipt:
        """After the deadline, return the task's unallocated balance to its requester."""
        return self.chain.transact(
            self.contract, "refund", _bytes32(task_id, "task_id"), sender=sender
        )

    # -- operator ----------------------------------------------------------------------------------

    def post_payout(
        self,
        task_id: bytes,
        epoch: int,
        root: bytes,
        total: int,
        fee: int,
        bundle_cid: str,
        *,
        sender: Sender,
    ) -> Receipt:
        """Post the root of ``epoch``: ``total`` to contributors, ``fee`` to the platform."""
        _bytes32(task_id, "task_id")
        _bytes32(root, "root")
        if _uint(epoch, "epoch") == 0:
            raise InvalidInput("epoch", "is zero", "epochs start at 1")
        _uint(total, "total")
        _uint(fee, "fee")
        if not bundle_cid or len(bundle_cid.encode()) > 128:
            raise InvalidInput("bundle_cid", "must be 1-128 bytes", "pass the bundle's CIDv1")
        return self.chain.transact(
            self.contract,
            "post_payout",
            task_id,
            epoch,
            root,
            total,
            fee,
            bundle_cid,
            sender=sender,
        )

    def post_tree(
        self,
        task_id: bytes,
        epoch: int,
        tree: StandardMerkleTree,
        fee: int,
        bundle_cid: str,
        *,
        sender: Sender,
    ) -> Receipt:
        """Post a payout tree (leaf encoding ``(uint256, address, uint256)``); total = sum."""
        if tuple(tree.leaf_encoding) != PAYOUT_LEAF_ENCODING:
            raise InvalidInput(
                "tree", "is not a payout tree", "leaves must be (index, account, amount)"
            )
        total = sum(int(value[2]) for value in tree.values())
        return self.post_payout(task_id, epoch, tree.root, total, fee, bundle_cid, sender=sender)

    # -- contributors ------------------------------------------------------------------------------

    def claim(
        self,
        task_id: bytes,
        epoch: int,
        index: int,
        account: str,
        amount: int,
        proof: Sequence[bytes],
        *,
        sender: Sender,
    ) -> Receipt:
        """Pay leaf ``(index, account, amount)`` to ``account``; anyone may send it."""
        return self.chain.transact(
            self.contract,
            "claim",
            _bytes32(task_id, "task_id"),
            _uint(epoch, "epoch"),
            _uint(index, "index"),
            address_of(account),
            _uint(amount, "amount"),
            _proof(proof),
            sender=sender,
        )

    def claim_many(
        self, account: str, claims: Sequence[ClaimRequest], *, sender: Sender
    ) -> Receipt:
        """Pay several leaves of ``account`` (any tasks and epochs) in one transaction."""
        if not 0 < len(claims) <= MAX_CLAIMS:
            raise InvalidInput("claims", f"has {len(claims)} entries", f"pass 1 to {MAX_CLAIMS}")
        encoded = [
            (
                _bytes32(c.task_id, "task_id"),
                _uint(c.epoch, "epoch"),
                _uint(c.index, "index"),
                _uint(c.amount, "amount"),
                _proof(c.proof),
            )
            for c in claims
        ]
        return self.chain.transact(
            self.contract, "claim_many", address_of(account), encoded, sender=sender
        )

    # -- owner -------------------------------------------------------------------------------------

    def set_fee_bps(self, bps: int, *, sender: Sender) -> Receipt:
        """Set the fee rate (the contract refuses anything above ``MAX_FEE_BPS``)."""
        return self.chain.transact(
            self.contract, "set_fee_bps", _uint(bps, "fee_bps"), sender=sender
        )

    def set_fee_recipient(self, recipient: str, *, sender: Sender) -> Receipt:
        """Set where withdrawn fees go."""
        return self.chain.transact(
            self.contract, "set_fee_recipient", address_of(recipient), sender=sender
        )

    def set_operator(self, operator: str, status: bool, *, sender: Sender) -> Receipt:
        """Grant (``True``) or revoke the right to post payouts."""
        return self.chain.transact(
            self.contract, "set_operator", address_of(operator), status, sender=sender
        )

    def withdraw_fees(self, token: str, *, sender: Sender) -> Receipt:
        """Send accrued fees in ``token`` to the fee recipient."""
        return self.chain.transact(self.contract, "withdraw_fees", address_of(token), sender=sender)

    # -- reads -------------------------------------------------------------------------------------

    def task(self, task_id: bytes) -> TaskState:
        """The task's requester, token, deadline and balances."""
        view = self.chain.call(self.contract, "task", _bytes32(task_id, "task_id"))
        return TaskState(task_id=bytes(task_id), **view)

    def royalty_promise(self, task_id: bytes) -> int:
        """The royalty share (bps) the task promised at its first funding; 0 if none."""
        return int(
            self.chain.call(self.contract, "royalty_promise_bps", _bytes32(task_id, "task_id"))
        )

    def payout_root(self, task_id: bytes, epoch: int) -> bytes | None:
        """The posted root of ``epoch``, or ``None``."""
        root: bytes = self.chain.call(
            self.contract, "payout_root", _bytes32(task_id, "task_id"), epoch
        )
        return None if root == b"\0" * 32 else root

    def is_claimed(self, task_id: bytes, epoch: int, index: int) -> bool:
        """Whether leaf ``index`` of ``epoch`` has been paid."""
        return bool(
            self.chain.call(self.contract, "is_claimed", _bytes32(task_id, "task_id"), epoch, index)
        )

    def fee_bps(self) -> int:
        """Current fee rate in basis points."""
        return int(self.chain.call(self.contract, "fee_bps"))

    def max_fee_bps(self) -> int:
        """The immutable fee cap in basis points."""
        return int(self.chain.call(self.contract, "MAX_FEE_BPS"))

    def fee_recipient(self) -> str:
        """Where withdrawn fees go."""
        return str(self.chain.call(self.contract, "fee_recipient"))

    def fees_owed(self, token: str) -> int:
        """Fees accrued in ``token`` and not yet withdrawn."""
        return int(self.chain.call(self.contract, "fees_owed", address_of(token)))

    def is_operator(self, account: str) -> bool:
        """Whether ``account`` may post payouts."""
        return bool(self.chain.call(self.contract, "is_operator", address_of(account)))

    def owner(self) -> str:
        """The escrow's owner."""
        return str(self.chain.call(self.contract, "owner"))

    def events(self, name: str, from_block: int = 0, **indexed: object) -> list[Event]:
        """Decoded escrow events ``name`` (e.g. ``PayoutPosted``), filtered by indexed args."""
        return self.chain.events(self.contract, name, from_block, None, **indexed)


def escrow_at(chain: Chain, address: str, cache_dir: Path | None = None) -> EscrowClient:
    """A client for the TaskEscrow at ``address`` on ``chain``, without a deployment file.

    For auditors who know the escrow only by address (a bundle names it): the client's
    deployment lists that one contract, with the escrow as its nominal owner.
    """
    escrow = address_of(address)
    deployment = Deployment(
        network=chain.name,
        chain_id=chain.chain_id,
        owner=escrow,
        block=0,
        addresses={"TaskEscrow": escrow},
        source_hashes={},
    )
    return EscrowClient(chain, deployment, cache_dir)
