"""``MarketClient``: releases, listings, sales, licences and royalties on chain, in plain Python.

Works over any :class:`~datafair.chain.base.Chain` (embedded or RPC) with the DatasetRegistry and
DatasetMarket of a deployment. Amounts are integers in the token's base unit; dataset ids are the
registry's token ids; weights are integers. Inputs are checked before anything is sent and bad
input raises one-line ``InvalidInput`` naming the field (wrong proof or weight, a royalty below
the promised floor, a listing by someone who does not own the release, a zero price the listing
does not allow, too little allowance); contract reverts arrive as one-line ``ChainError`` such as
``DatasetMarket.claim reverted: DatasetMarket: invalid proof``.

Royalty weight trees are :class:`~datafair.crypto.merkle.StandardMerkleTree` with
:data:`~datafair.crypto.merkle.ROYALTY_LEAF_ENCODING` leaves ``(chain id, market, dataset id,
version, account, weight)``, one leaf per account (:func:`royalty_tree`).

Public API (``client = MarketClient(chain, deployment, cache_dir)``):

* module functions: ``royalty_tree(chain_id, market, dataset_id, version, weights)``,
  ``royalty_claim(tree, dataset_id, account)`` → ``(weight, RoyaltyClaim)``;
* releases: ``next_dataset_id()``, ``register_release(manifest_cid, version, weights,
  royalty_floor_bps, task_ids, *, sender, commit_weights=True)`` → ``RegisteredRelease``,
  ``commit_weights(dataset_id, weights, *, sender)`` → tree, ``release(dataset_id)`` →
  ``ReleaseInfo``, ``promised_floor(task_ids)``, ``dataset_owner(dataset_id)``,
  ``weights_tree(dataset_id, version, weights)``, ``release_tasks(dataset_id)``,
  ``audit_release(dataset_id, task_ids, weights_root=None, total_weight=None)`` → problems;
* listing: ``list_release(dataset_id, token, price, royalty_bps, terms_cid, *, sender,
  transferable=True, zero_price_ok=False)``, ``delist(dataset_id, *, sender)``,
  ``listing(dataset_id)`` → ``Listing``;
* buying: ``buy(dataset_id, *, sender, max_price=None, approve=True)`` → ``Purchase``,
  ``buy_with_permit(dataset_id, signer, *, max_price=None, deadline=None)`` → ``Purchase``,
  ``supports_permit(token)``, ``permit_signature(signer, token, value, deadline)``;
* royalties: ``claimable(dataset_id, account, weight)``, ``paid(dataset_id, account)``,
  ``claim(dataset_id, account, weight, proof, *, sender, expected_root=None)``,
  ``claim_many(account, claims, *, sender)``, ``sync_weights(dataset_id, *, sender)``,
  ``royalty_state(dataset_id)`` → ``RoyaltyState``;
* licences: ``licence(licence_id)`` → ``Licence``, ``licence_balance(account)``,
  ``licences_of(account, dataset_id=None)``, ``holds_licence(account, dataset_id,
  licence_id=None)``;
* fees: ``fee_bps()``, ``max_fee_bps()``, ``fee_recipient()``, ``fees_owed(token)``,
  ``withdraw_fees(token, *, sender)``, ``set_fee_bps(bps, *, sender)``,
  ``set_fee_recipient(address, *, sender)``;
* events: ``events(name, from_block=0, **indexed)`` (DatasetMarket), ``registry_events(...)``,
  ``sales(dataset_id=None, from_block=0)`` → ``list[Sale]``;
* ``token(address)`` → ``TokenClient``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import Hash32
from eth_utils.crypto import keccak

from datafair.chain.base import Chain, Contract, Event, Receipt, Sender, address_of
from datafair.chain.deploy import Deployment, contract
from datafair.chain.tokens import TokenClient
from datafair.core.errors import ChainError, InvalidInput, NotFound
from datafair.crypto.merkle import ROYALTY_LEAF_ENCODING, StandardMerkleTree

MAX_FEE_BPS = 500
"""The fee cap of DatasetMarket (and TaskEscrow), in basis points."""
MAX_ROYALTY_BPS = 10_000 - MAX_FEE_BPS
"""Largest royalty share a listing may give."""
MAX_PRICE = 2**96 - 1
"""Largest price a listing may ask."""
MAX_TOTAL_WEIGHT = 2**128 - 1
"""Largest total weight of a release."""
MAX_VERSION = 2**64 - 1
"""Largest release version."""
MAX_PROOF = 32
MAX_CLAIMS = 32
MAX_TASKS = 64
ACC_SCALE = 10**18
"""Scale of the royalty accumulator."""
_UINT256 = 2**256
_ZERO32 = b"\0" * 32
_PERMIT_TYPEHASH = keccak(
    text="Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
)


@dataclass(frozen=True)
class RoyaltyClaim:
    """One release's part of a ``claim_many``: the weight, the root it expects and the proof."""

    dataset_id: int
    weight: int
    expected_root: bytes
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class ReleaseInfo:
    """A registered release as DatasetRegistry holds it."""

    dataset_id: int
    owner: str
    manifest_cid: str
    version: int
    weights_root: bytes | None
    total_weight: int
    royalty_floor_bps: int
    registered_at: int


