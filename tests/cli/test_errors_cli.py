"""Failures a user meets end in one line naming the cause and the fix, exit 1, no traceback
(``--debug`` shows it): unreachable database, unwritable home, UTF-16 gold, no password and
no terminal. Each drives the real CLI in a child process, as a user or a script runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
CLI = "import sys; from datafair.cli.app import main; sys.exit(main())"


def datafair(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``datafair ARGS`` with no terminal (stdin from /dev/null, a new session)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DATAFAIR_")}
    environment.update({"PYTHONPATH": str(SRC), **env})
    return subprocess.run(
        [sys.executable, "-c", CLI, *args],
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,  # no controlling terminal, as under cron or CI
        check=False,
    )


def one_line(done: subprocess.CompletedProcess[str], start: str, *parts: str) -> None:
    assert done.returncode == 1, done
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(start), done.stderr
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr
    for part in parts:
        assert part in done.stderr, done.stderr


def test_an_unreachable_database_url_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://someone:secret@127.0.0.1:1/nothing"
    done = datafair("dataset", "list", DATAFAIR_HOME=str(tmp_path), DATAFAIR_DATABASE_URL=url)
    one_line(
        done,
        "error: DATAFAIR_DATABASE_URL: cannot connect to postgresql+psycopg://someone:***@",
        "Connection refused",
        "(check the URL and that the database server is running",
    )
    assert "secret" not in done.stderr and "sqlalche.me" not in done.stderr
    debug = datafair(
        "--debug", "dataset", "list", DATAFAIR_HOME=str(tmp_path), DATAFAIR_DATABASE_URL=url
    )
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_a_sqlite_database_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///file:{tmp_path}/missing/x.db?mode=ro&uri=true"
    done = datafair("dataset", "list", DATAFAIR_HOME=str(tmp_path), DATAFAIR_DATABASE_URL=url)
    one_line(done, "error: database: cannot open the SQLite database", "DATAFAIR_HOME")


def test_an_unwritable_home_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = datafair("dataset", "list", DATAFAIR_HOME=str(blocker / "home"))
    one_line(done, "error: home: cannot create folder", "(set DATAFAIR_HOME (or --home)")


def test_a_gold_csv_in_utf16_is_one_line(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    texts = tmp_path / "t.csv"
    texts.write_text("text\na\nb\n", encoding="utf-8")
    imported = datafair("dataset", "import", str(texts), "--title", "t", DATAFAIR_HOME=home)
    dataset = next(w for w in imported.stdout.split() if w.startswith("bafk"))
    gold = tmp_path / "gold.csv"
    gold.write_text("item,label\nx,a\n", encoding="utf-16")
    create = f"task create {dataset} --title s --classes a,b --gold".split()
    done = datafair(*create, str(gold), DATAFAIR_HOME=home)
    one_line(done, f"error: {gold}: is UTF-16 text, not UTF-8", "(save the file as UTF-8")


def test_a_missing_password_without_a_terminal_is_one_line(tmp_path: Path) -> None:
    done = datafair("account", "new", "alice", DATAFAIR_HOME=str(tmp_path / "home"))
    one_line(done, "error: password: is not set and there is no terminal", "$DATAFAIR_PASSWORD")
    assert done.stdout == "" and "GetPassWarning" not in done.stderr
    assert not list((tmp_path / "home" / "keys").glob("*.json"))


@pytest.mark.parametrize("amount", [str(2**256), str(10**80)])
def test_fund_with_an_amount_above_uint256_is_one_line(tmp_path: Path, amount: str) -> None:
    done = datafair(
        "fund", "0x" + "ab" * 32, amount, "--mint", DATAFAIR_HOME=str(tmp_path / "home")
    )
    one_line(done, "error: AMOUNT: ", "above 2**256-1", "(give a smaller amount")


def test_a_read_only_database_is_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert datafair("dataset", "list", DATAFAIR_HOME=str(home)).returncode == 0
    texts = tmp_path / "t.csv"
    texts.write_text("text\na\n", encoding="utf-8")
    read_only = f"sqlite:///file:{home / 'datafair.db'}?mode=ro&uri=true"
    done = datafair(
        "dataset",
        "import",
        str(texts),
        "--title",
        "t",
        DATAFAIR_HOME=str(home),
        DATAFAIR_DATABASE_URL=read_only,
    )
    one_line(done, "error: database: attempt to write a readonly database", "you may write it")
