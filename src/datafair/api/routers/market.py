"""The data market over HTTP: browse and search releases, read a card, download if licensed.

Thin handlers over :mod:`datafair.services.market`:

* ``GET /market/releases``: releases filtered (modality, task type, licence, language, size,
  measured quality, price) and searched (full text on cards); public;
* ``GET /market/releases/{ref}``: what anyone may see: the card and a sample of items; public;
* ``POST /market/releases/{ref}/download-url``: for the signed-in wallet, if it holds a licence
  of the release on chain (cached briefly), an expiring signed URL;
* ``GET /market/releases/{release_id}/download``: the release data for a valid, unexpired signed
  URL (403 otherwise);
* ``POST /market/releases/{ref}/purchase``: the transactions the signed-in wallet sends to buy a
  licence (``approve`` when the allowance is short, then ``buy``), checked first;
* ``GET /market/licences``: the licences the signed-in wallet holds, with their releases;
* ``GET /market/royalties/{address}``: an address's royalty weights and what it can claim;
* ``POST /market/royalties/claim-call``: the one ``claim_many`` transaction that takes every
  royalty the signed-in wallet can claim now.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from datafair.api.deps import ActorDep, NodeDep, SessionDep
from datafair.api.policies import authorize, signed_in
from datafair.core.errors import InvalidInput
from datafair.services import market as market_service
from datafair.services.release_files import download_secret
from datafair.services.releases import ReleaseInfo

router = APIRouter(prefix="/market", tags=["market"])

_LICENCES: dict[float, market_service.LicenceCache] = {}


class ReleaseOut(BaseModel):
    """A release as browsing shows it (amounts as decimal strings)."""

    release_id: int
    token_id: int | None
    title: str
    version: int
    manifest_cid: str
    items: int
    license: str
    commercial_use: bool
    agreement: float | None
    gold_accuracy: float | None
    inferred_accuracy: float | None
    royalty_bps: int
    price: str | None
    payment_token: str | None


class ReleaseView(BaseModel):
    """What anyone may read of a release: its card and a sample of item CIDs."""

    title: str
    manifest_cid: str
    card: str
    sample: list[str]
    items: int
    price: str | None
    payment_token: str | None


class DownloadUrlOut(BaseModel):
    """An expiring signed download URL for the signed-in wallet."""

    url: str
    expires: int


class RoyaltyOut(BaseModel):
    """An address's weight in one release and what it can claim now."""

    release_id: int
    dataset_id: int
    title: str
    weight: str
    total_weight: str
    claimable: str
    paid: str


class CallOut(BaseModel):
    """One transaction for the wallet to send (``data`` is the 0x-hex calldata)."""

    to: str
    function: str
    args: list[Any]
    data: str


class PermitIn(BaseModel):
    """The buyer's EIP-2612 permit signature (0x-hex, 65 bytes) and the deadline it signed."""

    deadline: int
    signature: str = Field(max_length=140)


class PurchaseIn(BaseModel):
    """The most the buyer agrees to pay, in base units (default: the listed price), and the
    permit the buyer signed, if any."""

    max_price: str | None = None
    permit: PermitIn | None = None


class PurchaseOut(BaseModel):
    """What the buyer's wallet sends to buy one licence, in order."""

    release_id: int
    dataset_id: int
    market: str
    token: str
    price: str
    balance: str
    allowance: str
    calls: list[CallOut]
    permit: dict[str, Any] | None = None


class LicenceOut(BaseModel):
    """A licence the signed-in wallet holds and the release it licenses."""

    licence_id: int
    release_id: int
    dataset_id: int | None
    title: str


class ClaimCallOut(BaseModel):
    """The ``claim_many`` transaction (``call`` is null when nothing is claimable)."""

    call: CallOut | None
    amount: str
    releases: int


def _out(info: ReleaseInfo) -> ReleaseOut:
    return ReleaseOut(
        release_id=info.release_id,
        token_id=info.token_id,
        title=info.title,
        version=info.version,
        manifest_cid=info.manifest_cid,
        items=info.items,
        license=info.license,
        commercial_use=info.commercial_use,
        agreement=info.quality["agreement"],
        gold_accuracy=info.quality["gold_accuracy"],
        inferred_accuracy=info.quality["inferred_accuracy"],
        royalty_bps=info.royalty_bps,
        price=None if info.price is None else str(info.price),
        payment_token=info.payment_token,
    )


def market_client(node: Any) -> Any:
    """The node's :class:`~datafair.chain.market.MarketClient` (call on the chain's thread)."""
    from datafair.chain.market import MarketClient

    return MarketClient(node.chain, node.deployment, node.settings.cache_dir)


def licence_cache(settings: Any) -> market_service.LicenceCache:
    """The node's licence checks, cached ``licence_cache_ttl`` seconds (one cache per TTL)."""
    ttl = float(settings.licence_cache_ttl)
    return _LICENCES.setdefault(ttl, market_service.LicenceCache(ttl=ttl))