@dataclass(frozen=True)
class RegisteredRelease:
    """What ``register_release`` did: the id, the weights tree (if committed) and the receipt."""

    dataset_id: int
    tree: StandardMerkleTree | None
    receipt: Receipt


@dataclass(frozen=True)
class Listing:
    """A release's listing; ``token`` is empty for a release never listed."""

    dataset_id: int
    token: str
    price: int
    royalty_bps: int
    terms_cid: str
    listed: bool
    transferable: bool
    zero_price_ok: bool


@dataclass(frozen=True)
class RoyaltyState:
    """A release's royalty accounting on the market."""

    dataset_id: int
    token: str
    weights_root: bytes | None
    total_weight: int
    version: int
    acc: int
    carry: int
    held: int
    outstanding: int


@dataclass(frozen=True)
class Licence:
    """A licence NFT: holder (zero address if unknown), dataset and transferability."""

    licence_id: int
    holder: str
    dataset_id: int
    transferable: bool

    @property
    def exists(self) -> bool:
        """Whether the licence was ever minted."""
        return int(self.holder, 16) != 0


@dataclass(frozen=True)
class Sale:
    """One ``LicenceSold`` event: who bought which licence and how the price was split."""

    dataset_id: int
    licence_id: int
    buyer: str
    seller: str
    token: str
    price: int
    fee: int
    royalty: int
    acc: int
    block_number: int
    tx_hash: str

    @property
    def to_seller(self) -> int:
        """What the release's owner received."""
        return self.price - self.fee - self.royalty


@dataclass(frozen=True)
class Purchase:
    """The outcome of a buy: the licence minted, the sale and the receipt."""

    licence_id: int
    sale: Sale
    receipt: Receipt


# -- validation ------------------------------------------------------------------------------------


def _uint(value: int, field: str, limit: int = _UINT256) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
        raise InvalidInput(field, f"{value!r} is not an integer in 0..{limit - 1}", "fix the value")
    return value


def _bytes32(value: bytes, field: str) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise InvalidInput(field, "must be 32 bytes", "pass a bytes32 value")
    return bytes(value)


def _cid(value: str, field: str) -> str:
    if not isinstance(value, str) or not value or len(value.encode()) > 128:
        raise InvalidInput(field, "must be a CID of 1-128 bytes", "pass the CIDv1 string")
    return value


def _bps(value: int, field: str, top: int = MAX_ROYALTY_BPS) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise InvalidInput(field, f"{value!r} is outside 0..{top} bps", f"pass 0 to {top}")
    return value


def _proof(proof: Sequence[bytes]) -> tuple[bytes, ...]:
    if len(proof) > MAX_PROOF:
        raise InvalidInput("proof", f"has {len(proof)} elements", f"at most {MAX_PROOF} allowed")
    return tuple(_bytes32(p, "proof") for p in proof)


