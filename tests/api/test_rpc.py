"""The embedded chain over JSON-RPC: the chain scenario that runs on anvil runs unchanged on
``datafair serve``'s ``/rpc``, through ``RpcChain`` (web3.py) with locally signed
transactions; and malformed calls are JSON-RPC errors."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from eth_account import Account

from chain._anvil import DEV_KEYS
from chain._scenario import check_outcome, run_scenario
from datafair.chain.rpc import RpcChain

from ._live import serving

pytestmark = [pytest.mark.slow]


def test_the_anvil_scenario_runs_unchanged_on_rpc(tmp_path: Path) -> None:
    with serving(tmp_path / "home") as (url, _):
        owner, requester = (Account.from_key(key) for key in DEV_KEYS[:2])
        chain = RpcChain(f"{url}/rpc", [owner, requester], expected_chain_id=31337)
        outcome = run_scenario(chain, owner, requester)
        check_outcome(outcome)
        assert outcome.gas["fund"] > 21_000
        bad = httpx.post(f"{url}/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_nope"})
        assert bad.json()["error"]["code"] == -32601
        garbage = httpx.post(
            f"{url}/rpc", content=b"{", headers={"content-type": "application/json"}
        )
        assert garbage.json()["error"]["code"] == -32700
        replay = httpx.post(
            f"{url}/rpc",
            json={
                "jsonrpc": "2.0",
                "id": 2,
                "method": "eth_sendRawTransaction",
                "params": ["0x12"],
            },
        )
        assert replay.json()["error"]["code"] == -32602
