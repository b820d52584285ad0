"""`datafair account new | import | list` through the real entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from datafair.cli.app import main


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAFAIR_PASSWORD", "correct horse")


def test_new_list_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(tmp_path)
    assert main(["account", "new", "alice", "--home", home]) == 0
    key_file = tmp_path / "key.txt"
    key_file.write_text("0x" + "22" * 32 + "\n")
    assert (
        main(["account", "import", "bob", "--private-key-file", str(key_file), "--home", home]) == 0
    )
    capsys.readouterr()
    assert main(["account", "list", "--home", home]) == 0
    listed = capsys.readouterr().out
    assert "alice" in listed and "bob" in listed


def test_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(tmp_path)
    assert main(["account", "new", "Bad Name", "--home", home]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: name:") and "\n" not in err
    assert main(["account", "import", "x", "--home", home]) == 2
    assert "exactly one of" in capsys.readouterr().err
    assert main(["account", "frobnicate"]) == 2
    assert main(["account", "new", "alice", "--home", home]) == 0
    assert main(["account", "new", "alice", "--home", home]) == 1
    assert "already exists" in capsys.readouterr().err


def test_help_lists_groups(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for group in ("account", "dataset", "task", "quality", "chain", "export", "demo"):
        assert group in out