def _weights(weights: Mapping[str, int] | Iterable[tuple[str, int]]) -> dict[str, int]:
    """Weights by checksummed account; one entry per account, positive integers."""
    pairs = weights.items() if isinstance(weights, Mapping) else weights
    merged: dict[str, int] = {}
    for account, weight in pairs:
        key = address_of(account)
        if key in merged:
            raise InvalidInput("weights", f"{key} appears twice", "give one weight per account")
        if isinstance(weight, bool) or not isinstance(weight, int) or weight <= 0:
            raise InvalidInput(
                "weights", f"{key} has weight {weight!r}", "weights are positive integers"
            )
        merged[key] = weight
    if not merged:
        raise InvalidInput("weights", "is empty", "a release needs at least one contributor")
    total = sum(merged.values())
    if total > MAX_TOTAL_WEIGHT:
        raise InvalidInput("weights", f"total {total} is at least 2**128", "scale the weights down")
    return merged


def royalty_tree(
    chain_id: int,
    market: str,
    dataset_id: int,
    version: int,
    weights: Mapping[str, int] | Iterable[tuple[str, int]],
) -> StandardMerkleTree:
    """The weights tree of one release: leaves ``(chain_id, market, dataset_id, version, account,
    weight)``, sorted by account so the same weights always give the same tree."""
    merged = _weights(weights)
    market_address = address_of(market)
    leaves = [
        (chain_id, market_address, dataset_id, version, account, merged[account])
        for account in sorted(merged, key=str.lower)
    ]
    return StandardMerkleTree.of(leaves, ROYALTY_LEAF_ENCODING)


def royalty_claim(
    tree: StandardMerkleTree, dataset_id: int, account: str
) -> tuple[int, RoyaltyClaim]:
    """The weight and claim of ``account`` in a release's weights ``tree``."""
    wanted = address_of(account)
    for position, value in enumerate(tree.values()):
        if address_of(value[4]) == wanted:
            if int(value[2]) != dataset_id:
                raise InvalidInput(
                    "dataset_id", f"the tree is for dataset {value[2]}", "use that dataset's tree"
                )
            weight = int(value[5])
            claim = RoyaltyClaim(dataset_id, weight, tree.root, tuple(tree.proof(position)))
            return weight, claim
    raise InvalidInput("account", f"{wanted} has no weight in this release", "check the account")


