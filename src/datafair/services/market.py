"""The data market's use cases: browse and search releases, list, buy, royalties, downloads.

* **Browse and search** (:func:`browse`): releases filtered by modality, task type, licence,
  language, size, measured quality and price, and full-text search on their cards: SQLite FTS5
  (``release_search``, kept by :func:`index_release`) or PostgreSQL ``to_tsvector('simple',
  ...) @@ plainto_tsquery('simple', ...)`` over title and card (GIN-indexed).
* **Sell and buy** (:func:`list_release`, :func:`buy_release`): thin checks around
  :class:`datafair.chain.market.MarketClient`, recording the listing locally for browsing.
* **Royalties** (:func:`royalties_of`, :func:`claim_royalties`): a contributor's weight in each
  release (from the stored weight leaves), what is claimable on chain, and one ``claim_many``
  with the Merkle proofs built from the stored leaves.
* **Downloads, only for licence holders** (:func:`issue_download`, :func:`open_download`): the
  wallet's licence is checked on chain (:class:`LicenceCache`, cached for a short TTL); a holder
  gets an expiring URL signed with HMAC-SHA256 under the node's download secret; opening it
  checks the signature and the expiry and decrypts the release data. Everyone else gets the card
  and a sample (:func:`public_view`).
* **Encryption at rest** (:func:`encrypt_release_data`): the release data is kept in the blob
  store (the store a node publishes to IPFS) as AES-256-GCM ciphertext under a key derived from
  the download secret and the manifest (HMAC-SHA256), so its CID alone gives no access.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import column, select, text
from sqlalchemy.orm import Session

from datafair.core.errors import ChainError, Conflict, InvalidInput, NotFound
from datafair.crypto.cid import is_cid
from datafair.services.release_files import (
    AccessDenied,
    decrypt_release_data,
)
from datafair.services.releases import ReleaseInfo, info_of
from datafair.store.blobs import BlobStore
from datafair.store.market_models import Release, ReleaseWeight

Clock = Callable[[], float]
_PG_SEARCH = "to_tsvector('simple', releases.title || ' ' || releases.card_text)"


# ------------------------------------------------------------------------------ search


def _fts_query(query: str) -> str:
    """A user's words as an FTS5 query of quoted terms (all must match), so no character of
    theirs is read as FTS5 syntax."""
    words = [w.replace('"', '""') for w in query.split()]
    return " ".join(f'"{w}"' for w in words)


@dataclass(frozen=True)
class ReleaseFilter:
    """Browse filters; ``None`` means any. Quality bounds are fractions in ``[0, 1]``; prices
    are in base units (a release not listed has no price and is left out by a price bound)."""

    query: str | None = None
    modality: str | None = None
    task_type: str | None = None
    license: str | None = None
    language: str | None = None
    min_items: int | None = None
    max_items: int | None = None
    min_agreement: float | None = None
    min_gold_accuracy: float | None = None
    min_inferred_accuracy: float | None = None
    max_price: int | None = None
    listed_only: bool = False

    def check(self) -> None:
        for name in ("min_agreement", "min_gold_accuracy", "min_inferred_accuracy"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise InvalidInput(name, f"{value} is not a fraction", "give a value in 0..1")
        for name in ("min_items", "max_items", "max_price"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise InvalidInput(name, "must not be negative")
        if self.query is not None and not self.query.strip():
            raise InvalidInput("query", "is empty", "type words to search for, or leave it out")


def browse(session: Session, filters: ReleaseFilter | None = None) -> list[ReleaseInfo]:
    """Releases matching ``filters``, newest first."""
    filters = filters or ReleaseFilter()
    filters.check()
    query = select(Release)
    if filters.query:
        if session.get_bind().dialect.name == "sqlite":
            matched = text("SELECT rowid FROM release_search WHERE release_search MATCH :q")
            query = query.where(
                Release.id.in_(
                    matched.bindparams(q=_fts_query(filters.query)).columns(column("rowid"))
                )
            )
        else:
            query = query.where(
                text(f"{_PG_SEARCH} @@ plainto_tsquery('simple', :q)").bindparams(q=filters.query)
            )
    if filters.modality:
        query = query.where(Release.modality.contains(filters.modality))
    if filters.task_type:
        query = query.where(Release.task_type.contains(filters.task_type))
    if filters.license:
        query = query.where(Release.license == filters.license)
    if filters.language:
        query = query.where(
            (Release.languages == filters.language)
            | Release.languages.startswith(filters.language + ",")
            | Release.languages.endswith("," + filters.language)
            | Release.languages.contains("," + filters.language + ",")
        )
    if filters.min_items is not None:
        query = query.where(Release.item_count >= filters.min_items)
    if filters.max_items is not None:
        query = query.where(Release.item_count <= filters.max_items)
    for measure, bound in (
        (Release.agreement, filters.min_agreement),
        (Release.gold_accuracy, filters.min_gold_accuracy),
        (Release.inferred_accuracy, filters.min_inferred_accuracy),
    ):
        if bound is not None:
            query = query.where(measure >= bound)
    if filters.listed_only or filters.max_price is not None:
        query = query.where(Release.price.is_not(None))
    rows = session.scalars(query.order_by(Release.id.desc())).all()
    if filters.max_price is not None:
        # prices are decimal text (any uint256), so they are compared as integers here
        rows = [r for r in rows if r.price is not None and r.price <= filters.max_price]
    return [info_of(row) for row in rows]


def load_release(session: Session, ref: str | int) -> Release:
    """A stored release by id, token id (``#N``), manifest CID or release bundle CID."""
    row: Release | None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        row = session.get(Release, int(ref))
    elif isinstance(ref, str) and ref.startswith("#") and ref[1:].isdigit():
        row = session.scalar(select(Release).where(Release.token_id == int(ref[1:])))
    elif isinstance(ref, str) and is_cid(ref):
        row = session.scalar(
            select(Release).where((Release.manifest_cid == ref) | (Release.release_cid == ref))
        )
    else:
        raise InvalidInput(
            "release", f"{ref!r} is not a release id, #token or CID", "see `datafair market list`"
        )
    if row is None:
        raise NotFound(f"release {ref}: not found (see `datafair market list`)")
    return row


def get_release(session: Session, ref: str | int) -> ReleaseInfo:
    """The release named by ``ref`` (see :func:`load_release`)."""
    return info_of(load_release(session, ref))


def public_view(session: Session, ref: str | int) -> dict[str, Any]:
    """What anyone may see of a release: its card and a sample of item CIDs."""
    row = load_release(session, ref)
    return {
        "title": row.title,
        "manifest_cid": row.manifest_cid,
        "card": row.card_text,
        "sample": list(row.sample),
        "items": row.item_count,
        "price": None if row.price is None else str(row.price),
        "payment_token": row.payment_token,
    }


# ------------------------------------------------------------------------------ selling


def _token_id(row: Release) -> int:
    if row.token_id is None:
        raise Conflict(f"release {row.id}: not registered on chain")
    return row.token_id


def list_release(
    session: Session,
    market: Any,
    ref: str | int,
    *,
    price: int,
    token: str,
    sender: Any,
    royalty_bps: int | None = None,
    terms_cid: str | None = None,
    transferable: bool = True,
    zero_price_ok: bool = False,
) -> ReleaseInfo:
    """List a release for sale (or change its price); only its owner, never below the promised
    royalty share (default: the release's promise). Records the listing locally."""
    from datafair.chain.base import address_of

    row = load_release(session, ref)
    share = row.royalty_bps if royalty_bps is None else royalty_bps
    if share < row.royalty_bps:
        raise InvalidInput(
            "royalty_bps",
            f"{share} is below the {row.royalty_bps} bps promised to the release's contributors",
            f"list with at least {row.royalty_bps}",
        )
    if isinstance(price, bool) or not isinstance(price, int) or price < 0:
        raise InvalidInput("price", f"{price!r} is not a non-negative integer of base units")
    if price == 0 and not zero_price_ok:
        raise InvalidInput("price", "is 0", "set a price, or allow a zero price explicitly")
    market.list_release(
        _token_id(row),
        token,
        price,
        share,
        terms_cid or row.card_cid,
        sender=sender,
        transferable=transferable,
        zero_price_ok=zero_price_ok,
    )
    row.price = price
    row.payment_token = address_of(token)
    row.listing_id = row.token_id
    session.commit()
    return info_of(row)


def buy_release(
    session: Session,
    market: Any,
    ref: str | int,
    *,
    sender: Any,
    max_price: int | None = None,
    permit: bool = False,
    approve: bool = True,
) -> Any:
    """Buy one licence of a listed release (with an EIP-2612 permit when asked and the token
    has it); the :class:`~datafair.chain.market.Purchase`."""
    row = load_release(session, ref)
    dataset_id = _token_id(row)
    try:
        if permit:
            return market.buy_with_permit(dataset_id, sender, max_price=max_price)
        return market.buy(dataset_id, sender=sender, max_price=max_price, approve=approve)
    finally:
        session.rollback()


def _call(contract: Any, name: str, args: Sequence[Any]) -> dict[str, Any]:
    """One transaction for a wallet to send: ``{to, function, args, data}`` (``data`` the
    0x-hex calldata, ready for ``eth_sendTransaction``), as the funding page's calls."""
    from datafair.chain import abi as abi_codec

    entry = contract.function(name)
    return {
        "to": contract.address,
        "function": abi_codec.signature(entry),
        "args": [_shown_arg(a) for a in args],
        "data": "0x" + abi_codec.encode_call(entry, args).hex(),
    }


def _shown_arg(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return [_shown_arg(v) for v in value]
    return str(value)


@dataclass(frozen=True)
class PurchasePlan:
    """What a buyer's wallet sends to buy one licence, with the listing's price and token:
    ``approve`` (only when the allowance is short of the price), then ``buy``; or, when the
    buyer signed the ``permit`` offered (EIP-2612, typed data for ``eth_signTypedData_v4``),
    the one ``buy_with_permit``."""

    release_id: int
    dataset_id: int
    market: str
    token: str
    price: int
    balance: int
    allowance: int
    calls: list[dict[str, Any]]
    permit: dict[str, Any] | None = None


@dataclass(frozen=True)
class SignedPermit:
    """A buyer's EIP-2612 permit signature (65 bytes, 0x-hex) and the deadline it signed."""

    deadline: int
    signature: str

    def vrs(self) -> tuple[int, bytes, bytes]:
        """``(v, r, s)``; ``InvalidInput`` unless the signature is 65 bytes of 0x-hex."""
        text = self.signature
        try:
            raw = bytes.fromhex(text[2:]) if text.startswith("0x") else b""
        except ValueError:
            raw = b""
        if len(raw) != 65:
            raise InvalidInput("permit.signature", "is not 65 bytes of 0x-hex", "sign again")
        v = raw[64] if raw[64] >= 27 else raw[64] + 27
        return v, raw[:32], raw[32:64]


_DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"


def permit_typed_data(
    market: Any, token_address: str, owner: str, value: int, deadline: int
) -> dict[str, Any] | None:
    """The EIP-712 typed data of an EIP-2612 permit letting the market take ``value`` from
    ``owner`` until ``deadline``, with the token's domain read from its ERC-5267
    ``eip712Domain`` and checked against its ``DOMAIN_SEPARATOR``; ``None`` when the token has no
    permit or its domain cannot be rebuilt (the buyer then approves)."""
    from eth_abi.abi import encode
    from eth_utils.crypto import keccak

    if not market.supports_permit(token_address):
        return None
    contract = market.token(token_address).contract
    try:
        _, name, version, chain_id, verifying, _, _ = market.chain.call(contract, "eip712Domain")
        separator = bytes(market.chain.call(contract, "DOMAIN_SEPARATOR"))
        nonce = int(market.chain.call(contract, "nonces", owner))
    except (ChainError, ValueError, TypeError, KeyError):
        return None
    rebuilt = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                keccak(text=_DOMAIN_TYPE),
                keccak(text=name),
                keccak(text=version),
                chain_id,
                verifying,
            ],
        )
    )
    if rebuilt != separator:
        return None
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": name,
            "version": version,
            "chainId": int(chain_id),
            "verifyingContract": str(verifying),
        },
        "message": {
            "owner": owner,
            "spender": market.address,
            "value": str(value),
            "nonce": str(nonce),
            "deadline": str(deadline),
        },
    }


