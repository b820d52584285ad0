"""Reviewing: take the next submission to review with its typed data; submit signed reviews."""

from __future__ import annotations

from fastapi import APIRouter, Response

from datafair.api.deps import ActorDep, SessionDep
from datafair.api.policies import acting_as, authorize, signed_in
from datafair.api.routers.contributions import batch_out
from datafair.api.schemas import (
    BatchOut,
    ReviewBatchIn,
    ReviewIn,
    ReviewSignRequestIn,
    ReviewTargetOut,
    StoredOut,
    TypedDataOut,
)
from datafair.services import contributions
from datafair.services.reviews import ReviewInput
from datafair.services.tasks import parse_task_id

router = APIRouter(prefix="/tasks/{task_id}/reviews", tags=["reviewing"])


@router.post(
    "/next",
    summary="The next submission for you to review, with the EIP-712 typed data to sign",
    response_model=ReviewTargetOut,
    responses={204: {"description": "nothing left for you"}},
)
def next_review(task_id: str, session: SessionDep, actor: ActorDep) -> Response | ReviewTargetOut:
    authorize(actor, signed_in(), "review")
    assert actor.address is not None
    found = contributions.review_to_sign(session, task_id, actor.address)
    if found is None:
        return Response(status_code=204)
    target = found.target
    return ReviewTargetOut(
        task_id="0x" + target.task_id.hex(),
        submission_id=target.submission_id,
        item_cid=target.item_cid,
        text=target.text,
        answer=target.answer,
        contributor=target.contributor,
        submission_hash="0x" + target.submission_hash.hex(),
        typed_data=found.typed_data,
    )


@router.post(
    "/sign-request",
    summary="The EIP-712 typed data of your review of a submission",
    response_model=TypedDataOut,
)
def sign_request(
    task_id: str, body: ReviewSignRequestIn, session: SessionDep, actor: ActorDep
) -> TypedDataOut:
    authorize(actor, signed_in(), "prepare a review")
    assert actor.address is not None
    typed = contributions.review_signing_request(
        session,
        task_id,
        body.submission_id,
        actor.address,
        verdict=body.verdict,
        rating=body.rating,
    )
    return TypedDataOut(typed_data=typed)


def _entry(task_id: bytes, body: ReviewIn) -> ReviewInput:
    return ReviewInput(
        task_id=task_id,
        submission_id=body.submission_id,
        reviewer=body.reviewer,
        verdict=body.verdict,
        rating=body.rating,
        signature=body.signature,
    )


@router.post(
    "",
    summary="Submit one signed review (idempotent by signature)",
    response_model=StoredOut,
    status_code=201,
    responses={200: {"model": StoredOut}},
)
def submit_one(
    task_id: str, body: ReviewIn, response: Response, session: SessionDep, actor: ActorDep
) -> StoredOut:
    authorize(actor, acting_as(body.reviewer), "submit reviews for another account")
    (result,) = contributions.submit_signed_reviews(session, [_entry(parse_task_id(task_id), body)])
    if result.error is not None:
        raise result.error
    assert result.stored_id is not None
    if result.duplicate:
        response.status_code = 200
    return StoredOut(id=result.stored_id, duplicate=result.duplicate)


@router.post(
    "/batch",
    summary="Submit up to 1000 signed reviews; one result per entry",
    response_model=BatchOut,
)
def submit_batch(
    task_id: str, body: ReviewBatchIn, session: SessionDep, actor: ActorDep
) -> BatchOut:
    contributions.check_batch_size(len(body.reviews), "reviews")
    for entry in body.reviews:
        authorize(actor, acting_as(entry.reviewer), "submit reviews for another account")
    raw = parse_task_id(task_id)
    entries = [_entry(raw, entry) for entry in body.reviews]
    return batch_out(contributions.submit_signed_reviews(session, entries), "reviews")
