"""`datafair chain deploy | status` through the real entry point, embedded and on anvil."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from datafair.cli.app import main

from ._anvil import DEV_KEYS, anvil


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAFAIR_PASSWORD", "correct horse")
    monkeypatch.setenv("COLUMNS", "200")


def test_deploy_and_status_on_the_embedded_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = str(tmp_path)
    assert main(["chain", "deploy", "--home", home]) == 1
    assert "no account in the keystore" in capsys.readouterr().err
    assert main(["account", "new", "alice", "--home", home]) == 0
    assert main(["chain", "deploy", "--fee-bps", "300", "--home", home]) == 0
    out = capsys.readouterr().out
    path = tmp_path / "chain" / "deployments" / "embedded.json"
    deployment = json.loads(path.read_text())
    assert set(deployment["addresses"]) == {
        "DevToken",
        "TaskEscrow",
        "DatasetRegistry",
        "DatasetMarket",
    }
    assert deployment["chain_id"] == 31337 and str(path) in out
    assert deployment["evm_version"] == "prague" and "EVM version prague" in out
    assert main(["chain", "deploy", "--home", home]) == 1
    assert "already deployed" in capsys.readouterr().err
    assert main(["chain", "status", "--home", home]) == 0
    out = capsys.readouterr().out
    assert "fee 300 bps (cap 500)" in out and "current" in out and "alice" in out
    assert "contracts compiled for EVM version prague" in out
    assert deployment["addresses"]["TaskEscrow"] in out
    assert re.search(
        r"history: (\d+) transactions, newest state snapshot after \1 \(0 to replay at "
        r"start-up\); .*state\.sqlite3, [\d.]+ MB",
        " ".join(out.split()),
    )


def test_bad_options_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(tmp_path)
    assert main(["account", "new", "alice", "--home", home]) == 0
    assert main(["chain", "deploy", "--fee-bps", "501", "--home", home]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --fee-bps:") and "\n" not in err
    assert main(["chain", "deploy", "--account", "nobody", "--home", home]) == 1
    assert "no account named 'nobody'" in capsys.readouterr().err
    assert main(["chain", "deploy", "--evm-version", "berlinx", "--home", home]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: --evm-version: 'berlinx' is not an EVM version Vyper 0.4.3 knows "
        "(use one of: london, paris, shanghai, cancun, prague)"
    )
    assert main(["chain", "status", "--home", home]) == 0
    assert "no deployment" in capsys.readouterr().out


def test_deploy_for_an_older_evm_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = str(tmp_path)
    assert main(["account", "new", "alice", "--home", home]) == 0
    assert main(["chain", "deploy", "--evm-version", "shanghai", "--home", home]) == 0
    assert "EVM version shanghai" in capsys.readouterr().out
    path = tmp_path / "chain" / "deployments" / "embedded.json"
    assert json.loads(path.read_text())["evm_version"] == "shanghai"
    assert main(["chain", "status", "--home", home]) == 0
    out = capsys.readouterr().out
    assert "contracts compiled for EVM version shanghai" in out and "changed" not in out
    cached = {p.name.split("-")[1] for p in (tmp_path / "cache" / "contracts").glob("*.json")}
    assert cached == {"shanghai"}  # status reads the build that was deployed
    assert main(["chain", "deploy", "--help"]) == 0
    assert "without Cancun support" in " ".join(capsys.readouterr().out.split())


@pytest.mark.anvil
@pytest.mark.node
@pytest.mark.xdist_group("anvil")
def test_deploy_and_status_over_rpc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(tmp_path)
    key_file = tmp_path / "key.txt"
    key_file.write_text(DEV_KEYS[0])
    assert (
        main(["account", "import", "dev", "--private-key-file", str(key_file), "--home", home]) == 0
    )
    with anvil() as url:
        args = ["--rpc", url, "--home", home]
        assert main(["chain", "deploy", "--account", "dev", "--chain-id", "530", *args]) == 1
        assert "is chain id 31337, expected 530" in capsys.readouterr().err
        assert main(["chain", "deploy", "--account", "dev", "--no-dev-token", *args]) == 0
        deployment = json.loads(
            (tmp_path / "chain" / "deployments" / "chain-31337.json").read_text()
        )
        assert set(deployment["addresses"]) == {"TaskEscrow", "DatasetRegistry", "DatasetMarket"}
        capsys.readouterr()
        assert main(["chain", "status", *args]) == 0
        out = capsys.readouterr().out
        assert "chain id 31337" in out and "fee 250 bps" in out
    assert main(["chain", "status", "--rpc", url, "--home", home]) == 1
    assert "cannot reach the node" in capsys.readouterr().err