def purchase_plan(
    session: Session,
    market: Any,
    ref: str | int,
    buyer: str,
    *,
    max_price: int | None = None,
    permit: SignedPermit | None = None,
    permit_ttl: int = 3600,
) -> PurchasePlan:
    """The transactions ``buyer``'s wallet sends to buy a licence of a listed release, checked
    first: not listed, a price above ``max_price`` or a balance short of the price are refused
    in one line (nothing is sent). When the allowance is short and the token has EIP-2612, the
    plan also offers a permit for ``max_price`` (the price by default) valid ``permit_ttl``
    seconds; given the buyer's ``permit`` signature, the plan is the one ``buy_with_permit``."""
    from datafair.chain.base import address_of

    row = load_release(session, ref)
    dataset_id = _token_id(row)
    session.rollback()
    who = address_of(buyer)
    listing, limit = market._listed(dataset_id, max_price)
    token = market.token(listing.token)
    balance = token.balance_of(who) if listing.price else 0
    if balance < listing.price:
        raise InvalidInput(
            "balance",
            f"{who} holds {balance} base units of {listing.token}, the price is {listing.price}",
            "top up the wallet with the listing's token",
        )
    allowance = token.allowance(who, market.address) if listing.price else 0
    plan = PurchasePlan(
        row.id, dataset_id, market.address, listing.token, listing.price, balance, allowance, []
    )
    if permit is not None:
        if permit.deadline <= market.chain.timestamp():
            raise InvalidInput("permit.deadline", "has passed", "ask for a new plan and sign again")
        v, r, s = permit.vrs()
        args = [dataset_id, limit, permit.deadline, v, r, s]
        return replace(plan, calls=[_call(market.contract, "buy_with_permit", args)])
    if allowance < listing.price:
        deadline = market.chain.timestamp() + permit_ttl
        offered = permit_typed_data(market, listing.token, who, limit, deadline)
        plan = replace(plan, permit=offered)
        plan.calls.append(_call(token.contract, "approve", [market.address, listing.price]))
    plan.calls.append(_call(market.contract, "buy", [dataset_id, limit]))
    return plan


