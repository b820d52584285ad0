"""Dataset import through the service: stored items, manifest CID, duplicates, all-or-nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.conftest import FakeClock

from datafair.core.errors import InvalidInput, NotFound
from datafair.core.task import DatasetCard
from datafair.crypto.cid import compute_cid
from datafair.formats.items import MAX_ITEM_BYTES
from datafair.services import datasets as datasets_service
from datafair.services.assignment import next_item
from datafair.services.datasets import (
    get_dataset,
    import_dataset,
    list_datasets,
    manifest_bytes,
    manifest_chunks,
)
from datafair.services.submissions import submit
from datafair.store.blobs import BlobStore
from datafair.store.db import Database
from datafair.store.models import Dataset, DatasetItem, Item
from datafair.store.repositories import DatasetRepository

CARD = DatasetCard(title="reviews", license="CC0-1.0", languages=("en",))


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_csv_import_stores_items_and_manifest(session: Session, tmp_path: Path) -> None:
    source = tmp_path / "reviews.csv"
    source.write_text("text\ngood\nbad\ngood\n", encoding="utf-8")
    blobs = BlobStore(tmp_path / "blobs")
    report = import_dataset(session, blobs, source, CARD)
    assert report.items == 2 and report.new_items == 2
    assert report.duplicates == [("reviews.csv:4", "reviews.csv:2")]
    cids = [compute_cid(b"good"), compute_cid(b"bad")]
    card = DatasetCard(title="reviews", license="CC0-1.0", languages=("en",), modalities=("text",))
    assert blobs.get(report.manifest_cid) == manifest_bytes(card, cids)
    assert report.manifest_cid == compute_cid(manifest_bytes(card, cids))
    info = get_dataset(session, report.manifest_cid)
    assert info.items == 2 and info.card["modalities"] == ["text"]
    assert [d.manifest_cid for d in list_datasets(session)] == [report.manifest_cid]


def test_reimport_is_reported_and_stores_nothing(session: Session, tmp_path: Path) -> None:
    source = tmp_path / "a.jsonl"
    source.write_text('{"text": "one"}\n{"text": "two"}\n', encoding="utf-8")
    blobs = BlobStore(tmp_path / "blobs")
    first = import_dataset(session, blobs, source, CARD)
    again = import_dataset(session, blobs, source, CARD)
    assert again.already_imported and again.manifest_cid == first.manifest_cid
    assert _count(session, Dataset) == 1 and _count(session, Item) == 2


def test_images_go_to_blobs(session: Session, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (8, 6), "red").save(folder / "red.png")
    blobs = BlobStore(tmp_path / "blobs")
    report = import_dataset(session, blobs, folder, CARD)
    cid = compute_cid((folder / "red.png").read_bytes())
    assert blobs.has(cid)
    item = session.get(Item, cid)
    assert item is not None and (item.width, item.height) == (8, 6)
    assert item.size == (folder / "red.png").stat().st_size
    assert report.counts == {"image": 1}


def test_a_corrupt_image_after_good_ones_stores_nothing(session: Session, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    for name, colour in (("a.png", "red"), ("b.png", "blue")):
        Image.new("RGB", (8, 6), colour).save(folder / name)
    (folder / "c.png").write_bytes((folder / "a.png").read_bytes()[:40])  # truncated
    blobs = BlobStore(tmp_path / "blobs")
    with pytest.raises(InvalidInput, match=r"images/c\.png"):
        import_dataset(session, blobs, folder, CARD)
    assert _count(session, Item) == 0 and _count(session, Dataset) == 0
    assert [p for p in blobs.root.rglob("*") if p.is_file()] == []  # no blob, no staging left


def test_bad_row_stores_nothing(session: Session, tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"text": "fine"}\n{not json}\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"bad\.jsonl:2"):
        import_dataset(session, BlobStore(tmp_path / "blobs"), source, CARD)
    assert _count(session, Item) == 0 and _count(session, Dataset) == 0


def test_unknown_dataset(session: Session) -> None:
    with pytest.raises(NotFound, match="not stored"):
        get_dataset(session, compute_cid(b"nothing"))


# --------------------------------------------------------------------------- input contract

BAD_INPUTS = [
    (
        "nul.csv",
        "text\nfine\nbad\x00text\n",
        r"^nul\.csv:3 text: contains the control .*U\+0000",
    ),
    ("nul.jsonl", '{"text": "ok"}\n{"text": "bad\\u0000"}\n', r"^nul\.jsonl:2 text: .*U\+0000"),
    ("bell.jsonl", '{"text": "ok", "note": "\\u0007"}\n', r"^bell\.jsonl:1 note: .*U\+0007"),
    ("nul.json", '[{"data": {"text": "a\\u0000b"}}]', r"^nul\.json\[0\] text: .*U\+0000"),
    (
        "pair.csv",
        "prompt,response_a,response_b\np,a\x1bx,b\n",
        r"^pair\.csv:2 response_a: .*001B",
    ),
    ("meta.csv", "text,lang\nok,e\x00n\n", r"^meta\.csv:2 lang: .*U\+0000"),
    ("big.jsonl", None, r"^big\.jsonl:2: is \d+ bytes, over the limit of 10 MiB per item"),
    ("big.csv", None, r"^big\.csv:3: .*over the limit of 10 MiB per item"),
    ("meta.jsonl", '{"text": "ok", "extra": "' + "x" * 70_000 + '"}\n', r"^meta\.jsonl:1 fields:"),
]


def _bad_file(tmp_path: Path, name: str, content: str | None) -> Path:
    path = tmp_path / name
    big = "y" * (MAX_ITEM_BYTES + 1)
    if name == "big.jsonl":
        content = '{"text": "ok"}\n' + json.dumps({"text": big}) + "\n"
    elif name == "big.csv":
        content = f"text\nok\n{big}\n"
    path.write_bytes(str(content).encode("utf-8"))
    return path


@pytest.mark.parametrize(("name", "content", "message"), BAD_INPUTS)
def test_the_same_refusal_on_both_stores_and_nothing_stored(
    session: Session, tmp_path: Path, name: str, content: str | None, message: str
) -> None:
    path = _bad_file(tmp_path, name, content)
    blobs = BlobStore(tmp_path / "blobs")
    with pytest.raises(InvalidInput, match=message) as refused:
        import_dataset(session, blobs, path, CARD)
    assert "\n" not in str(refused.value)
    assert _count(session, Item) == 0 and _count(session, Dataset) == 0
    assert not [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]


def test_an_image_over_the_item_limit_is_refused_unread(session: Session, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (8, 6), "red").save(folder / "a.png")
    with (folder / "b.png").open("wb") as big:
        big.write(b"\x89PNG\r\n\x1a\n")
        big.truncate(MAX_ITEM_BYTES + 1)
    blobs = BlobStore(tmp_path / "blobs")
    with pytest.raises(InvalidInput, match=r"^images/b\.png: is \d+ bytes, over the limit"):
        import_dataset(session, blobs, folder, CARD)
    assert _count(session, Item) == 0 and not [p for p in blobs.root.rglob("*") if p.is_file()]


def test_a_card_with_control_characters_is_refused(session: Session, tmp_path: Path) -> None:
    source = tmp_path / "ok.csv"
    source.write_text("text\none\n", encoding="utf-8")
    card = DatasetCard(title="bad\x00title")
    with pytest.raises(InvalidInput, match=r"^title: contains the control character U\+0000"):
        import_dataset(session, BlobStore(tmp_path / "blobs"), source, card)
    assert _count(session, Item) == 0 and _count(session, Dataset) == 0


def test_tabs_and_line_breaks_are_kept(session: Session, tmp_path: Path) -> None:
    source = tmp_path / "ok.jsonl"
    source.write_text('{"text": "a\\tb\\r\\nc"}\n', encoding="utf-8")
    report = import_dataset(session, BlobStore(tmp_path / "blobs"), source, CARD)
    assert report.new_items == 1


# --------------------------------------------------------------------------- batches, streaming


def test_streamed_manifest_matches_the_canonical_one() -> None:
    cids = [compute_cid(str(n).encode()) for n in range(5)]
    assert b"".join(manifest_chunks(CARD, [cids[:2], [], cids[2:]])) == manifest_bytes(CARD, cids)
    assert b"".join(manifest_chunks(CARD, [])) == manifest_bytes(CARD, [])


def _many(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, batch: int, rows: int) -> Path:
    monkeypatch.setattr(datasets_service, "IMPORT_BATCH", batch)
    source = tmp_path / "many.csv"
    source.write_text("text\n" + "".join(f"row {n}\n" for n in range(rows)), encoding="utf-8")
    return source


def test_a_large_import_is_stored_in_batches_and_switched_in_whole(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _many(tmp_path, monkeypatch, batch=7, rows=100)
    commits = []
    original = session.commit
    monkeypatch.setattr(session, "commit", lambda: (commits.append(1), original())[1])
    report = import_dataset(session, BlobStore(tmp_path / "blobs"), source, CARD)
    assert report.new_items == 100 and len(commits) > 2 * (100 // 7)
    (dataset,) = session.scalars(select(Dataset)).all()
    assert dataset.manifest_cid == report.manifest_cid and dataset.title == "reviews"
    assert DatasetRepository(session).item_cids(dataset.id) == [
        compute_cid(f"row {n}".encode()) for n in range(100)
    ]


def test_a_failure_while_filling_leaves_no_dataset(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _many(tmp_path, monkeypatch, batch=5, rows=30)
    calls = []
    original = DatasetRepository.add_members

    def failing(self: DatasetRepository, *args: object) -> None:
        calls.append(1)
        if len(calls) == 3:
            # what a half-filled pending dataset looks like to everyone else
            assert list_datasets(session) == []
            raise KeyboardInterrupt
        original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(DatasetRepository, "add_members", failing)
    blobs = BlobStore(tmp_path / "blobs")
    with pytest.raises(KeyboardInterrupt):
        import_dataset(session, blobs, source, CARD)
    assert _count(session, Dataset) == 0 and _count(session, DatasetItem) == 0
    assert not [p for p in blobs.root.rglob("*") if p.is_file()]  # no manifest blob


def test_a_stale_pending_dataset_is_removed_by_the_next_import(
    session: Session, tmp_path: Path, clock: FakeClock
) -> None:
    datasets = DatasetRepository(session)
    old = datasets.create_pending(card=CARD.to_dict(), now_ms=0, owner=None, tag="elsewhere:1")
    mine = datasets.create_pending(
        card=CARD.to_dict(), now_ms=int(clock() * 1000), owner=None, tag="elsewhere:2"
    )
    session.commit()
    source = tmp_path / "a.csv"
    source.write_text("text\none\n", encoding="utf-8")
    import_dataset(session, BlobStore(tmp_path / "blobs"), source, CARD, clock=clock)
    ids = set(session.scalars(select(Dataset.id)))
    assert old not in ids and mine in ids  # a fresh heartbeat from another machine is kept
    assert len(list_datasets(session)) == 1


# --------------------------------------------------------------------------- other processes

_IMPORT = """
import sys
from pathlib import Path
from datafair.core.task import DatasetCard
from datafair.services.datasets import import_dataset
from datafair.store.blobs import BlobStore
from datafair.store.db import Database
url, schema, source, blobs = sys.argv[1:5]
database = Database.from_url(url, schema=schema or None, migrate=False)
with database.session() as session:
    report = import_dataset(session, BlobStore(blobs), Path(source), DatasetCard(title="big"))
