"""Private files: the home, its folders, the database and its -wal/-shm are the owner's only,
whatever the umask (another local user must not read gold answers or their salts)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from datafair.core.errors import InvalidInput
from datafair.settings import Settings
from datafair.store.db import Database
from datafair.store.keystore import KeyStore
from datafair.store.private import private_dir, private_file

UMASKS = (0o022, 0o000)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=UMASKS, ids=lambda value: f"umask{value:03o}")
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def test_home_folders_database_wal_and_shm_are_private(tmp_path: Path, umask: int) -> None:
    settings = Settings(home=tmp_path / "home")
    database = Database.open(settings)
    try:
        with database.session() as session:  # a write makes the -wal and -shm files
            session.execute(text("CREATE TABLE probe (x INTEGER)"))
            session.commit()
            home = settings.home
            for folder in (home, settings.keys_dir, settings.chain_dir, settings.blobs_dir):
                assert mode(folder) == 0o700, folder
            for suffix in ("", "-wal", "-shm"):
                assert mode(home / f"datafair.db{suffix}") == 0o600, suffix
    finally:
        database.dispose()


def test_an_existing_world_readable_database_is_made_private_when_opened(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    Database.open(settings).dispose()
    database_file = settings.home / "datafair.db"
    os.chmod(database_file, 0o644)  # as written by earlier versions
    Database.open(settings).dispose()
    assert mode(database_file) == 0o600


def test_keys_folder_and_key_files_are_private(tmp_path: Path, umask: int) -> None:
    store = KeyStore(tmp_path / "home" / "keys")
    info = store.new("alice", "pw")
    assert mode(tmp_path / "home" / "keys") == 0o700
    assert mode(info.path) == 0o600


def test_private_file_keeps_content_and_tightens_the_mode(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "f"
    path.write_text("kept")
    os.chmod(path, 0o666)
    private_file(path)
    assert path.read_text() == "kept" and mode(path) == 0o600
    assert mode(private_file(tmp_path / "new")) == 0o600
    assert mode(private_dir(tmp_path / "a" / "b")) == 0o700


def test_a_home_that_cannot_be_created_is_one_line_naming_the_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InvalidInput) as raised:
        Settings(home=blocker / "home").ensure_home()
    message = str(raised.value)
    assert message.startswith("home: cannot create folder") and "DATAFAIR_HOME" in message
    assert "\n" not in message


SETPRIV = shutil.which("setpriv")


@pytest.mark.skipif(
    os.geteuid() != 0 or SETPRIV is None, reason="needs root and setpriv to act as another user"
)
def test_another_local_user_cannot_read_the_database() -> None:
    # outside pytest's 0700 temporary root: the folders above the home are traversable by
    # everyone, as a real $HOME usually is
    parent = Path(tempfile.mkdtemp(prefix="datafair-private-", dir="/tmp"))
    try:
        os.chmod(parent, 0o755)
        settings = Settings(home=parent / "home")
        Database.open(settings).dispose()
        probe = "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute('select * from tasks')"
        user = ["--reuid=65534", "--regid=65534", "--clear-groups"]
        database = str(settings.home / "datafair.db")
        other = subprocess.run(
            [str(SETPRIV), *user, sys.executable, "-c", probe, database],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        shutil.rmtree(parent)
    assert other.returncode != 0
    assert "unable to open database file" in other.stderr
