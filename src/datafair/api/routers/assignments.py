"""Assignments: give a held item back (skip it) before its hold times out."""

from __future__ import annotations

from fastapi import APIRouter, Response

from datafair.api.deps import ActorDep, SessionDep
from datafair.api.policies import authorize, signed_in
from datafair.services.assignment import release_assignment

router = APIRouter(prefix="/tasks/{task_id}/assignments", tags=["contributing"])


@router.post(
    "/{assignment_id}/skip",
    summary="Skip the item you hold: it goes back to the pool",
    status_code=204,
    responses={401: {}, 404: {}},
)
def skip(task_id: str, assignment_id: int, session: SessionDep, actor: ActorDep) -> Response:
    authorize(actor, signed_in(), "skip an item")
    assert actor.address is not None
    release_assignment(session, assignment_id, actor.address)
    return Response(status_code=204)
