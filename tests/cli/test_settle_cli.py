"""`datafair fund | settle | claim | audit | refund` on the embedded chain of a data home."""

from __future__ import annotations

import importlib.util
import re
import sqlite3
import sys
from pathlib import Path
from types import ModuleType

import pytest

from datafair.chain.embedded import EmbeddedChain
from datafair.cli.app import main
from datafair.settings import load_settings
from datafair.store.blobs import BlobStore
from datafair.store.keystore import KeyStore

_HELPERS = Path(__file__).resolve().parents[1] / "services" / "settlement" / "settle_helpers.py"


def _helpers() -> ModuleType:
    """The settlement tests' helpers (one module object however pytest reached it)."""
    loaded = sys.modules.get("settle_helpers")
    if loaded is None:
        spec = importlib.util.spec_from_file_location("settle_helpers", _HELPERS)
        assert spec is not None and spec.loader is not None
        loaded = importlib.util.module_from_spec(spec)
        sys.modules["settle_helpers"] = loaded
        spec.loader.exec_module(loaded)
    return loaded


CID = re.compile(r"bafkrei[a-z2-7]{52}")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_fund_settle_claim_audit_refund(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAFAIR_PASSWORD", "pw")
    home = _helpers().prepare_home(tmp_path / "home", n_tasks=1, fund=False)
    task = "0x" + home.task_ids[0].hex()
    settings = load_settings(home=home.path)
    keys = KeyStore(settings.keys_dir)
    for number, key in enumerate(home.keys):
        keys.import_key(f"crowd{number}", key.hex(), "pw")
    opts = ["--home", str(home.path)]
    assert _run(capsys, "account", "new", "requester", *opts)[0] == 0

    code, _, err = _run(capsys, "settle", task, *opts)
    assert code == 1 and err.startswith("error: task: ") and "not funded on the escrow" in err
    assert err.count("\n") == 1

    code, _, err = _run(capsys, "fund", task, "ten", "--account", "requester", *opts)
    assert code == 1 and "AMOUNT: 'ten' is not an integer" in err
    chain = EmbeddedChain(settings.chain_dir, settings.chain_id)
    deadline = chain.timestamp() + 3600
    chain.close()
    code, out, err = _run(
        capsys,
        "fund",
        task,
        "10_000",
        "--account",
        "requester",
        "--mint",
        "--deadline",
        str(deadline),
        *opts,
    )
    assert code == 0, err
    assert "deposited 10000" in out and "gold commitment 0x" in out

    code, out, err = _run(capsys, "settle", task, *opts)
    assert code == 0, err
    assert "epoch 1: done" in out
    bundle = CID.search(out).group(0)  # type: ignore[union-attr]
    total = int(re.search(r"total (\d+)", out).group(1))  # type: ignore[union-attr]

    code, out, err = _run(capsys, "claim", *opts)
    assert code == 0, err
    claimed = [int(amount) for amount in re.findall(r"claimed (\d+) in 1 leaves", out)]
    assert sum(claimed) == total and len(claimed) >= 3
    code, out, _ = _run(capsys, "claim", "--account", "crowd0", *opts)
    assert code == 0 and "nothing to claim (1 already claimed)" in out

    code, out, err = _run(capsys, "audit", bundle, *opts)
    assert code == 0, err
    assert out.startswith(f"audit ok: bundle {bundle}")
    assert "chain matches: root, total, fee, bundle CID" in out
    copy = tmp_path / "bundle.json"
    data = BlobStore(settings.blobs_dir).get(bundle)
    copy.write_bytes(data)
    assert _run(capsys, "audit", str(copy), *opts)[0] == 0
    copy.write_bytes(data.replace(b'"neg"', b'"pos"', 1))
    code, _, err = _run(capsys, "audit", str(copy), *opts)
    assert code == 1 and err.startswith("error: audit failed: ") and err.count("\n") == 1
    # An auditor with the chain but no deployment file audits against the bundle's escrow.
    auditor = tmp_path / "auditor"
    (auditor / "chain").mkdir(parents=True)
    source = sqlite3.connect(settings.chain_dir / "state.sqlite3")
    target = sqlite3.connect(auditor / "chain" / "state.sqlite3")
    source.backup(target)
    source.close()
    target.close()
    copy.write_bytes(data)
    code, out, err = _run(capsys, "audit", str(copy), "--home", str(auditor))
    assert code == 0, err
    assert "chain matches" in out and "at escrow 0x" in out
    code, _, err = _run(capsys, "audit", "no-such-bundle", *opts)
    assert code == 1 and "neither a file nor a bundle CID" in err

    code, _, err = _run(capsys, "refund", task, "--account", "requester", *opts)
    assert code == 1 and "deadline not reached" in err
    chain = EmbeddedChain(settings.chain_dir, settings.chain_id)
    chain.advance_time(7200)
    chain.close()
    code, out, err = _run(capsys, "refund", task, "--account", "requester", *opts)
    assert code == 0, err
    refunded = int(re.search(r"refunded (\d+)", out).group(1))  # type: ignore[union-attr]
    audit_out = _run(capsys, "audit", bundle, *opts)[1]
    fee = int(re.search(r"fee (\d+)", audit_out).group(1))  # type: ignore[union-attr]
    assert refunded + total + fee == 10_000


def test_audit_checks_the_earlier_epochs_in_the_blob_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datafair.services.submissions import submit_many
    from datafair.store.db import Database

    helpers = _helpers()
    home = helpers.prepare_home(tmp_path / "home", n_tasks=1, n_items=10, hold_back=3)
    task = "0x" + home.task_ids[0].hex()
    opts = ["--home", str(home.path)]
    settings = load_settings(home=home.path)

    code, out, err = _run(capsys, "settle", task, *opts)
    assert code == 0 and "epoch 1: done" in out, err
    first = CID.search(out).group(0)  # type: ignore[union-attr]
    code, out, err = _run(capsys, "audit", first, *opts)
    assert code == 0 and "chain matches" in out, err
    assert "earlier epochs" not in out

    careful = set(home.addresses[:4])  # the others may be paused as spammers after epoch 1
    held = [entry for entry in helpers.HELD[home.task_ids[0]] if entry.contributor in careful]
    database = Database.open(settings)
    with database.session() as session:
        assert all(result.ok for result in submit_many(session, held))
    database.dispose()
    # the held-back items have 4 of their answers: without --seal-partial they wait
    code, out, err = _run(capsys, "settle", task, *opts)
    assert code == 1 and "nothing to settle yet: 12 answers wait" in " ".join(err.split())
    code, out, err = _run(capsys, "settle", task, "--seal-partial", *opts)
    assert code == 0 and "epoch 2: done" in out, err
    second = CID.search(out).group(0)  # type: ignore[union-attr]

    code, out, err = _run(capsys, "audit", second, *opts)
    assert code == 0, err
    assert out.splitlines()[-1] == "earlier epochs: 1 checked"
    code, out, _ = _run(capsys, "audit", second, "--offline", *opts)
    assert code == 0 and "earlier epochs" not in out

    BlobStore(settings.blobs_dir).path(first).unlink()
    code, out, err = _run(capsys, "audit", second, *opts)
    assert code == 0, err
    assert out.splitlines()[-1] == f"earlier epochs: 1 not available ({first})"
