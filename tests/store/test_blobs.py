"""The content-addressed blob store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datafair.core.errors import InvalidInput, NotFound
from datafair.crypto.cid import compute_cid
from datafair.store.blobs import BlobStore, CorruptBlob

HELLO_CID = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"


def _files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_put_names_the_blob_by_its_cid_in_a_next_to_last_two_shard(tmp_path: Path):
    blobs = BlobStore(tmp_path)
    assert blobs.put(b"hello world") == HELLO_CID
    assert blobs.path(HELLO_CID) == tmp_path / "n5" / HELLO_CID
    assert blobs.has(HELLO_CID)
    assert blobs.get(HELLO_CID) == b"hello world"
    assert _files(tmp_path) == [tmp_path / "n5" / HELLO_CID]


def test_put_is_idempotent_and_leaves_no_temporary_files(tmp_path: Path):
    blobs = BlobStore(tmp_path)
    data = os.urandom(300_000)
    first, second = blobs.put(data), blobs.put(data)
    assert first == second == compute_cid(data)
    assert _files(tmp_path) == [blobs.path(first)]


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch):
    blobs = BlobStore(tmp_path)

    def failing_replace(source: str, target: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        blobs.put(b"some image bytes")
    assert _files(tmp_path) == []
    assert not blobs.has(compute_cid(b"some image bytes"))


def test_missing_blob_is_not_found(tmp_path: Path):
    with pytest.raises(NotFound, match=HELLO_CID):
        BlobStore(tmp_path).get(HELLO_CID)
    assert not BlobStore(tmp_path).has(HELLO_CID)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "bafkrei", "Qm" + "a" * 44, ""])
def test_a_malformed_cid_is_refused_before_touching_the_disk(tmp_path: Path, bad: str):
    blobs = BlobStore(tmp_path)
    with pytest.raises(InvalidInput, match="cid"):
        blobs.path(bad)
    with pytest.raises(InvalidInput):
        blobs.get(bad)


def test_verified_reads_detect_a_corrupted_file(tmp_path: Path):
    blobs = BlobStore(tmp_path)
    cid = blobs.put(b"original")
    blobs.path(cid).write_bytes(b"tampered")
    assert blobs.get(cid) == b"tampered"  # unverified by default: one read, no hashing
    with pytest.raises(CorruptBlob, match=cid):
        blobs.get(cid, verify=True)
    with pytest.raises(CorruptBlob):
        BlobStore(tmp_path, verify=True).get(cid)


def test_verified_reads_of_intact_blobs_return_the_content(tmp_path: Path):
    blobs = BlobStore(tmp_path, verify=True)
    cid = blobs.put(b"\x89PNG fake image")
    assert blobs.get(cid) == b"\x89PNG fake image"


def test_staged_blobs_move_into_place_when_the_block_succeeds(tmp_path: Path):
    blobs = BlobStore(tmp_path)
    kept = blobs.put(b"already here")
    with blobs.staged() as stage:
        new = stage.put(b"hello world")
        again = stage.put(b"already here")
        assert not blobs.has(new)  # not visible before the block ends
    assert (new, again) == (HELLO_CID, kept)
    assert blobs.get(new) == b"hello world" and blobs.get(kept) == b"already here"
    assert _files(tmp_path) == sorted([blobs.path(new), blobs.path(kept)])  # no staging left


def test_staged_blobs_vanish_when_the_block_raises(tmp_path: Path):
    blobs = BlobStore(tmp_path)
    with pytest.raises(RuntimeError), blobs.staged() as stage:
        stage.put(b"hello world")
        raise RuntimeError("input refused half-way")
    assert not blobs.has(HELLO_CID)
    assert _files(tmp_path) == [] and list(tmp_path.iterdir()) == []
