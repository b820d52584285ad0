"""`datafair market`, `datafair release` and `datafair collect` on a home where the demo sold its
release: list, show, audit, release refusals, a buyer's download, a contributor's item."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datafair.cli.app import main


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, contract_cache: Path) -> str:
    from datafair.services.demo import run_demo
    from datafair.settings import load_settings

    path = tmp_path_factory.mktemp("market-cli") / "home"
    run_demo(load_settings(home=path, cache=contract_cache), seed=5, n_items=20)
    return str(path)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, contract_cache: Path) -> None:
    monkeypatch.setenv("DATAFAIR_PASSWORD", "correct horse")
    monkeypatch.setenv("DATAFAIR_CACHE", str(contract_cache))


def test_list_show_audit(home: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["market", "list", "--home", home, "--search", "sentiment"]) == 0
    out = capsys.readouterr().out
    assert "Product reviews" in out and "CC0-1.0" in out
    assert main(["market", "list", "--home", home, "--license", "MIT"]) == 0
    assert "no release matches" in capsys.readouterr().out
    assert main(["market", "show", "1", "--home", home]) == 0
    out = capsys.readouterr().out
    manifest = next(line.split()[-2] for line in out.splitlines() if " manifest " in line)
    assert main(["market", "audit", manifest, "--home", home]) == 0
    assert "release audit ok" in capsys.readouterr().out
    assert main(["audit", manifest, "--home", home]) == 0  # the settlement audit command too
    assert "release audit ok" in capsys.readouterr().out
    assert main(["market", "list", "--home", home, "--min-agreement", "3"]) == 1
    err = capsys.readouterr().err
    assert "min_agreement: 3.0 is not a fraction" in err and err.count("\n") == 1


def test_release_refusals_are_one_line(home: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["account", "new", "owner", "--home", home]) == 0
    capsys.readouterr()
    assert main(["release", "0x" + "ab" * 32, "--account", "owner", "--home", home]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: task_id: no task 0x") and err.count("\n") == 1


def test_download_needs_a_licence(
    home: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from datafair.sim.population import derive_key

    assert main(["account", "new", "nobody", "--home", home]) == 0
    key_file = tmp_path / "buyer.key"
    key_file.write_text(derive_key(5, 2_000_000).hex())
    assert (
        main(["account", "import", "buyer", "--private-key-file", str(key_file), "--home", home])
        == 0
    )
    capsys.readouterr()
    out_file = tmp_path / "data.json"
    args = ["market", "download", "1", "--home", home, "-o", str(out_file)]
    assert main([*args, "--account", "nobody"]) == 1
    assert "holds no licence of release 1" in capsys.readouterr().err
    assert main([*args, "--account", "buyer"]) == 0
    assert json.loads(out_file.read_text())["format"] == "datafair-release-data/1"


def test_collect_create_and_submit(home: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["account", "new", "writer", "--home", home]) == 0
    args = ["collect", "create", "--title", "Haiku", "--formats", "text", "--home", home]
    assert main(args) == 0
    task = capsys.readouterr().out.split()[-1]
    text = "An old silent pond, a frog jumps into the pond, splash! Silence again."
    submit = ["collect", "submit", task, "--text", text, "--account", "writer", "--home", home]
    assert main(submit) == 0
    assert "submitted item bafk" in capsys.readouterr().out
    assert main(submit) == 1
    err = capsys.readouterr().err
    assert "item: duplicate of item bafk" in err and err.count("\n") == 1
    assert main([*submit[:3], "--text", "   ", *submit[5:]]) == 1
    assert "text: is empty" in capsys.readouterr().err


def test_market_listings_show_a_hostile_title_literally(
    home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A release whose title and card carry markup, an ANSI escape and an RTL override lists
    and shows literally (``datafair.cli.common.shown``), on a copy of the demo's home."""
    import shutil

    from sqlalchemy import update

    from datafair.settings import load_settings
    from datafair.store.db import Database
    from datafair.store.market_models import Release

    copy = str(tmp_path / "home")
    shutil.copytree(home, copy)
    hostile = "[/x][bold]\x1b[31mred\u202eevil"
    database = Database.open(load_settings(home=Path(copy)))
    with database.session() as session:
        session.execute(update(Release).values(title=hostile, card_text=hostile))
        session.commit()
    database.dispose()
    for args in (["market", "list"], ["market", "show", "1", "--card"]):
        assert main([*args, "--home", copy]) == 0, args
        out = capsys.readouterr().out
        assert "[/x][bold]\\x1b[31mred\\u202eevil" in out, out
        assert "\x1b" not in out and "\u202e" not in out
