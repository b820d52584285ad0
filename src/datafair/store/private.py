"""Private files and folders: what datafair keeps in its home is readable by its owner only.

The home and its ``keys``, ``chain`` and ``blobs`` folders are 0700; the SQLite database with
its ``-wal`` and ``-shm`` files, the embedded chain's state file, deployment files and lock
files are 0600. The mode is set explicitly (``os.open``/``mkdir`` with the private mode, then
``chmod``), so it holds whatever the process umask is (0o022, 0o000, ...). A file is created
private *before* SQLite opens it: SQLite gives a database's ``-wal`` and ``-shm`` files the
mode of the database file itself.

Inputs: paths; ``field`` names the setting a failure is reported against (``home`` by
default). A folder or file that cannot be created raises one ``InvalidInput`` naming the path,
the reason and the fix; tightening the mode of something that exists is best effort (a file
owned by another user, or on a read-only file system, is left as it is).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from datafair.core.errors import InvalidInput

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
HOME_FIX = "set DATAFAIR_HOME (or --home) to a folder you can write"


def _failure(path: Path, exc: OSError, what: str, field: str) -> InvalidInput:
    reason = exc.strerror or type(exc).__name__
    return InvalidInput(field, f"cannot create {what} {path} ({reason})", HOME_FIX)


def tighten(paths: Iterable[Path | str], mode: int = PRIVATE_FILE) -> None:
    """``chmod`` each existing path owned by this user to ``mode`` (best effort)."""
    for path in paths:
        with contextlib.suppress(OSError):
            status = os.stat(path)
            if status.st_uid == os.geteuid() and status.st_mode & 0o777 != mode:
                os.chmod(path, mode)


def private_dir(path: Path, field: str = "home") -> Path:
    """Create folder ``path`` (and missing parents) and make it 0700; returns ``path``."""
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    except OSError as exc:
        raise _failure(path, exc, "folder", field) from exc
    tighten([path], PRIVATE_DIR)
    return path


def private_file(path: Path, field: str = "home") -> Path:
    """Create file ``path`` empty if missing, and make it 0600; returns ``path``.

    An existing file keeps its content (``O_CREAT`` without ``O_TRUNC``).
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    except OSError as exc:
        if path.is_file():  # readable but not writable: SQLite reports it when it writes
            return path
        raise _failure(path, exc, "file", field) from exc
    os.close(descriptor)
    tighten([path])
    return path


def sqlite_companions(path: Path | str) -> list[Path]:
    """The database file ``path`` with its ``-wal`` and ``-shm`` files."""
    return [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")]
