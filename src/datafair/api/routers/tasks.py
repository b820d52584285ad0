"""Tasks: the board, creation, progress, funding, quality report, exports, closing."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from datafair.api.deps import ActorDep, NodeDep, SessionDep
from datafair.api.policies import authorize, requester_of, requester_or_operator, signed_in
from datafair.api.schemas import (
    CallOut,
    EscrowStateOut,
    FundingIn,
    FundingOut,
    LabelOut,
    ProgressOut,
    QualityOut,
    SkillOut,
    TaskCreateIn,
    TaskOut,
)
from datafair.core.errors import InvalidInput
from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import TaskSpec
from datafair.services import task_board, tasks
from datafair.services.settlement import funding

if TYPE_CHECKING:
    from datafair.chain.escrow import EscrowClient

router = APIRouter(prefix="/tasks", tags=["tasks"])
EXPORT_FORMATS = ("jsonl", "parquet", "hf", "coco", "conll")


def task_out(entry: task_board.BoardEntry) -> TaskOut:
    info, pay = entry.task, entry.pay
    spec = info.spec
    return TaskOut(
        task_id=info.task_id_hex,
        title=spec.title,
        task_type=str(spec.task_type),
        classes=list(spec.schema.classes),
        instructions=spec.instructions,
        dataset_cid=info.dataset_cid,
        overlap=spec.overlap,
        price_per_answer=str(spec.price_per_answer),
        deadline=spec.deadline,
        chain_id=spec.chain_id,
        token=spec.token,
        status=info.status,
        requester=info.requester,
        median_seconds=None if pay.median_ms is None else pay.median_ms / 1000,
        hourly_pay=None if pay.hourly is None else str(pay.hourly),
        assigned_only=spec.assignment_rules().assigned_only,
    )


@router.get(
    "", summary="Tasks with their price and effective hourly pay", response_model=list[TaskOut]
)
def board(
    session: SessionDep, status: Annotated[str, Query(pattern="^(open|all)$")] = "open"
) -> list[TaskOut]:
    return [task_out(entry) for entry in task_board.task_board(session, open_only=status == "open")]


@router.post(
    "",
    summary="Create a labelling task; you become its requester",
    response_model=TaskOut,
    status_code=201,
)
def create(body: TaskCreateIn, node: NodeDep, session: SessionDep, actor: ActorDep) -> TaskOut:
    authorize(actor, signed_in(), "create a task")
    try:
        task_type = TaskType(body.task_type)
    except ValueError:
        raise InvalidInput(
            "task_type",
            f"unknown task type {body.task_type!r}",
            f"use one of {', '.join(t.value for t in TaskType)}",
        ) from None
    spec = TaskSpec(
        dataset_cid=body.dataset_cid,
        title=body.title,
        instructions=body.instructions,
        schema=LabelSchema(task_type, tuple(body.classes)),
        overlap=body.overlap,
        gold_ratio=body.gold_ratio,
        price_per_answer=int(body.price_per_answer),
        deadline=body.deadline,
        chain_id=node.settings.chain_id,
        token=body.token,
        salt=time.time_ns(),
        extra=body.extra,
    )
    info = tasks.create_task(session, spec, gold=body.gold, requester=actor.address)
    return task_out(task_board.task_entry(session, info.task_id))


@router.get(
    "/{task_id}",
    summary="A task",
    response_model=TaskOut,
)
def show(task_id: str, session: SessionDep) -> TaskOut:
    return task_out(task_board.task_entry(session, task_id))


@router.get(
    "/{task_id}/progress",
    summary="Items, answers, held slots and full items",
    response_model=ProgressOut,
)
def progress(task_id: str, session: SessionDep) -> ProgressOut:
    counts = tasks.task_progress(session, task_id)
    return ProgressOut(**counts.__dict__)


@router.post(
    "/{task_id}/close",
    summary="Close the task (requester only): no more items nor answers",
    response_model=TaskOut,
)
def close(task_id: str, session: SessionDep, actor: ActorDep) -> TaskOut:
    info = tasks.get_task(session, task_id)
    session.rollback()
    authorize(actor, requester_of(info.requester), "close this task")
    tasks.close_task(session, task_id)
    return task_out(task_board.task_entry(session, task_id))


@router.post(
    "/{task_id}/funding",
    summary="What the requester's wallet sends to fund the task (approve, then fund)",
    response_model=FundingOut,
)
def prepare_funding(
    task_id: str, body: FundingIn, node: NodeDep, session: SessionDep, actor: ActorDep
) -> FundingOut:
    info = tasks.get_task(session, task_id)
    session.rollback()
    authorize(actor, requester_of(info.requester), "fund this task")
    assert actor.address is not None
    amount = int(body.amount)
    requester = actor.address

    def prepare(escrow: EscrowClient) -> tuple[funding.PreparedFunding, list[dict[str, object]]]:
        prepared = funding.prepare_funding(
            session,
            escrow,
            task_id,
            amount,
            requester=requester,
            deadline=body.deadline,
            token=body.token,
            fair_pay_floor=node.settings.fair_pay_floor,
        )
        return prepared, funding.funding_calls(escrow, prepared, amount)

    prepared, calls = node.with_chain(prepare)
    escrow = node.escrow
    return FundingOut(
        task_id=info.task_id_hex,
        escrow=escrow.address,
        token=prepared.token,
        amount=str(amount),
        deadline=prepared.deadline,
        gold_commitment="0x" + prepared.gold_commitment.hex(),
        calls=[CallOut(**call) for call in calls],  # type: ignore[arg-type]
    )


@router.get(
    "/{task_id}/escrow",
    summary="The task's escrow balance as the chain holds it",
    response_model=EscrowStateOut,
)
def escrow_state(task_id: str, node: NodeDep, session: SessionDep) -> EscrowStateOut:
    info = tasks.get_task(session, task_id)
    session.rollback()
    state = node.with_chain(lambda escrow: funding.escrow_state(escrow, info.task_id))
    return EscrowStateOut(
        task_id=info.task_id_hex,
        exists=state.exists,
        deposited=str(state.deposited),
        unallocated=str(state.unallocated),
        outstanding=str(state.outstanding),
        deadline=state.deadline,
    )


@router.get(
    "/{task_id}/quality",
    summary="Quality report: labels, skills with intervals, spam, agreement (requester)",
    response_model=QualityOut,
)
def quality(
    task_id: str,
    session: SessionDep,
    actor: ActorDep,
    method: Annotated[str, Query(max_length=32)] = "auto",
) -> QualityOut:
    info = tasks.get_task(session, task_id)
    session.rollback()
    authorize(actor, requester_or_operator(info.requester), "read this task's quality report")
    report = task_board.quality_report(session, task_id, method=method)
    inference = report.inference
    return QualityOut(
        method=inference.method,
        labels=[
            LabelOut(
                item_cid=item.item_cid,
                label=item.label,
                confidence=round(float(item.confidence), 6),
                n_answers=item.n_answers,
            )
            for item in inference.items
            if not item.is_gold  # gold answers never leave before settlement publishes them
        ],
        skills=[
            SkillOut(
                contributor=str(skill.worker),
                accuracy=round(float(skill.accuracy), 6),
                low=round(float(skill.low), 6),
                high=round(float(skill.high), 6),
                answers=int(skill.n_answers),
                dependence_group=inference.dependence.get(str(skill.worker), {}).get("group"),
                dependence=inference.dependence.get(str(skill.worker)),
            )
            for skill in inference.skills
        ],
        spammers=sorted(inference.spammers),
        agreement=report.agreement,
    )


@router.get(
    "/{task_id}/export",
    summary="Download the labelled dataset (requester)",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def export(
    task_id: str,
    node: NodeDep,
    session: SessionDep,
    actor: ActorDep,
    format: Annotated[str, Query(pattern="^(jsonl|parquet|hf|coco|conll)$")] = "jsonl",
) -> FileResponse:
    from datafair.services.exports import export_task

    info = tasks.get_task(session, task_id)
    session.rollback()
    authorize(actor, requester_or_operator(info.requester), "export this task")
    folder = Path(tempfile.mkdtemp(prefix="export-", dir=_exports_root(node)))
    paths = export_task(session, node.blobs, info.task_id, format, folder)
    path = _single_file(paths, folder)
    import shutil

    return FileResponse(
        path,
        filename=path.name,
        media_type="application/octet-stream",
        background=BackgroundTask(shutil.rmtree, folder, True),
    )


def _exports_root(node: NodeDep) -> Path:
    root = node.settings.exports_dir / "http"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _single_file(paths: list[Path], folder: Path) -> Path:
    """The export as one file: itself, or a zip of the folder it wrote."""
    if len(paths) == 1 and paths[0].is_file():
        return paths[0]
    import shutil

    archive = Path(shutil.make_archive(str(folder) + "-export", "zip", root_dir=folder))
    return archive.rename(folder / archive.name)
