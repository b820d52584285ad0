"""The money commands on a real node (anvil): who signs by default, minting, and claims for an
external wallet."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
from tests.chain._anvil import DEV_KEYS, anvil

from datafair.cli.app import main
from datafair.settings import load_settings
from datafair.store.db import Database

_HELPERS = Path(__file__).resolve().parents[1] / "services" / "settlement" / "settle_helpers.py"

pytestmark = [pytest.mark.anvil, pytest.mark.node, pytest.mark.xdist_group("anvil")]


def _helpers() -> ModuleType:
    loaded = sys.modules.get("settle_helpers")
    if loaded is None:
        spec = importlib.util.spec_from_file_location("settle_helpers", _HELPERS)
        assert spec is not None and spec.loader is not None
        loaded = importlib.util.module_from_spec(spec)
        sys.modules["settle_helpers"] = loaded
        spec.loader.exec_module(loaded)
    return loaded


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_fund_mint_settle_payouts_and_external_claim_on_anvil(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAFAIR_PASSWORD", "pw")
    home = tmp_path / "home"
    opts = ["--home", str(home)]
    for name, key in (("deployer", DEV_KEYS[0]), ("requester", DEV_KEYS[1])):
        key_file = tmp_path / f"{name}.key"
        key_file.write_text(key)
        assert (
            _run(capsys, "account", "import", name, "--private-key-file", str(key_file), *opts)[0]
            == 0
        )
    settings = load_settings(home=home)
    database = Database.open(settings)
    with database.session() as session:
        task = "0x" + _helpers().store_answered_task(session, 0, n_items=6).hex()
    database.dispose()
    deadline = str(int(time.time()) + 3600)
    fund = ["fund", task, "10000", "--account", "requester", "--mint", "--deadline", deadline]

    with anvil() as url:
        rpc = ["--rpc", url, *opts]
        code, _, err = _run(capsys, "chain", "deploy", "--account", "deployer", *rpc)
        assert code == 0, err
        owner_file = settings.keys_dir / "deployer.json"
        hidden = tmp_path / "deployer.json"
        owner_file.rename(hidden)  # a requester's home without the deployer's key
        code, _, err = _run(capsys, *fund, *rpc)
        assert code == 1 and err.count("\n") == 1
        assert "only the DevToken owner can mint, and that is the deployer 0xf39F" in err
        code, _, err = _run(capsys, "settle", task, *rpc)
        assert code == 1 and "the deployment's owner 0xf39F" in err and "no key" in err
        hidden.rename(owner_file)

        code, out, err = _run(capsys, *fund, *rpc)
        assert code == 0, err
        assert "minted 10000 DevToken to 0x7099" in out and "deposited 10000" in out

        code, out, err = _run(capsys, "settle", task, *rpc)  # signed by the owner, by default
        assert code == 0, err
        assert "epoch 1: done" in out

        # the crowd's paid wallets (on six items the quality engine may flag a careful one)
        paid = []
        for key, address in _helpers().crowd_keys():
            code, out, err = _run(capsys, "payouts", address, *rpc)
            assert code == 0, err
            if task in out:
                paid.append((key, address, out))
        assert len(paid) >= 3, paid
        worker_key, worker, out = paid[0]
        assert task in out and re.search(r"unclaimed (\d+) in 1 leaves", out)
        proofs = tmp_path / "claims.json"
        code, out, err = _run(
            capsys, "claim", "--address", worker.lower(), "--proofs-out", str(proofs), *rpc
        )
        assert code == 0, err
        document = json.loads(proofs.read_text())
        (claim,) = document["claims"]
        assert document["account"] == worker and claim["task_id"] == task
        assert document["function"].startswith("claim(bytes32 taskId, uint256 epoch")

        # The external wallet (here: any funded sender) claims with nothing but the file.
        from eth_account import Account

        from datafair.chain.escrow import escrow_at
        from datafair.chain.rpc import RpcChain

        sender = Account.from_key(DEV_KEYS[2])
        chain = RpcChain(url, [sender])
        escrow = escrow_at(chain, document["escrow"], settings.cache_dir)
        escrow.claim(
            bytes.fromhex(claim["task_id"][2:]),
            claim["epoch"],
            claim["index"],
            claim["account"],
            int(claim["amount"]),
            [bytes.fromhex(node[2:]) for node in claim["proof"]],
            sender=sender.address,
        )
        chain.close()
        assert worker_key  # the worker's own key was never needed
        code, out, _ = _run(capsys, "payouts", worker, *rpc)
        assert code == 0 and "yes" in out and "unclaimed 0 in 0 leaves" in out
        code, _, _ = _run(capsys, "claim", "--address", worker, "--proofs-out", str(proofs), *rpc)
        assert json.loads(proofs.read_text())["claims"] == []
        code, _, err = _run(capsys, "claim", "--address", worker, *rpc)
        assert code == 1 and "--proofs-out: is needed with --address" in err
        code, _, err = _run(capsys, "payouts", "0x123", *rpc)
        assert code == 1 and "ADDRESS: '0x123' is not a 20-byte hex address" in err


def test_embedded_deploy_on_a_fresh_home_creates_a_deployer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAFAIR_PASSWORD", "pw")
    code, out, err = _run(capsys, "chain", "deploy", "--home", str(tmp_path))
    assert code == 0, err
    assert "created account deployer 0x" in out and "owner 0x" in out
    code, out, _ = _run(capsys, "account", "list", "--home", str(tmp_path))
    assert "deployer" in out
