"""Contributing: take the next item with its typed data, and submit signed answers."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from datafair.api.deps import ActorDep, NodeDep, SessionDep, actor_for, session_token
from datafair.api.policies import acting_as, authorize, signed_in
from datafair.api.problems import problem_of
from datafair.api.schemas import (
    BatchOut,
    EntryResultOut,
    NextItemOut,
    SignRequestIn,
    StoredOut,
    SubmissionBatchIn,
    SubmissionIn,
    TypedDataChoice,
)
from datafair.services import contributions
from datafair.services.contributions import Intake, SigningRequest
from datafair.services.submissions import SubmissionInput
from datafair.services.tasks import parse_task_id

router = APIRouter(prefix="/tasks/{task_id}", tags=["contributing"])


def _choice(request: SigningRequest) -> TypedDataChoice:
    return TypedDataChoice(
        answer=request.answer,
        answer_hash="0x" + request.answer_hash.hex(),
        typed_data=request.typed_data,
    )


@router.post(
    "/next",
    summary="Hold the next item for you, with the EIP-712 typed data to sign",
    response_model=NextItemOut,
    responses={204: {"description": "nothing left for you"}},
)
def next_item(
    task_id: str, node: NodeDep, session: SessionDep, actor: ActorDep
) -> Response | NextItemOut:
    authorize(actor, signed_in(), "take an item")
    assert actor.address is not None
    taken = contributions.take_item(session, task_id, actor.address)
    if taken is None:
        return Response(status_code=204)
    item = taken.item
    return NextItemOut(
        task_id=taken.task.task_id_hex,
        assignment_id=item.assignment_id,
        item_cid=item.item_cid,
        kind=str(item.context.kind),
        text=item.text,
        image_url=None if item.text is not None else f"/api/v1/items/{item.item_cid}/content",
        meta=item.meta,
        expires_at=item.expires_at,
        nonce=str(taken.nonce),
        choices=[_choice(choice) for choice in taken.choices],
    )


@router.post(
    "/sign-request",
    summary="The canonical answer and the EIP-712 typed data to sign for any answer",
    response_model=TypedDataChoice,
)
def sign_request(
    task_id: str, body: SignRequestIn, session: SessionDep, actor: ActorDep
) -> TypedDataChoice:
    authorize(actor, signed_in(), "prepare a submission")
    assert actor.address is not None
    request = contributions.signing_request(
        session,
        task_id,
        body.item_cid,
        body.answer,
        actor.address,
        nonce=int(body.nonce),
        duration_ms=body.duration_ms,
    )
    return _choice(request)


def _entry(task_id: bytes | str, body: SubmissionIn) -> SubmissionInput:
    return SubmissionInput(
        task_id=task_id,
        item_cid=body.item_cid,
        contributor=body.contributor,
        answer=body.answer,
        nonce=int(body.nonce),
        duration_ms=body.duration_ms,
        signature=body.signature,
        answer_hash=body.answer_hash,
    )


def batch_out(results: list[Intake], field: str) -> BatchOut:
    rows = [
        EntryResultOut(
            index=result.index,
            id=result.stored_id,
            duplicate=result.duplicate,
            problem=None
            if result.error is None
            else problem_of(result.error, field_prefix=f"{field}[{result.index}]."),
        )
        for result in results
    ]
    return BatchOut(
        accepted=sum(1 for r in results if r.error is None and not r.duplicate),
        duplicates=sum(1 for r in results if r.duplicate),
        rejected=sum(1 for r in results if r.error is not None),
        results=rows,
    )


@router.post(
    "/submissions",
    summary="Submit one signed answer (idempotent: the same signature returns the first result)",
    response_model=StoredOut,
    status_code=201,
    responses={200: {"model": StoredOut}},
)
async def submit_one(
    task_id: str, body: SubmissionIn, request: Request, response: Response, node: NodeDep
) -> StoredOut:
    operators = node.settings.operator_addresses

    def permit(address: str | None) -> None:
        actor = actor_for(address, operators)
        authorize(actor, acting_as(body.contributor), "submit answers for another account")

    # concurrent single submissions share a transaction (group commit, services.intake), and
    # the sign-in lookup of its callers (one query)
    result = await node.intake.submit(_entry(task_id, body), session_token(request), permit)
    if result.error is not None:
        raise result.error
    assert result.stored_id is not None
    if result.duplicate:
        response.status_code = 200
    return StoredOut(id=result.stored_id, duplicate=result.duplicate)


@router.post(
    "/submissions/batch",
    summary="Submit up to 1000 signed answers; one result per entry",
    response_model=BatchOut,
)
def submit_batch(
    task_id: str, body: SubmissionBatchIn, session: SessionDep, actor: ActorDep
) -> BatchOut:
    contributions.check_batch_size(len(body.submissions), "submissions")
    for entry in body.submissions:
        authorize(actor, acting_as(entry.contributor), "submit answers for another account")
    raw = parse_task_id(task_id)
    entries = [_entry(raw, entry) for entry in body.submissions]
    return batch_out(contributions.submit_signed(session, entries), "submissions")
