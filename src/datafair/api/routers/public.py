"""Public reads: payout bundles by CID and their audit, revealed gold, chain addresses, fee."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from datafair.api.deps import ActorDep, NodeDep, SessionDep
from datafair.api.policies import authorize, gold_answers, signed_in
from datafair.api.schemas import AuditOut, ChainOut, FeeOut
from datafair.services import portfolio

router = APIRouter(tags=["public"])


@router.get(
    "/bundles/{cid}",
    summary="Download a published payout bundle by its CID",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
def bundle(cid: str, node: NodeDep, session: SessionDep) -> Response:
    data = portfolio.published_bundle_bytes(session, node.blobs, cid)
    return Response(
        data,
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=31536000, immutable", "ETag": f'"{cid}"'},
    )


@router.get(
    "/bundles/{cid}/audit",
    summary="Recompute a published bundle and check it against the chain",
    response_model=AuditOut,
)
def audit(cid: str, node: NodeDep, session: SessionDep) -> AuditOut:
    from datafair.services.settlement.audit import audit_bundle

    data = portfolio.published_bundle_bytes(session, node.blobs, cid)
    report = node.with_chain(
        lambda escrow: audit_bundle(data, escrow, expected_cid=cid, workers=1, history=node.blobs)
    )
    return AuditOut(
        bundle_cid=report.bundle_cid,
        task_id="0x" + report.task_id.hex(),
        epoch=report.epoch,
        submissions=report.submissions,
        reviews=report.reviews,
        leaves=report.leaves,
        root=None if report.root is None else "0x" + report.root.hex(),
        total=str(report.total),
        fee=str(report.fee),
        chain_checked=report.chain_checked,
    )


@router.get(
    "/tasks/{task_id}/gold",
    summary="A task's gold answers, once a published bundle revealed them",
    response_model=dict[str, Any],
)
def gold(task_id: str, node: NodeDep, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    publication = portfolio.published_bundle(session, node.blobs, task_id)
    authorize(actor, gold_answers(publication.published), "read gold answers before settlement")
    return publication.gold


@router.get(
    "/chain", summary="The chain, its contracts and where to reach it", response_model=ChainOut
)
def chain(node: NodeDep) -> ChainOut:
    deployment = node.deployment
    block = node.run_on_chain(lambda: node.chain.block_number())
    return ChainOut(
        chain_id=deployment.chain_id,
        rpc=node.settings.rpc_url or "/rpc",
        addresses=dict(deployment.addresses),
        owner=deployment.owner,
        block=block,
    )


@router.get("/fee", summary="The marketplace's fee and its on-chain cap", response_model=FeeOut)
def fee(node: NodeDep) -> FeeOut:
    return node.with_chain(
        lambda escrow: FeeOut(
            fee_bps=escrow.fee_bps(),
            max_fee_bps=escrow.max_fee_bps(),
            fee_recipient=escrow.fee_recipient(),
        )
    )


@router.get(
    "/items/{cid}/content",
    summary="An item's bytes (image items), for signed-in contributors",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def item_content(cid: str, node: NodeDep, session: SessionDep, actor: ActorDep) -> Response:
    authorize(actor, signed_in(), "read item content")
    return Response(
        portfolio.item_bytes(session, node.blobs, cid), media_type="application/octet-stream"
    )