class MarketClient:
    """List releases, buy licences and claim royalties on a deployed DatasetMarket."""

    def __init__(self, chain: Chain, deployment: Deployment, cache_dir: Path | None = None) -> None:
        """Bind to the DatasetRegistry, DatasetMarket and TaskEscrow of ``deployment``."""
        self.chain = chain
        self.deployment = deployment
        self.cache_dir = cache_dir
        self.contract: Contract = contract(chain, deployment, "DatasetMarket", cache_dir)
        self.registry: Contract = contract(chain, deployment, "DatasetRegistry", cache_dir)
        self.escrow: Contract = contract(chain, deployment, "TaskEscrow", cache_dir)

    @property
    def address(self) -> str:
        """The market's address."""
        return self.contract.address

    def token(self, address: str) -> TokenClient:
        """An ERC-20 client (DevToken ABI, a superset of ERC-20 with permit) for ``address``."""
        abi = contract(self.chain, self.deployment, "DevToken", self.cache_dir).abi
        return TokenClient(self.chain, Contract("ERC20", address_of(address), abi))

    # -- releases ----------------------------------------------------------------------------------

    def next_dataset_id(self) -> int:
        """The id DatasetRegistry will give the next release."""
        return int(self.chain.call(self.registry, "next_id"))

    def weights_tree(
        self, dataset_id: int, version: int, weights: Mapping[str, int] | Iterable[tuple[str, int]]
    ) -> StandardMerkleTree:
        """The weights tree of a release on this chain and market."""
        return royalty_tree(self.chain.chain_id, self.address, dataset_id, version, weights)

    def promised_floor(self, task_ids: Sequence[bytes]) -> int:
        """The largest royalty share (bps) any of ``task_ids`` promised at funding (0 if none)."""
        promises = [
            int(self.chain.call(self.escrow, "royalty_promise_bps", _bytes32(t, "task_ids")))
            for t in task_ids
        ]
        return max(promises, default=0)

    def register_release(
        self,
        manifest_cid: str,
        version: int,
        weights: Mapping[str, int] | Iterable[tuple[str, int]] | None,
        royalty_floor_bps: int,
        task_ids: Sequence[bytes] = (),
        *,
        sender: Sender,
    ) -> RegisteredRelease:
        """Register a frozen release (minting its token to ``sender``) with its weights tree.

        ``weights`` may be ``None``: the release is registered without weights, its royalties are
        held by the market until :meth:`commit_weights`. The floor must be at least every named
        task's promise. The tree is built for the next dataset id; if another release takes that
        id first, the tree is rebuilt once for the following id.
        """
        _cid(manifest_cid, "manifest_cid")
        if _uint(version, "version", MAX_VERSION + 1) == 0:
            raise InvalidInput("version", "is zero", "versions start at 1")
        _bps(royalty_floor_bps, "royalty_floor_bps")
        if len(task_ids) > MAX_TASKS:
            raise InvalidInput("task_ids", f"has {len(task_ids)} entries", f"at most {MAX_TASKS}")
        tasks = [_bytes32(t, "task_ids") for t in task_ids]
        for task in tasks:
            promised = self.promised_floor([task])
            if royalty_floor_bps < promised:
                raise InvalidInput(
                    "royalty_floor_bps",
                    f"{royalty_floor_bps} is below the {promised} bps task 0x{task.hex()} "
                    "promised its contributors",
                    f"register with a floor of at least {promised}",
                )
        merged = None if weights is None else _weights(weights)
        key = keccak(text=manifest_cid)
        if int(self.chain.call(self.registry, "token_of_manifest", key)):
            raise InvalidInput(
                "manifest_cid", f"{manifest_cid} is already registered", "release a new version"
            )
        for attempt in (0, 1):
            dataset_id = self.next_dataset_id()
            tree = None if merged is None else self.weights_tree(dataset_id, version, merged)
            root = _ZERO32 if tree is None else tree.root
            total = 0 if merged is None else sum(merged.values())
            try:
                receipt = self.chain.transact(
                    self.registry,
                    "register",
                    dataset_id,
                    manifest_cid,
                    version,
                    root,
                    total,
                    royalty_floor_bps,
                    tasks,
                    sender=sender,
                )
            except ChainError as error:
                if attempt == 0 and "dataset id is not the next id" in str(error):
                    continue
                raise
            return RegisteredRelease(dataset_id, tree, receipt)
        raise ChainError("DatasetRegistry.register: the next dataset id kept changing; retry")

    def commit_weights(
        self,
        dataset_id: int,
        weights: Mapping[str, int] | Iterable[tuple[str, int]],
        *,
        sender: Sender,
    ) -> StandardMerkleTree:
        """Commit the weights of a release registered without them, then adopt them on the
        market if the release is listed. Returns the weights tree."""
        info = self.release(dataset_id)
        if address_of(sender) != info.owner:
            raise InvalidInput(
                "sender", f"{address_of(sender)} does not own dataset {dataset_id}", info.owner
            )
        if info.weights_root is not None:
            raise InvalidInput(
                "dataset_id", f"dataset {dataset_id} already has weights", "they are final"
            )
        merged = _weights(weights)
        tree = self.weights_tree(dataset_id, info.version, merged)
        self.chain.transact(
            self.registry,
            "commit_weights",
            dataset_id,
            tree.root,
            sum(merged.values()),
            sender=sender,
        )
        if self.listing(dataset_id).token != "0x" + "00" * 20:
            self.sync_weights(dataset_id, sender=sender)
        return tree

    def release(self, dataset_id: int) -> ReleaseInfo:
        """A registered release; ``NotFound`` if there is none."""
        _uint(dataset_id, "dataset_id")
        if not 0 < dataset_id < self.next_dataset_id():
            raise NotFound(f"no dataset {dataset_id} in the registry")
        view = self.chain.call(self.registry, "dataset", dataset_id)
        return ReleaseInfo(
            dataset_id=dataset_id,
            owner=self.dataset_owner(dataset_id),
            manifest_cid=view["manifest_cid"],
            version=int(view["version"]),
            weights_root=None if view["weights_root"] == _ZERO32 else view["weights_root"],
            total_weight=int(view["total_weight"]),
            royalty_floor_bps=int(view["royalty_floor_bps"]),
            registered_at=int(view["registered_at"]),
        )

    def release_tasks(self, dataset_id: int) -> list[bytes]:
        """The task ids a release named at registration (from its ``DatasetRegistered`` event)."""
        events = self.registry_events("DatasetRegistered", token_id=_uint(dataset_id, "dataset_id"))
        if not events:
            raise NotFound(f"no dataset {dataset_id} in the registry")
        return [bytes(t) for t in events[0].args["task_ids"]]

    def audit_release(
        self,
        dataset_id: int,
        task_ids: Sequence[bytes],
        weights_root: bytes | None = None,
        total_weight: int | None = None,
    ) -> list[str]:
        """What is wrong with a release on chain against its bundle, one line each (empty: none).

        Checks that the registration named exactly the bundle's ``task_ids``, that the recorded
        floor honours each task's promise at funding, that the listing (if any) gives at least
        the floor, and, when given, that the weights root and total are the bundle's.
        """
        info = self.release(dataset_id)
        problems = []
        named = self.release_tasks(dataset_id)
        wanted = [_bytes32(t, "task_ids") for t in task_ids]
        if sorted(named) != sorted(wanted):
            problems.append(
                f"dataset {dataset_id} names tasks {sorted(t.hex() for t in named)}, "
                f"the bundle {sorted(t.hex() for t in wanted)}"
            )
        for task in wanted:
            promised = self.promised_floor([task])
            if info.royalty_floor_bps < promised:
                problems.append(
                    f"dataset {dataset_id}'s royalty floor {info.royalty_floor_bps} bps is below "
                    f"the {promised} bps task 0x{task.hex()} promised"
                )
        listing = self.listing(dataset_id)
        if listing.listed and listing.royalty_bps < info.royalty_floor_bps:
            problems.append(
                f"dataset {dataset_id} is listed with {listing.royalty_bps} bps, "
                f"below its floor {info.royalty_floor_bps}"
            )
        if weights_root is not None and info.weights_root != weights_root:
            problems.append(f"dataset {dataset_id}'s weights root differs from the bundle's")
        if total_weight is not None and info.total_weight != total_weight:
            problems.append(
                f"dataset {dataset_id}'s total weight {info.total_weight} differs from the "
                f"bundle's {total_weight}"
            )
        return problems

    def dataset_owner(self, dataset_id: int) -> str:
        """The current owner of a release token."""
        return address_of(str(self.chain.call(self.registry, "ownerOf", dataset_id)))

    # -- listing -----------------------------------------------------------------------------------

    def list_release(
        self,
        dataset_id: int,
        token: str,
        price: int,
        royalty_bps: int,
        terms_cid: str,
        *,
        sender: Sender,
        transferable: bool = True,
        zero_price_ok: bool = False,
    ) -> Receipt:
        """List a release (or change its listing); only the release token's owner."""
        info = self.release(dataset_id)
        seller = address_of(sender)
        if seller != info.owner:
            raise InvalidInput(
                "sender",
                f"{seller} does not own dataset {dataset_id} (its owner is {info.owner})",
                "list from the owner's account",
            )
        token_address = address_of(token)
        _uint(price, "price", MAX_PRICE + 1)
        if price == 0 and not zero_price_ok:
            raise InvalidInput("price", "is 0", "set a price, or pass zero_price_ok to give away")
        _bps(royalty_bps, "royalty_bps")
        if royalty_bps < info.royalty_floor_bps:
            raise InvalidInput(
                "royalty_bps",
                f"{royalty_bps} is below the {info.royalty_floor_bps} bps promised to the "
                "release's contributors",
                f"list with at least {info.royalty_floor_bps}",
            )
        _cid(terms_cid, "terms_cid")
        current = self.listing(dataset_id).token
        if int(current, 16) and current != token_address:
            raise InvalidInput(
                "token",
                f"dataset {dataset_id}'s royalties are kept in {current}",
                "list in the same token",
            )
        return self.chain.transact(
            self.contract,
            "list",
            dataset_id,
            token_address,
            price,
            royalty_bps,
            terms_cid,
            bool(transferable),
            bool(zero_price_ok),
            sender=sender,
        )

    def delist(self, dataset_id: int, *, sender: Sender) -> Receipt:
        """Withdraw a listing (licences sold and royalties stay)."""
        return self.chain.transact(
            self.contract, "delist", _uint(dataset_id, "dataset_id"), sender=sender
        )

    def listing(self, dataset_id: int) -> Listing:
        """A release's listing (``token`` is the zero address if never listed)."""
        view = self.chain.call(self.contract, "listing", _uint(dataset_id, "dataset_id"))
        return Listing(dataset_id=dataset_id, **view)

    # -- buying ------------------------------------------------------------------------------------

    def _listed(self, dataset_id: int, max_price: int | None) -> tuple[Listing, int]:
        listing = self.listing(dataset_id)
        if not listing.listed:
            raise InvalidInput("dataset_id", f"dataset {dataset_id} is not listed", "pick another")
        limit = listing.price if max_price is None else _uint(max_price, "max_price")
        if listing.price > limit:
            raise InvalidInput(
                "max_price",
                f"{limit} is below the price {listing.price}",
                "raise max_price or wait for a lower price",
            )
        return listing, limit

    def _purchase(self, dataset_id: int, receipt: Receipt) -> Purchase:
        (event,) = self.contract.decode_logs(receipt.logs, "LicenceSold")
        sale = _sale(event)
        return Purchase(sale.licence_id, sale, receipt)

    def buy(
        self,
        dataset_id: int,
        *,
        sender: Sender,
        max_price: int | None = None,
        approve: bool = True,
    ) -> Purchase:
        """Buy one licence at the listed price (approving the price first unless ``approve`` is
        false, in which case too little allowance is refused before sending)."""
        listing, limit = self._listed(dataset_id, max_price)
        buyer = address_of(sender)
        if listing.price:
            token = self.token(listing.token)
            balance = token.balance_of(buyer)
            if balance < listing.price:
                raise InvalidInput(
                    "balance", f"{buyer} holds {balance}, the price is {listing.price}", "top up"
                )
            if approve:
                token.ensure_allowance(self.address, listing.price, sender=sender)
            elif (allowance := token.allowance(buyer, self.address)) < listing.price:
                raise InvalidInput(
                    "allowance",
                    f"{buyer} allows the market {allowance}, the price is {listing.price}",
                    "approve the price first or buy with a permit",
                )
        receipt = self.chain.transact(self.contract, "buy", dataset_id, limit, sender=sender)
        return self._purchase(dataset_id, receipt)

    def supports_permit(self, token: str) -> bool:
        """Whether ``token`` answers EIP-2612's ``DOMAIN_SEPARATOR`` and ``nonces``."""
        client = self.token(token)
        try:
            self.chain.call(client.contract, "DOMAIN_SEPARATOR")
            self.chain.call(client.contract, "nonces", self.address)
        except (ChainError, ValueError, TypeError):
            return False
        return True

    def permit_signature(
        self, signer: LocalAccount, token: str, value: int, deadline: int
    ) -> tuple[int, bytes, bytes]:
        """An EIP-2612 permit by ``signer`` for the market to pull ``value``: ``(v, r, s)``."""
        client = self.token(token)
        domain = self.chain.call(client.contract, "DOMAIN_SEPARATOR")
        nonce = int(self.chain.call(client.contract, "nonces", signer.address))
        from eth_abi.abi import encode

        struct_hash = keccak(
            encode(
                ["bytes32", "address", "address", "uint256", "uint256", "uint256"],
                [_PERMIT_TYPEHASH, signer.address, self.address, value, nonce, deadline],
            )
        )
        digest = keccak(b"\x19\x01" + bytes(domain) + struct_hash)
        signed = signer.unsafe_sign_hash(Hash32(digest))
        return int(signed.v), signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")

    def buy_with_permit(
        self,
        dataset_id: int,
        signer: LocalAccount,
        *,
        max_price: int | None = None,
        deadline: int | None = None,
    ) -> Purchase:
        """Buy one licence in one transaction, paying through an EIP-2612 permit ``signer``
        signs for ``max_price`` (the listed price when ``None``); ``deadline`` defaults to an
        hour from the chain's clock."""
        if not isinstance(signer, LocalAccount):
            raise InvalidInput("signer", "must be an unlocked account", "load the buyer's key")
        listing, limit = self._listed(dataset_id, max_price)
        if not self.supports_permit(listing.token):
            raise InvalidInput(
                "token", f"{listing.token} does not support EIP-2612 permit", "use buy (approve)"
            )
        balance = self.token(listing.token).balance_of(signer.address)
        if balance < listing.price:
            raise InvalidInput(
                "balance", f"{signer.address} holds {balance}, the price is {listing.price}", ""
            )
        when = deadline if deadline is not None else self.chain.timestamp() + 3600
        v, r, s = self.permit_signature(signer, listing.token, limit, _uint(when, "deadline"))
        receipt = self.chain.transact(
            self.contract, "buy_with_permit", dataset_id, limit, when, v, r, s, sender=signer
        )
        return self._purchase(dataset_id, receipt)

    # -- royalties ---------------------------------------------------------------------------------

    def royalty_state(self, dataset_id: int) -> RoyaltyState:
        """A release's accumulator, carry, held and unclaimed royalties, root and total."""
        view = self.chain.call(self.contract, "royalty_state", _uint(dataset_id, "dataset_id"))
        root = view.pop("weights_root")
        return RoyaltyState(
            dataset_id=dataset_id, weights_root=None if root == _ZERO32 else root, **view
        )

    def claimable(self, dataset_id: int, account: str, weight: int) -> int:
        """What a claim of ``account`` with ``weight`` would pay now."""
        return int(
            self.chain.call(
                self.contract,
                "claimable",
                _uint(dataset_id, "dataset_id"),
                address_of(account),
                _uint(weight, "weight"),
            )
        )

    def paid(self, dataset_id: int, account: str) -> int:
        """What ``account`` has been paid of a release's royalties so far."""
        return int(self.chain.call(self.contract, "paid", dataset_id, address_of(account)))

    def _check_claim(self, dataset_id: int, account: str, claim: RoyaltyClaim) -> RoyaltyState:
        state = self.royalty_state(dataset_id)
        if state.weights_root is None:
            raise InvalidInput(
                "dataset_id",
                f"dataset {dataset_id} has no weights on the market yet",
                "commit the weights (and sync) first",
            )
        if claim.expected_root != state.weights_root:
            raise InvalidInput(
                "expected_root",
                f"0x{claim.expected_root.hex()} is not dataset {dataset_id}'s weights root",
                f"use 0x{state.weights_root.hex()}",
            )
        leaf = (self.chain.chain_id, self.address, dataset_id, state.version, account, claim.weight)
        if not StandardMerkleTree.verify(
            state.weights_root, ROYALTY_LEAF_ENCODING, leaf, claim.proof
        ):
            raise InvalidInput(
                "proof",
                f"does not prove weight {claim.weight} for {account} in dataset {dataset_id}",
                "take the weight and proof from the release's weights tree",
            )
        return state

    def claim(
        self,
        dataset_id: int,
        account: str,
        weight: int,
        proof: Sequence[bytes],
        *,
        sender: Sender,
        expected_root: bytes | None = None,
    ) -> Receipt:
        """Pay ``account`` its royalties accrued in a release since its last claim."""
        who = address_of(account)
        _uint(dataset_id, "dataset_id")
        if expected_root is None:
            expected_root = self.royalty_state(dataset_id).weights_root or _ZERO32
        claim = RoyaltyClaim(
            dataset_id,
            _uint(weight, "weight"),
            _bytes32(expected_root, "expected_root"),
            _proof(proof),
        )
        self._check_claim(dataset_id, who, claim)
        if self.claimable(dataset_id, who, weight) == 0:
            raise InvalidInput(
                "account", f"{who} has nothing to claim in dataset {dataset_id}", "wait for sales"
            )
        return self.chain.transact(
            self.contract,
            "claim",
            dataset_id,
            who,
            weight,
            claim.expected_root,
            list(claim.proof),
            sender=sender,
        )

    def claim_many(
        self, account: str, claims: Sequence[RoyaltyClaim], *, sender: Sender
    ) -> Receipt:
        """Pay ``account`` its royalties from several releases in one transaction."""
        who = address_of(account)
        if not 0 < len(claims) <= MAX_CLAIMS:
            raise InvalidInput("claims", f"has {len(claims)} entries", f"pass 1 to {MAX_CLAIMS}")
        owed = 0
        for c in claims:
            _uint(c.dataset_id, "dataset_id")
            _uint(c.weight, "weight")
            _bytes32(c.expected_root, "expected_root")
            _proof(c.proof)
            self._check_claim(c.dataset_id, who, c)
            owed += self.claimable(c.dataset_id, who, c.weight)
        if owed == 0:
            raise InvalidInput("claims", f"{who} has nothing to claim in them", "wait for sales")
        encoded = [(c.dataset_id, c.weight, c.expected_root, list(c.proof)) for c in claims]
        return self.chain.transact(self.contract, "claim_many", who, encoded, sender=sender)

    def sync_weights(self, dataset_id: int, *, sender: Sender) -> Receipt:
        """Adopt weights committed in the registry after the release was listed."""
        return self.chain.transact(
            self.contract, "sync_weights", _uint(dataset_id, "dataset_id"), sender=sender
        )

    # -- licences ----------------------------------------------------------------------------------

    def licence(self, licence_id: int) -> Licence:
        """A licence; ``exists`` is false for ids never minted."""
        view = self.chain.call(self.contract, "licence", _uint(licence_id, "licence_id"))
        return Licence(licence_id=licence_id, **view)

    def licence_balance(self, account: str) -> int:
        """How many licences (of any dataset) ``account`` holds."""
        return int(self.chain.call(self.contract, "balanceOf", address_of(account)))

    def licences_of(self, account: str, dataset_id: int | None = None) -> list[int]:
        """Ids of the licences ``account`` holds now (of ``dataset_id`` if given), found through
        the ``Transfer`` events to it and checked against the current holders."""
        who = address_of(account)
        received = {
            int(e.args["token_id"])
            for e in self.chain.events(self.contract, "Transfer", 0, None, receiver=who)
        }
        held = []
        for licence_id in sorted(received):
            licence = self.licence(licence_id)
            if licence.holder == who and dataset_id in (None, licence.dataset_id):
                held.append(licence_id)
        return held

    def holds_licence(self, account: str, dataset_id: int, licence_id: int | None = None) -> bool:
        """Whether ``account`` holds a licence of ``dataset_id`` (the given one, or any)."""
        who = address_of(account)
        if licence_id is not None:
            licence = self.licence(licence_id)
            return licence.holder == who and licence.dataset_id == dataset_id
        return bool(self.licences_of(who, dataset_id))

    # -- fees and owner ----------------------------------------------------------------------------

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

    def withdraw_fees(self, token: str, *, sender: Sender) -> Receipt:
        """Send accrued fees in ``token`` to the fee recipient."""
        return self.chain.transact(self.contract, "withdraw_fees", address_of(token), sender=sender)

    def set_fee_bps(self, bps: int, *, sender: Sender) -> Receipt:
        """Set the fee rate (the contract refuses anything above ``MAX_FEE_BPS``)."""
        return self.chain.transact(
            self.contract, "set_fee_bps", _bps(bps, "fee_bps", MAX_FEE_BPS), sender=sender
        )

    def set_fee_recipient(self, recipient: str, *, sender: Sender) -> Receipt:
        """Set where withdrawn fees go."""
        return self.chain.transact(
            self.contract, "set_fee_recipient", address_of(recipient), sender=sender
        )

    # -- events ------------------------------------------------------------------------------------

    def events(self, name: str, from_block: int = 0, **indexed: object) -> list[Event]:
        """Decoded DatasetMarket events ``name`` (e.g. ``LicenceSold``), by indexed args."""
        return self.chain.events(self.contract, name, from_block, None, **indexed)

    def registry_events(self, name: str, from_block: int = 0, **indexed: object) -> list[Event]:
        """Decoded DatasetRegistry events ``name`` (e.g. ``DatasetRegistered``)."""
        return self.chain.events(self.registry, name, from_block, None, **indexed)

    def sales(self, dataset_id: int | None = None, from_block: int = 0) -> list[Sale]:
        """Every sale (of ``dataset_id`` if given), oldest first."""
        filters: dict[str, Any] = {} if dataset_id is None else {"dataset_id": dataset_id}
        return [_sale(e) for e in self.events("LicenceSold", from_block, **filters)]


def _sale(event: Event) -> Sale:
    args = event.args
    return Sale(
        dataset_id=int(args["dataset_id"]),
        licence_id=int(args["licence_id"]),
        buyer=address_of(args["buyer"]),
        seller=address_of(args["seller"]),
        token=address_of(args["token"]),
        price=int(args["price"]),
        fee=int(args["fee"]),
        royalty=int(args["royalty"]),
        acc=int(args["acc"]),
        block_number=event.block_number,
        tx_hash=event.tx_hash,
    )
