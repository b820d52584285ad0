"""Datasets: upload (multipart, streamed to the blob store), list, read a card."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from datafair.api.deps import ActorDep, NodeDep, SessionDep
from datafair.api.policies import authorize, signed_in
from datafair.api.schemas import DatasetOut, ImportOut
from datafair.core.task import DatasetCard
from datafair.services import datasets, uploads

router = APIRouter(prefix="/datasets", tags=["datasets"])


def _out(info: datasets.DatasetInfo) -> DatasetOut:
    return DatasetOut(
        manifest_cid=info.manifest_cid,
        title=info.title,
        card=info.card,
        owner=info.owner,
        item_count=info.items,
        created_at=info.created_at,
    )


@router.post(
    "",
    summary="Upload a dataset (CSV, JSONL, Label Studio JSON, or a zip of images)",
    response_model=ImportOut,
    status_code=201,
)
def upload(
    node: NodeDep,
    session: SessionDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="the dataset file")],
    title: Annotated[str, Form(max_length=300)],
    license: Annotated[str, Form(max_length=64)] = "CC-BY-4.0",
    description: Annotated[str, Form(max_length=20_000)] = "",
    languages: Annotated[str, Form(max_length=200, description="comma-separated")] = "",
    source: Annotated[str, Form(max_length=500)] = "",
) -> ImportOut:
    authorize(actor, signed_in(), "upload a dataset")
    card = DatasetCard(
        title=title,
        description=description,
        license=license,
        languages=tuple(part.strip() for part in languages.split(",") if part.strip()),
        source=source,
    )
    staging = node.settings.home / "uploads"
    path = uploads.stage_upload(
        staging,
        file.filename or "",
        file.content_type,
        file.file,
        limit=node.settings.max_upload_bytes,
    )
    try:
        report = datasets.import_dataset(session, node.blobs, path, card, owner=actor.address)
    finally:
        uploads.discard(path, staging)
    return ImportOut(
        manifest_cid=report.manifest_cid,
        format=report.format,
        items=report.items,
        new_items=report.new_items,
        duplicates=len(report.duplicates),
        skipped=len(report.skipped),
        already_imported=report.already_imported,
    )


@router.get("", summary="Every stored dataset", response_model=list[DatasetOut])
def list_all(session: SessionDep) -> list[DatasetOut]:
    return [_out(info) for info in datasets.list_datasets(session)]


@router.get("/{manifest_cid}", summary="A dataset's card", response_model=DatasetOut)
def card(manifest_cid: str, session: SessionDep) -> DatasetOut:
    return _out(datasets.get_dataset(session, manifest_cid))
