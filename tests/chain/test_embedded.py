"""EmbeddedChain: persistence in the data dir, several processes, crash safety, errors."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import nullcontext
from pathlib import Path

import pytest

from datafair.chain import embedded
from datafair.chain.embedded import STATE_FILE, EmbeddedChain
from datafair.chain.tokens import TokenClient
from datafair.contracts import load_contract
from datafair.core.errors import ChainError

from ._scenario import check_outcome, run_scenario

OWNER = "0x" + "0a" * 20
ALICE = "0x" + "0b" * 20
REPO = Path(__file__).resolve().parents[2]


def _token(chain: EmbeddedChain) -> TokenClient:
    """DevToken after exactly three deployments (the transaction counts below rely on it)."""
    token, _ = chain.deploy(load_contract("DevToken"), ["datafair dev token", "DDEV", 18], OWNER)
    escrow, _ = chain.deploy(load_contract("TaskEscrow"), [250, OWNER], OWNER)
    chain.deploy(load_contract("DatasetRegistry"), [escrow.address], OWNER)
    return TokenClient(chain, token)


def test_scenario_on_the_embedded_chain(tmp_path: Path) -> None:
    with EmbeddedChain(tmp_path) as chain:
        check_outcome(run_scenario(chain, OWNER, ALICE))


def test_state_survives_a_restart(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path)
    token = _token(chain)
    token.mint(ALICE, 123, sender=OWNER)
    root, block, address = chain.state_root, chain.block_number(), token.address
    chain.close()
    again = EmbeddedChain(tmp_path)
    assert again.state_root == root
    assert again.block_number() == block
    handle = again.at(load_contract("DevToken"), address)
    assert again.call(handle, "balanceOf", ALICE) == 123
    assert [e.args["value"] for e in again.events(handle, "Transfer", receiver=ALICE)] == [123]


def test_chain_id_is_kept_from_creation(tmp_path: Path) -> None:
    EmbeddedChain(tmp_path, chain_id=530).close()
    assert EmbeddedChain(tmp_path, chain_id=1).chain_id == 530


def _python(code: str, home: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, "CHAIN_HOME": str(home)},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_another_process_sees_and_extends_the_chain(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path)
    token = _token(chain)
    child = _python(
        f"""
        import os
        from pathlib import Path
        from datafair.chain.embedded import EmbeddedChain
        from datafair.contracts import load_contract
        chain = EmbeddedChain(Path(os.environ["CHAIN_HOME"]))
        token = chain.at(load_contract("DevToken"), "{token.address}")
        chain.transact(token, "mint", "{ALICE}", 77, sender="{OWNER}")
        print(chain.block_number())
        """,
        tmp_path,
    )
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err.decode()
    assert token.balance_of(ALICE) == 77  # this process picks up the other's commit
    assert chain.block_number() == int(out.decode())
    token.mint(ALICE, 1, sender=OWNER)  # and writes on top of it
    assert token.balance_of(ALICE) == 78


def test_killed_writer_leaves_the_last_commit_intact(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path)
    token = _token(chain)
    token.mint(ALICE, 5, sender=OWNER)
    root = chain.state_root
    chain.close()
    child = _python(
        f"""
        import os, sys, time
        from pathlib import Path
        from datafair.chain.embedded import EmbeddedChain
        from datafair.contracts import load_contract
        chain = EmbeddedChain(Path(os.environ["CHAIN_HOME"]))
        token = chain.at(load_contract("DevToken"), "{token.address}")
        with chain.batch():
            for i in range(20):
                chain.transact(token, "mint", "{ALICE}", 1000, sender="{OWNER}")
            chain._state.persist()
            chain._kv.flush()  # trie nodes written, head not yet
            print("writing", flush=True)
            time.sleep(60)
        """,
        tmp_path,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == b"writing"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    again = EmbeddedChain(tmp_path)
    assert again.state_root == root
    handle = again.at(load_contract("DevToken"), token.address)
    assert again.call(handle, "balanceOf", ALICE) == 5
    again.transact(handle, "mint", ALICE, 1, sender=OWNER)
    assert again.call(handle, "balanceOf", ALICE) == 6


def test_failed_batch_commits_nothing(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path)
    token = _token(chain)
    root = chain.state_root
    with pytest.raises(ChainError, match="exceeds balance"), chain.batch():
        token.mint(ALICE, 5, sender=OWNER)
        token.transfer(OWNER, 6, sender=ALICE)
    assert chain.state_root == root and token.balance_of(ALICE) == 0


def test_snapshot_and_revert(tmp_path: Path) -> None:
    chain = EmbeddedChain(None)
    token = _token(chain)
    mark = chain.snapshot()
    token.mint(ALICE, 9, sender=OWNER)
    assert token.balance_of(ALICE) == 9
    chain.revert(mark)
    assert token.balance_of(ALICE) == 0
    assert chain.events(token.contract, "Transfer", receiver=ALICE) == []


def test_errors_are_one_line() -> None:
    chain = EmbeddedChain(None)
    token = _token(chain)
    with pytest.raises(
        ChainError, match=r"^DevToken\.transfer reverted: erc20: transfer amount exceeds balance$"
    ):
        token.transfer(OWNER, 1, sender=ALICE)
    with pytest.raises(ChainError, match=r"no contract at 0x"):
        chain.at(load_contract("DevToken"), ALICE)
    with pytest.raises(ChainError, match=r"only moves forward"):
        chain.advance_time(-1)
    with pytest.raises(ChainError, match=r"has no function 'nope'"):
        chain.call(token.contract, "nope")


def test_blocks_and_time_advance(tmp_path: Path) -> None:
    chain = EmbeddedChain(None)
    start_block, start_time = chain.block_number(), chain.timestamp()
    _token(chain)
    assert chain.block_number() == start_block + 3 and chain.timestamp() > start_time
    now = chain.timestamp()
    chain.advance_time(1000)
    assert chain.timestamp() == now + 1000
    assert chain.balance(ALICE) == 0
    assert chain.tx_count == 3


def test_state_file_lives_in_the_given_directory(tmp_path: Path) -> None:
    EmbeddedChain(tmp_path / "chain").close()
    assert (tmp_path / "chain" / STATE_FILE).is_file()


def test_busy_database_is_one_line(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path)
    token = _token(chain)
    blocker = _python(
        """
        import os, sqlite3, time
        path = os.path.join(os.environ["CHAIN_HOME"], "state.sqlite3")
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        print("locked", flush=True)
        time.sleep(30)
        """,
        tmp_path,
    )
    try:
        assert blocker.stdout is not None and blocker.stdout.readline().strip() == b"locked"
        chain._conn.execute("PRAGMA busy_timeout = 200")
        started = time.monotonic()
        with pytest.raises(ChainError, match=r"^embedded chain is busy or unwritable"):
            token.mint(ALICE, 1, sender=OWNER)
        assert time.monotonic() - started < 10
    finally:
        blocker.kill()
        blocker.wait()


def test_batched_transactions_cost_what_single_ones_do() -> None:
    """Storage values are locked between transactions, so EIP-2200 prices each on its own."""
    gas = {}
    for batched in (False, True):
        chain = EmbeddedChain(None)
        token = _token(chain)
        token.mint(ALICE, 10, sender=OWNER)
        with chain.batch() if batched else nullcontext():
            gas[batched] = [token.transfer(OWNER, 1, sender=ALICE).gas_used for _ in range(3)]
    assert gas[True] == gas[False]


def test_replaying_the_journal_reproduces_the_state_root(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path)
    token = _token(chain)
    for i in range(5):
        token.mint(ALICE, i + 1, sender=OWNER)
    root = chain.state_root
    chain._conn.execute("DELETE FROM snapshots WHERE seq > 0")  # only genesis is left
    chain._conn.close()
    again = EmbeddedChain(tmp_path)
    assert again.tx_count == 8
    assert again.state_root == root
    handle = again.at(load_contract("DevToken"), token.address)
    assert again.call(handle, "balanceOf", ALICE) == 15


def test_snapshots_are_taken_every_so_many_transactions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded, "SNAPSHOT_EVERY", 4)
    chain = EmbeddedChain(tmp_path)
    token = _token(chain)
    for _ in range(6):
        token.mint(ALICE, 1, sender=OWNER)
    seqs = [row[0] for row in chain._conn.execute("SELECT seq FROM snapshots ORDER BY seq")]
    assert seqs == [0, 4, 8]
    chain._conn.close()  # no snapshot at close: the next process replays one transaction
    again = EmbeddedChain(tmp_path)
    assert again._snapshot_seq == 8 and again.tx_count == 9
    again.close()
    seqs = [row[0] for row in _snapshot_rows(tmp_path)]
    assert seqs == [0, 4, 8, 9]


def _snapshot_rows(path: Path) -> list[tuple[int]]:
    """The snapshot rows of the chain stored in ``path``, read by a connection of its own."""
    conn = sqlite3.connect(path / STATE_FILE)
    try:
        return conn.execute("SELECT seq FROM snapshots ORDER BY seq").fetchall()
    finally:
        conn.close()


def test_a_process_holding_a_reverted_history_reloads(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path)
    token = _token(chain)
    mark = chain.snapshot()
    token.mint(ALICE, 3, sender=OWNER)
    other = EmbeddedChain(tmp_path)
    handle = other.at(load_contract("DevToken"), token.address)
    assert other.call(handle, "balanceOf", ALICE) == 3
    chain.revert(mark)
    token.mint(ALICE, 4, sender=OWNER)  # same transaction count, another history
    assert other.call(handle, "balanceOf", ALICE) == 4
    assert other.state_root == chain.state_root


def test_a_head_written_before_the_journal_opens(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path)
    token = _token(chain)
    root, count = chain.state_root, chain.tx_count
    head = json.loads(chain._conn.execute("SELECT v FROM meta WHERE k = 'head'").fetchone()[0])
    head.pop("generation")
    head["root"] = root.hex()
    chain._conn.execute("DELETE FROM snapshots")
    chain._conn.execute("UPDATE meta SET v = ? WHERE k = 'head'", (json.dumps(head),))
    chain._conn.close()
    again = EmbeddedChain(tmp_path)
    assert again.tx_count == count and again.state_root == root
    handle = again.at(load_contract("DevToken"), token.address)
    assert again.call(handle, "totalSupply") == 0


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    """Two writers interleave 40 transactions each (snapshots every 7): every one lands, and
    the snapshots they took agree with a replay of the whole journal."""
    chain = EmbeddedChain(tmp_path)
    token = _token(chain)
    chain.close()
    code = f"""
        import os, sys
        from pathlib import Path
        from datafair.chain import embedded
        from datafair.contracts import load_contract
        embedded.SNAPSHOT_EVERY = 7
        chain = embedded.EmbeddedChain(Path(os.environ["CHAIN_HOME"]))
        token = chain.at(load_contract("DevToken"), "{token.address}")
        for _ in range(40):
            chain.transact(token, "mint", "{ALICE}", 1, sender="{OWNER}")
        chain.close()
        """
    writers = [_python(code, tmp_path) for _ in range(2)]
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err.decode()
    again = EmbeddedChain(tmp_path)
    handle = again.at(load_contract("DevToken"), token.address)
    assert again.call(handle, "balanceOf", ALICE) == 80
    assert again.tx_count == 3 + 80
    assert len(again.events(handle, "Transfer", receiver=ALICE)) == 80
    root = again.state_root
    again._conn.execute("DELETE FROM snapshots WHERE seq > 0")
    again._conn.close()
    assert EmbeddedChain(tmp_path).state_root == root  # replayed from genesis alone
