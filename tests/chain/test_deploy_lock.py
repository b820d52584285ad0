"""One deployment per chain at a time: a concurrent `chain deploy` refuses in one line; the
deployment file, its folder, its lock and the embedded chain's state are private."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from datafair.chain.deploy import Deployment, deploy_lock, save_deployment
from datafair.chain.embedded import STATE_FILE, EmbeddedChain
from datafair.core.errors import Conflict

SRC = Path(__file__).resolve().parents[2] / "src"
CLI = "import sys; from datafair.cli.app import main; sys.exit(main())"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _cli(home: Path, cache: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "DATAFAIR_HOME": str(home),
        "DATAFAIR_CACHE": str(cache),
        "DATAFAIR_PASSWORD": "pw",
        "COLUMNS": "200",
    }
    return subprocess.Popen(
        [sys.executable, "-c", CLI, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def test_a_second_process_refuses_while_the_lock_is_held(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = home / "chain" / "deployments" / "embedded.json"
    with deploy_lock(path):  # this test process is deploying
        with deploy_lock(path):  # re-entrant within the process
            pass
        other = _cli(home, tmp_path / "cache", "chain", "deploy")
        out, err = other.communicate(timeout=120)
    assert other.returncode == 1, out + err
    assert err.count("\n") == 1 and err.startswith("error: another 'datafair chain deploy'")
    assert "Traceback" not in err and not path.exists()
    assert not (home / "keys" / "deployer.json").exists()  # refused before making an account


def test_two_concurrent_deploys_one_wins_the_other_refuses(
    tmp_path: Path, contract_cache: Path
) -> None:
    home = tmp_path / "home"
    first = _cli(home, contract_cache, "chain", "deploy")
    second = _cli(home, contract_cache, "chain", "deploy")
    results = [(p.wait(timeout=300), *p.communicate()) for p in (first, second)]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    (_, won, _), (_, _, lost) = sorted(results, key=lambda result: result[0])
    assert lost.count("\n") == 1 and lost.startswith("error: ")
    assert "another 'datafair chain deploy'" in lost or "already deployed" in lost
    deployment = json.loads((home / "chain" / "deployments" / "embedded.json").read_text())
    assert deployment["addresses"]["TaskEscrow"] in won  # the file is the winner's


def test_deployment_files_and_chain_state_are_private(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        chain = EmbeddedChain(tmp_path / "chain")
        chain.close()
        path = save_deployment(
            Deployment("embedded", 31337, "0x" + "11" * 20, 1, {}, {}),
            tmp_path / "chain" / "deployments" / "embedded.json",
        )
        with deploy_lock(path):
            pass
    finally:
        os.umask(previous)
    assert mode(tmp_path / "chain") == 0o700 and mode(path.parent) == 0o700
    assert mode(tmp_path / "chain" / STATE_FILE) == 0o600
    assert mode(path) == 0o600 and mode(path.with_name(path.name + ".lock")) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".tmp")] == []


def test_a_held_lock_is_a_conflict_in_process(tmp_path: Path) -> None:
    path = tmp_path / "deployments" / "x.json"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from datafair.chain.deploy import deploy_lock; "
            "ctx = deploy_lock(Path(sys.argv[1])); ctx.__enter__(); print('held', flush=True); "
            "time.sleep(60)",
            str(path),
        ],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        with pytest.raises(Conflict, match="another 'datafair chain deploy'"), deploy_lock(path):
            pass
    finally:
        child.kill()
        child.wait()
    with deploy_lock(path):  # released when its holder died
        pass


def test_another_thread_of_the_same_process_is_refused_too(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "deployments" / "x.json"
    outcome: list[str] = []

    def other() -> None:
        try:
            with deploy_lock(path):
                outcome.append("locked")
        except Conflict:
            outcome.append("refused")

    with deploy_lock(path):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert outcome == ["refused"]