print(report.items)
"""


def _start_import(db: Database, source: Path, blobs: Path) -> subprocess.Popen[bytes]:
    schema = ""
    if db.dialect == "postgresql":
        with db.engine.connect() as connection:
            schema = str(connection.exec_driver_sql("SHOW search_path").scalar()).strip('"')
    url = db.engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": str(Path(datasets_service.__file__).parents[2])}
    return subprocess.Popen(
        [sys.executable, "-c", _IMPORT, url, schema, str(source), str(blobs)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _write_rows(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("id,text\n")
        out.writelines(f"{n},row {n} of a long import\n" for n in range(rows))
    return path


def test_contributors_keep_working_during_a_long_import(
    db: Database, session: Session, make_task, contributors, clock, tmp_path: Path
) -> None:
    task = make_task(n=3000, overlap=1)
    source = _write_rows(tmp_path / "long.csv", 60_000)
    importer = _start_import(db, source, tmp_path / "blobs")
    latencies: list[float] = []
    nonce = 0
    try:
        while importer.poll() is None:
            contributor = contributors[nonce % len(contributors)]
            nonce += 1
            started = time.perf_counter()
            assigned = next_item(session, task.task_id, contributor.address, clock=clock)
            assert assigned is not None
            latencies.append(time.perf_counter() - started)
            entry = contributor.sign(task.info, assigned.item_cid, "pos", nonce)
            started = time.perf_counter()
            submit(session, entry, clock=clock)
            latencies.append(time.perf_counter() - started)
    finally:
        out, err = importer.communicate(timeout=300)
    assert importer.returncode == 0, err.decode()
    assert out.strip() == b"60000"
    assert len(latencies) > 20  # the import ran long enough to overlap
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    print(
        f"{db.dialect}: {len(latencies)} next/submit during the import, "
        f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )
    # 100 ms on an idle machine (benchmarks/import_items.py); generous here, as CI is shared
    assert p99 < 1.0


@pytest.mark.parametrize("phase", ["reading", "filling"])
def test_a_killed_import_leaves_nothing_the_next_run_keeps(
    db: Database, session: Session, tmp_path: Path, phase: str
) -> None:
    source = _write_rows(tmp_path / "long.csv", 60_000)
    blobs = tmp_path / "blobs"
    importer = _start_import(db, source, blobs)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and importer.poll() is None:
            if phase == "reading" and list(blobs.glob(".staging-*")):
                break
            if phase == "filling" and session.scalar(
                select(func.count()).where(Dataset.manifest_cid.startswith("pending-"))
            ):
                break
            session.rollback()
            time.sleep(0.01)
        importer.send_signal(signal.SIGKILL)
    finally:
        importer.wait(timeout=60)
    session.rollback()
    assert importer.returncode == -signal.SIGKILL, "the import finished before the kill"
    debris = list(blobs.glob(".staging-*")) if phase == "reading" else list_datasets(session)
    assert phase == "filling" or debris  # the staging folder a kill leaves
    assert list_datasets(session) == []  # nothing half-imported is visible
    small = tmp_path / "small.csv"
    small.write_text("text\none\n", encoding="utf-8")
    report = import_dataset(session, BlobStore(blobs), small, CARD)
    assert not list(blobs.glob(".staging-*"))
    assert [info.manifest_cid for info in list_datasets(session)] == [report.manifest_cid]
    assert _count(session, Dataset) == 1
    assert _count(session, DatasetItem) == 1
    stored = [p.name for p in blobs.rglob("*") if p.is_file()]
    assert stored == [report.manifest_cid]  # no manifest of the killed import