@router.get(
    "/releases", summary="Browse and search dataset releases", response_model=list[ReleaseOut]
)
def releases(
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=200, description="full-text search")] = None,
    modality: Annotated[str | None, Query(max_length=32)] = None,
    task_type: Annotated[str | None, Query(max_length=32)] = None,
    license: Annotated[str | None, Query(max_length=100)] = None,
    language: Annotated[str | None, Query(max_length=35)] = None,
    min_items: Annotated[int | None, Query(ge=0)] = None,
    max_items: Annotated[int | None, Query(ge=0)] = None,
    min_agreement: Annotated[float | None, Query(ge=0, le=1)] = None,
    min_gold_accuracy: Annotated[float | None, Query(ge=0, le=1)] = None,
    min_inferred_accuracy: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_price: Annotated[int | None, Query(ge=0)] = None,
    listed: bool = False,
) -> list[ReleaseOut]:
    filters = market_service.ReleaseFilter(
        query=q,
        modality=modality,
        task_type=task_type,
        license=license,
        language=language,
        min_items=min_items,
        max_items=max_items,
        min_agreement=min_agreement,
        min_gold_accuracy=min_gold_accuracy,
        min_inferred_accuracy=min_inferred_accuracy,
        max_price=max_price,
        listed_only=listed,
    )
    return [_out(info) for info in market_service.browse(session, filters)]


@router.get(
    "/releases/{ref}",
    summary="A release's card and a sample of its items",
    response_model=ReleaseView,
)
def release_view(ref: str, session: SessionDep) -> ReleaseView:
    return ReleaseView(**market_service.public_view(session, ref))


@router.post(
    "/releases/{ref}/download-url",
    summary="An expiring signed download URL, for a wallet that holds a licence",
    response_model=DownloadUrlOut,
)
def download_url(ref: str, node: NodeDep, session: SessionDep, actor: ActorDep) -> DownloadUrlOut:
    authorize(actor, signed_in(), "download a release")
    assert actor.address is not None
    settings = node.settings
    licences = licence_cache(settings)
    grant = node.run_on_chain(
        lambda: market_service.issue_download(
            session,
            market_client(node),
            ref,
            actor.address or "",
            secret=download_secret(settings.home, settings.download_secret),
            ttl=settings.download_ttl,
            base_url="/api/v1/market/releases",
            licences=licences,
        )
    )
    return DownloadUrlOut(url=grant.url, expires=grant.expires)


@router.get(
    "/releases/{release_id}/download",
    summary="The release data, for a valid signed URL",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
def download(
    release_id: int,
    wallet: Annotated[str, Query(max_length=42)],
    expires: Annotated[int, Query(ge=0)],
    sig: Annotated[str, Query(max_length=64)],
    node: NodeDep,
    session: SessionDep,
) -> Response:
    settings = node.settings
    data = market_service.open_download(
        session,
        node.blobs,
        release_id,
        wallet,
        expires,
        sig,
        secret=download_secret(settings.home, settings.download_secret),
    )
    return Response(data, media_type="application/json", headers={"Cache-Control": "no-store"})


@router.get(
    "/royalties/{address}",
    summary="An address's royalty weights and what it can claim now",
    response_model=list[RoyaltyOut],
)
def royalties(address: str, node: NodeDep, session: SessionDep) -> list[RoyaltyOut]:
    lines = node.run_on_chain(
        lambda: market_service.royalties_of(session, market_client(node), address)
    )
    return [
        RoyaltyOut(
            release_id=line.release_id,
            dataset_id=line.dataset_id,
            title=line.title,
            weight=str(line.weight),
            total_weight=str(line.total_weight),
            claimable=str(line.claimable),
            paid=str(line.paid),
        )
        for line in lines
    ]


def _signed_in_address(actor: Any, action: str) -> str:
    authorize(actor, signed_in(), action)
    assert actor.address is not None
    return str(actor.address)


@router.post(
    "/releases/{ref}/purchase",
    summary="The transactions the signed-in wallet sends to buy a licence (approve, then buy)",
    response_model=PurchaseOut,
)
def purchase(
    ref: str, node: NodeDep, session: SessionDep, actor: ActorDep, body: PurchaseIn | None = None
) -> PurchaseOut:
    buyer = _signed_in_address(actor, "buy a licence")
    limit = None
    if body is not None and body.max_price is not None:
        if not body.max_price.isdigit():
            raise InvalidInput("max_price", f"{body.max_price!r} is not a whole number")
        limit = int(body.max_price)
    signed = None
    if body is not None and body.permit is not None:
        signed = market_service.SignedPermit(body.permit.deadline, body.permit.signature)
    plan = node.run_on_chain(
        lambda: market_service.purchase_plan(
            session, market_client(node), ref, buyer, max_price=limit, permit=signed
        )
    )
    amounts = {name: str(getattr(plan, name)) for name in ("price", "balance", "allowance")}
    return PurchaseOut(**{**plan.__dict__, **amounts})


@router.get(
    "/licences",
    summary="The licences the signed-in wallet holds, with their releases",
    response_model=list[LicenceOut],
)
def licences(node: NodeDep, session: SessionDep, actor: ActorDep) -> list[LicenceOut]:
    holder = _signed_in_address(actor, "list your licences")
    held = node.run_on_chain(
        lambda: market_service.licences_held(session, market_client(node), holder)
    )
    return [
        LicenceOut(
            licence_id=h.licence_id,
            release_id=h.release.release_id,
            dataset_id=h.release.token_id,
            title=h.release.title,
        )
        for h in held
    ]


@router.post(
    "/royalties/claim-call",
    summary="The one claim_many transaction taking every royalty the signed-in wallet can claim",
    response_model=ClaimCallOut,
)
def royalty_claim_call(node: NodeDep, session: SessionDep, actor: ActorDep) -> ClaimCallOut:
    account = _signed_in_address(actor, "claim royalties")
    call = node.run_on_chain(
        lambda: market_service.royalty_claim_call(session, market_client(node), account)
    )
    if call is None:
        return ClaimCallOut(call=None, amount="0", releases=0)
    amount, releases = call.pop("amount"), call.pop("releases")
    return ClaimCallOut(call=CallOut(**call), amount=amount, releases=releases)
