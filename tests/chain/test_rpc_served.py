"""The embedded chain over JSON-RPC at /rpc: the anvil money scenario runs unchanged through
``RpcChain`` (web3.py) against a served home, and bad requests get JSON-RPC errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from datafair.api.devserver import serving
from datafair.chain.embedded import EmbeddedChain
from datafair.chain.rpc import RpcChain

from ._scenario import check_outcome, run_scenario

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rpc_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("rpc") / "home"
    with serving(home) as url:
        yield url + "/rpc"


def _keys() -> list[LocalAccount]:
    return [Account.from_key(bytes([n]) * 32) for n in (7, 8)]


def test_the_anvil_scenario_runs_unchanged_on_rpc(rpc_url: str) -> None:
    owner, requester = _keys()
    chain = RpcChain(rpc_url, [owner, requester], expected_chain_id=31337)
    over_rpc = run_scenario(chain, owner, requester)
    check_outcome(over_rpc)
    embedded = run_scenario(EmbeddedChain(None), owner.address, requester.address)
    assert over_rpc.gas == embedded.gas
    assert over_rpc.balances == embedded.balances


def _call(url: str, method: str, params: list[object]) -> dict[str, object]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return dict(httpx.post(url, json=body, timeout=30).json())


def test_errors_are_json_rpc_errors(rpc_url: str) -> None:
    assert _call(rpc_url, "eth_chainId", [])["result"] == hex(31337)
    unknown = _call(rpc_url, "eth_mineGold", [])
    assert unknown["error"]["code"] == -32601  # type: ignore[index]
    bad = _call(rpc_url, "eth_getBalance", ["0x1234", "latest"])
    assert bad["error"]["code"] == -32602  # type: ignore[index]
    garbage = _call(rpc_url, "eth_sendRawTransaction", ["0xdeadbeef"])
    assert "error" in garbage
    parse = httpx.post(rpc_url, content=b"{not json", timeout=30).json()
    assert parse["error"]["code"] == -32700
    batch = httpx.post(
        rpc_url,
        json=[
            {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
            {"jsonrpc": "2.0", "id": 2, "method": "net_version", "params": []},
        ],
        timeout=30,
    ).json()
    assert [answer["id"] for answer in batch] == [1, 2]
