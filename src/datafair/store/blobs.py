"""Content-addressed blob files, named by CIDv1 (raw, sha2-256, base32).

Inputs: a root directory (``Settings.blobs_dir``). A blob with CID ``bafkrei...xyz`` lives at
``ROOT/<next-to-last two characters>/<cid>``, the sharding IPFS's flatfs uses
(``/repo/flatfs/shard/v1/next-to-last/2``), so directories stay small and evenly filled.

Writes are atomic: the bytes go to a temporary file in the shard directory, are flushed and
fsynced, then renamed over the final name (and the directory is fsynced), so a reader never sees a
partial blob and a crash leaves either the whole blob or none. Writing a blob that exists is a
no-op: its name is its content.

``staged()`` collects the blobs of one operation (an import) in a hidden directory of the store
and moves them into place only if the operation succeeds, so input refused half-way leaves the
store as it was. The directory is named ``.staging-<pid>-<random>``; a process killed mid-way
(``kill -9``) cannot remove it, so every ``staged()`` first removes the staging directories of
processes that are no longer running on this machine, and any older than ``STALE_STAGING_S``
(which covers a store shared between machines).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from datafair.core.errors import DatafairError, NotFound
from datafair.crypto.cid import cid_digest, cid_from_digest, compute_cid

STALE_STAGING_S = 24 * 3600
_STAGING = ".staging-"


class CorruptBlob(DatafairError):
    """A stored blob's bytes no longer match its CID."""


class BlobStore:
    """Content-addressed files under ``root``; ``verify`` re-hashes content on every read."""

    def __init__(self, root: Path | str, *, verify: bool = False) -> None:
        self.root = Path(root)
        self.verify = verify

    def path(self, cid: str) -> Path:
        """Where the blob ``cid`` is (or would be) stored; ``InvalidInput`` if not a CID."""
        cid_digest(cid)
        return self.root / cid[-3:-1] / cid

    def has(self, cid: str) -> bool:
        """Whether the blob ``cid`` is stored."""
        return self.path(cid).is_file()

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its CID (atomic, idempotent; hashed once)."""
        cid = compute_cid(data)
        if self.path(cid).is_file():
            return cid
        return self._write((data,), cid)

    def put_stream(self, chunks: Iterable[bytes]) -> str:
        """Store the concatenation of ``chunks`` without holding it in memory; its CID.

        The bytes go to a temporary file in the store, fsynced, renamed to their CID."""
        return self._write(chunks, None)

    def _write(self, chunks: Iterable[bytes], known: str | None) -> str:
        """Write ``chunks`` to a temporary file, fsync, rename it to its CID (``known``, or
        the sha2-256 of the bytes computed while writing)."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=".part")
        try:
            digest = hashlib.sha256() if known is None else None
            with os.fdopen(handle, "wb") as stream:
                for chunk in chunks:
                    if digest is not None:
                        digest.update(chunk)
                    stream.write(chunk)
                stream.flush()
                os.fsync(stream.fileno())
            cid = cid_from_digest(digest.digest()) if digest is not None else str(known)
            target = self.path(cid)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        _fsync_directory(target.parent)
        return cid

    def clean_stale_staging(self, *, now: float | None = None) -> list[Path]:
        """Remove the staging directories left by killed operations (see the module docs)."""
        removed: list[Path] = []
        if not self.root.is_dir():
            return removed
        now = time.time() if now is None else now
        for stage in self.root.glob(_STAGING + "*"):
            owner = stage.name[len(_STAGING) :].split("-", 1)[0]
            try:
                old = now - stage.stat().st_mtime > STALE_STAGING_S
            except FileNotFoundError:
                continue
            if old or (owner.isdigit() and not _running(int(owner))):
                shutil.rmtree(stage, ignore_errors=True)
                removed.append(stage)
        return removed

    @contextlib.contextmanager
    def staged(self) -> Iterator[BlobStore]:
        """A store in a hidden directory of this one, for the blobs of one operation.

        When the block ends normally its blobs are moved here (each an atomic rename; blobs
        already here are kept); when it raises they are deleted. Either way the staging
        directory is removed.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        self.clean_stale_staging()
        stage = Path(tempfile.mkdtemp(dir=self.root, prefix=f"{_STAGING}{os.getpid()}-"))
        try:
            yield BlobStore(stage)
            for shard in sorted(p for p in stage.iterdir() if p.is_dir()):
                moved = False
                for blob in shard.iterdir():
                    if blob.name.startswith(".tmp-"):
                        continue
                    target = self.path(blob.name)
                    if not target.is_file():
                        target.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(blob, target)
                        moved = True
                if moved:
                    _fsync_directory(self.root / shard.name)
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def get(self, cid: str, *, verify: bool | None = None) -> bytes:
        """The bytes of blob ``cid``; ``NotFound`` if missing, ``CorruptBlob`` if they differ.

        ``verify`` overrides the store's default for this read.
        """
        target = self.path(cid)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"blob {cid}: not in the blob store at {self.root}") from None
        if (self.verify if verify is None else verify) and compute_cid(data) != cid:
            raise CorruptBlob(
                f"blob {cid}: content does not match its id (corrupt file {target}; "
                "restore it from a copy or re-import the item)"
            )
        return data


def _running(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (one owned by another user counts)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
