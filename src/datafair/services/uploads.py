"""Uploaded dataset files: checked names and types, streamed to a private staging folder.

Inputs: the staging root (inside the data dir), the file name and the declared media type the
client sent, a binary stream, and the size limit in bytes.

A file name is a bare name (no folder, no ``..``, no control characters, at most 200
characters) with one of the importers' suffixes; its declared media type must be one of that
suffix's types, and its first bytes must look like it (a ``.zip`` starts with ``PK``; a text
file is UTF-8 without NUL bytes). A ``.zip`` holds a folder of PNG/JPEG images: each member's
path is checked the same way (no absolute path, no ``..``), so nothing is written outside the
staging folder. Every refusal is an ``InvalidInput`` naming ``file`` or the member, and removes
what was staged; the caller imports the staged path with
:func:`datafair.services.datasets.import_dataset` and then calls :func:`discard`.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from datafair.core.errors import InvalidInput

CHUNK = 1 << 20
MAX_NAME = 200
_NAME = re.compile(r"^[^/\\\x00-\x1f]{1,200}$")
TYPES: dict[str, frozenset[str]] = {
    ".csv": frozenset({"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"}),
    ".jsonl": frozenset(
        {
            "application/jsonl",
            "application/x-ndjson",
            "application/json",
            "text/plain",
            "application/x-jsonlines",
        }
    ),
    ".ndjson": frozenset({"application/x-ndjson", "application/json", "text/plain"}),
    ".json": frozenset({"application/json", "text/plain"}),
    ".zip": frozenset({"application/zip", "application/x-zip-compressed"}),
}
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})


def check_name(name: str, field: str = "file") -> str:
    """``name`` if it is a safe bare file name; ``InvalidInput`` otherwise."""
    if not isinstance(name, str) or not _NAME.match(name) or name in (".", "..") or ".." in name:
        raise InvalidInput(
            f"{field}.filename",
            f"{name!r} is not a plain file name",
            "send a bare name such as reviews.csv, without folders or '..'",
        )
    return name


def _suffix(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in TYPES:
        raise InvalidInput(
            "file.filename",
            f"{name!r} has no supported suffix",
            "upload a .csv, .jsonl, Label Studio .json, or a .zip of PNG/JPEG images",
        )
    return suffix


def _check_type(suffix: str, declared: str | None) -> None:
    media = (declared or "").split(";")[0].strip().lower()
    if media not in TYPES[suffix]:
        raise InvalidInput(
            "file.content_type",
            f"{media or 'nothing'} is not a type of a {suffix} file",
            f"declare one of {', '.join(sorted(TYPES[suffix]))}",
        )


def _check_content(suffix: str, head: bytes) -> None:
    if suffix == ".zip":
        if not head.startswith(b"PK\x03\x04"):
            raise InvalidInput("file", "is declared a zip archive but is not one")
        return
    if b"\x00" in head:
        raise InvalidInput("file", f"is declared a {suffix} text file but holds binary data")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a character cut at the chunk's end
            raise InvalidInput("file", "is not UTF-8 text", "save it as UTF-8") from None


def stage_upload(
    root: Path, name: str, declared: str | None, stream: BinaryIO, *, limit: int
) -> Path:
    """Copy the upload into a new folder under ``root``; the path to import (the file, or the
    folder a zip was extracted to). ``InvalidInput`` on a bad name, type, content or size."""
    check_name(name)
    suffix = _suffix(name)
    _check_type(suffix, declared)
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=root))
    try:
        target = folder / name
        size = 0
        with target.open("wb") as out:
            first = True
            while chunk := stream.read(CHUNK):
                if first:
                    _check_content(suffix, chunk[:4096])
                    first = False
                size += len(chunk)
                if size > limit:
                    raise InvalidInput(
                        "file", f"is larger than {limit} bytes", "split it into several datasets"
                    )
                out.write(chunk)
        if size == 0:
            raise InvalidInput("file", "is empty")
        if suffix == ".zip":
            return _extract(target, folder / "images", limit)
        return target
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _extract(archive: Path, into: Path, limit: int) -> Path:
    into.mkdir()
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = [m for m in zipped.infolist() if not m.is_dir()]
            total = sum(member.file_size for member in members)
            if total > limit:
                raise InvalidInput("file", f"unpacks to more than {limit} bytes")
            for member in members:
                path = PurePosixPath(member.filename)
                if path.is_absolute() or ".." in path.parts or "\\" in member.filename:
                    raise InvalidInput(
                        f"file[{member.filename}]",
                        "is a path outside the archive's folder",
                        "zip the images with relative names",
                    )
                for part in path.parts:
                    check_name(part, f"file[{member.filename}]")
                if path.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                destination = into.joinpath(*path.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(member) as source, destination.open("wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
    except zipfile.BadZipFile:
        raise InvalidInput("file", "is not a readable zip archive") from None
    archive.unlink()
    return into


def discard(path: Path, root: Path) -> None:
    """Remove the staging folder of ``path`` (a path returned by :func:`stage_upload`)."""
    resolved = path.resolve()
    for parent in resolved.parents:
        if parent.parent == root.resolve():
            shutil.rmtree(parent, ignore_errors=True)
            return