@dataclass(frozen=True)
class HeldLicence:
    """A licence NFT a wallet holds, with the release it licenses."""

    licence_id: int
    release: ReleaseInfo


def licences_held(session: Session, market: Any, account: str) -> list[HeldLicence]:
    """The licences ``account`` holds now (checked on chain), each with its stored release;
    licences of releases this node does not keep are left out."""
    held = market.licences_of(account)
    by_token: dict[int, ReleaseInfo] = {}
    found = []
    for licence_id in held:
        dataset_id = market.licence(licence_id).dataset_id
        if dataset_id not in by_token:
            row = session.scalar(select(Release).where(Release.token_id == dataset_id))
            if row is None:
                continue
            by_token[dataset_id] = info_of(row)
        found.append(HeldLicence(licence_id, by_token[dataset_id]))
    session.rollback()
    return found


# ------------------------------------------------------------------------------ royalties


@dataclass(frozen=True)
class RoyaltyLine:
    """One release an account holds weight in: weight, total, claimable now, paid so far."""

    release_id: int
    dataset_id: int
    title: str
    weight: int
    total_weight: int
    claimable: int
    paid: int


def _weights_of(session: Session, account: str) -> list[tuple[Release, int]]:
    from datafair.chain.base import address_of

    rows = session.execute(
        select(Release, ReleaseWeight.weight)
        .join(ReleaseWeight, ReleaseWeight.release_id == Release.id)
        .where(ReleaseWeight.account == address_of(account), Release.token_id.is_not(None))
        .order_by(Release.id)
    ).all()
    return [(release, int(weight)) for release, weight in rows]


