"""The Node: lazy, cached, thread-safe ownership of database, blobs, keystore, chain and escrow."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from datafair.chain.embedded import EmbeddedChain
from datafair.core.errors import Conflict, InvalidInput, NotFound
from datafair.node import Node, read_password
from datafair.settings import load_settings

OWNER = "0x" + "d0" * 20


def test_importing_the_node_loads_nothing_heavy() -> None:
    code = (
        "import sys, datafair.node, datafair.cli.common;"
        "heavy = {'sqlalchemy', 'web3', 'eth_account', 'boa', 'vyper', 'numpy', 'scipy'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_parts_are_opened_on_first_use_and_cached(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    with Node(settings) as node:
        assert not (tmp_path / "home").exists()  # nothing opened yet
        db = node.db
        assert node.db is db and db.dialect == "sqlite"
        assert (tmp_path / "home" / "datafair.db").is_file()
        assert node.blobs is node.blobs and node.blobs.root == settings.blobs_dir
        assert node.keystore is node.keystore
        assert node._chain is None  # the database does not open the chain


def test_first_uses_from_many_threads_share_one_object(tmp_path: Path) -> None:
    node = Node(load_settings(home=tmp_path))
    seen: list[object] = []
    barrier = threading.Barrier(8)

    def use() -> None:
        barrier.wait()
        seen.append(node.db)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and all(db is seen[0] for db in seen)
    node.close()


def test_close_is_idempotent_and_final(tmp_path: Path) -> None:
    node = Node(load_settings(home=tmp_path))
    node.db  # noqa: B018 - open it
    node.close()
    node.close()
    with pytest.raises(RuntimeError, match="closed"):
        node.db  # noqa: B018


def test_an_injected_database_is_used_and_not_disposed(tmp_path: Path) -> None:
    from datafair.store.db import Database

    database = Database.open(load_settings(home=tmp_path / "a"))
    with Node(load_settings(home=tmp_path / "b"), database=database) as node:
        assert node.db is database
    with database.session() as session:  # still usable after the node closed
        assert session.connection() is not None
    database.dispose()


def test_password_from_settings_then_environment_then_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATAFAIR_PASSWORD", raising=False)
    asked: list[tuple[str, bool]] = []

    def prompt(text: str, confirm: bool) -> str:
        asked.append((text, confirm))
        return "typed"

    settings = load_settings(home=tmp_path)
    assert Node(settings, prompt=prompt).password("Password of ops", confirm=True) == "typed"
    assert asked == [("Password of ops", True)]
    with pytest.raises(InvalidInput, match=r"^password: is not set \(set \$DATAFAIR_PASSWORD\)"):
        read_password(settings)
    monkeypatch.setenv("DATAFAIR_PASSWORD", "from env")
    assert Node(settings, prompt=prompt).password() == "from env"
    assert Node(load_settings(home=tmp_path), prompt=prompt).password() == "from env"
    assert Node(load_settings(home=tmp_path, password="set")).password() == "set"
    assert len(asked) == 1


def test_embedded_chain_deployment_and_escrow_from_any_thread(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    with Node(settings) as node:
        assert isinstance(node.chain, EmbeddedChain) and node.chain.path == settings.chain_dir
        assert not node.has_deployment()
        with pytest.raises(NotFound, match="run 'datafair chain deploy' first"):
            node.escrow  # noqa: B018
        deployment = node.ensure_deployment(OWNER)
        assert node.deployment is deployment and node.deployment_path.is_file()
        assert node.escrow.address == deployment.address("TaskEscrow")
        assert node.escrow is node.escrow and node.escrow.owner().lower() == OWNER
        assert node.ensure_deployment(OWNER) is deployment
        with pytest.raises(Conflict, match="already deployed on embedded"):
            node.deploy(OWNER)
        assert node.escrow_at(deployment.address("TaskEscrow")).fee_bps() == 250
        results: list[int] = []

        def read() -> None:  # a server thread other than the one that opened the chain
            with node.chain_lock:
                results.append(node.escrow.fee_bps())

        thread = threading.Thread(target=read)
        thread.start()
        thread.join()
        assert results == [250]
    with Node(settings) as again:  # a later process finds the same contracts
        assert again.deployment.addresses == deployment.addresses
        assert again.escrow.fee_bps() == 250


def test_rpc_chain_unlocks_the_account_with_the_password(tmp_path: Path) -> None:
    from datafair.core.errors import ChainError
    from datafair.store.keystore import KeyStore

    settings = load_settings(home=tmp_path, password="wrong")
    KeyStore(settings.keys_dir).new("ops", "secret")
    with socket.socket() as probe:  # a free port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(InvalidInput, match="wrong keystore password"):
        Node(settings, rpc_url=url, account="ops").chain  # noqa: B018
    good = load_settings(home=tmp_path, password="secret")
    with pytest.raises(ChainError, match="cannot reach the node"):
        Node(good, rpc_url=url, account="ops").chain  # noqa: B018