def royalties_of(session: Session, market: Any, account: str) -> list[RoyaltyLine]:
    """The releases ``account`` holds weight in, with what is claimable on chain."""
    lines = []
    for row, weight in _weights_of(session, account):
        dataset_id = _token_id(row)
        lines.append(
            RoyaltyLine(
                release_id=row.id,
                dataset_id=dataset_id,
                title=row.title,
                weight=weight,
                total_weight=row.total_weight,
                claimable=market.claimable(dataset_id, account, weight),
                paid=market.paid(dataset_id, account),
            )
        )
    session.rollback()
    return lines


def release_weights(session: Session, row: Release) -> dict[str, int]:
    """A stored release's weights by account."""
    return {
        w.account: int(w.weight)
        for w in session.scalars(
            select(ReleaseWeight)
            .where(ReleaseWeight.release_id == row.id)
            .order_by(ReleaseWeight.leaf_index)
        )
    }


def claim_royalties(
    session: Session,
    market: Any,
    account: str,
    *,
    sender: Any,
    releases: Sequence[str | int] | None = None,
) -> tuple[int, Any]:
    """Claim everything accrued to ``account`` on its releases (or the named ones) in one
    ``claim_many``; ``(amount claimed, receipt)``, ``(0, None)`` when nothing is claimable."""
    lines, claims = royalty_claims(session, market, account, releases=releases)
    if not lines:
        return 0, None
    receipt = market.claim_many(account, claims, sender=sender)
    return sum(line.claimable for line in lines), receipt


def royalty_claims(
    session: Session,
    market: Any,
    account: str,
    *,
    releases: Sequence[str | int] | None = None,
) -> tuple[list[RoyaltyLine], list[Any]]:
    """The releases (all, or the named ones) where ``account`` has royalties to claim now, and
    one :class:`~datafair.chain.market.RoyaltyClaim` each (weight, expected root, Merkle proof
    built from the stored leaves)."""
    from datafair.chain.market import royalty_claim

    lines = [line for line in royalties_of(session, market, account) if line.claimable > 0]
    if releases is not None:
        wanted = {load_release(session, ref).id for ref in releases}
        lines = [line for line in lines if line.release_id in wanted]
    claims = []
    for line in lines:
        row = load_release(session, line.release_id)
        info = market.release(line.dataset_id)
        tree = market.weights_tree(line.dataset_id, info.version, release_weights(session, row))
        claims.append(royalty_claim(tree, line.dataset_id, account)[1])
    session.rollback()
    return lines, claims


def royalty_claim_call(session: Session, market: Any, account: str) -> dict[str, Any] | None:
    """The one ``claim_many`` transaction a wallet sends to take every royalty ``account`` can
    claim now (anyone may send it; the money goes to ``account``), ``None`` when nothing is
    claimable. The claims are checked against the chain first, as ``claim_many`` does."""
    from datafair.chain.base import address_of

    who = address_of(account)
    from datafair.chain.market import MAX_CLAIMS

    lines, claims = royalty_claims(session, market, who)
    lines, claims = lines[:MAX_CLAIMS], claims[:MAX_CLAIMS]
    if not lines:
        return None
    for claim in claims:
        market._check_claim(claim.dataset_id, who, claim)
    encoded = [(c.dataset_id, c.weight, c.expected_root, list(c.proof)) for c in claims]
    call = _call(market.contract, "claim_many", [who, encoded])
    return {**call, "amount": str(sum(line.claimable for line in lines)), "releases": len(lines)}


# ------------------------------------------------------------------------------ downloads


@dataclass
class LicenceCache:
    """Licence checks on chain, remembered for ``ttl`` seconds per (wallet, dataset)."""

    ttl: float = 30.0
    clock: Clock = time.monotonic
    _entries: dict[tuple[str, int], tuple[float, bool]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    lookups: int = 0

    def holds(self, market: Any, wallet: str, dataset_id: int) -> bool:
        now = self.clock()
        key = (wallet.lower(), dataset_id)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None and now - cached[0] < self.ttl:
                return cached[1]
        held = bool(market.holds_licence(wallet, dataset_id))
        self.lookups += 1
        with self._lock:
            self._entries[key] = (now, held)
        return held


DEFAULT_LICENCES = LicenceCache()


def _signature(secret: bytes, release_id: int, wallet: str, expires: int) -> str:
    message = f"download:{release_id}:{wallet.lower()}:{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class DownloadGrant:
    """An expiring signed download URL for one wallet and release."""

    url: str
    release_id: int
    wallet: str
    expires: int
    signature: str


def issue_download(
    session: Session,
    market: Any,
    ref: str | int,
    wallet: str,
    *,
    secret: bytes,
    ttl: int = 600,
    base_url: str = "/market/releases",
    licences: LicenceCache | None = None,
    clock: Clock = time.time,
) -> DownloadGrant:
    """A signed URL valid ``ttl`` seconds, if ``wallet`` holds a licence of the release
    (checked on chain, cached briefly); ``AccessDenied`` otherwise."""
    from datafair.chain.base import address_of

    row = load_release(session, ref)
    dataset_id = _token_id(row)
    address = address_of(wallet)
    session.rollback()
    if not (licences or DEFAULT_LICENCES).holds(market, address, dataset_id):
        raise AccessDenied(
            f"wallet: {address} holds no licence of release {row.id} "
            f"(buy one with `datafair market buy {row.id}`; anyone may read its card and sample)"
        )
    expires = int(clock()) + ttl
    signature = _signature(secret, row.id, address, expires)
    query = urlencode({"wallet": address, "expires": expires, "sig": signature})
    return DownloadGrant(
        f"{base_url}/{row.id}/download?{query}", row.id, address, expires, signature
    )


def open_download(
    session: Session,
    blobs: BlobStore,
    release_id: int,
    wallet: str,
    expires: int,
    signature: str,
    *,
    secret: bytes,
    clock: Clock = time.time,
) -> bytes:
    """The release data for a signed URL's parameters; ``AccessDenied`` if the signature is
    wrong or the URL expired."""
    expected = _signature(secret, release_id, wallet, expires)
    # compared as bytes: compare_digest refuses str holding non-ASCII characters
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise AccessDenied("sig: the download URL's signature does not match (ask for a new URL)")
    if clock() > expires:
        raise AccessDenied("expires: the download URL has expired (ask for a new one)")
    row = load_release(session, release_id)
    session.rollback()
    if row.encrypted_cid is None:
        raise NotFound(f"release {release_id}: this node keeps no data for it")
    return decrypt_release_data(blobs, secret, row.manifest_cid, row.encrypted_cid)
