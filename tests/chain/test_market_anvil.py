"""The market scenario on anvil (RpcChain) and on the embedded chain: same outcome, same gas."""

from __future__ import annotations

import pytest
from eth_account import Account

from datafair.chain.embedded import EmbeddedChain
from datafair.chain.rpc import RpcChain

from ._anvil import DEV_KEYS, anvil
from ._market_scenario import check_market_outcome, run_market_scenario

pytestmark = [pytest.mark.anvil, pytest.mark.node, pytest.mark.xdist_group("anvil")]


def test_market_scenario_on_anvil_matches_the_embedded_chain() -> None:
    owner, seller, buyer = (Account.from_key(k) for k in DEV_KEYS[:3])
    with anvil() as url:
        rpc = RpcChain(url, [owner, seller, buyer], expected_chain_id=31337)
        on_anvil = run_market_scenario(rpc, owner, seller, buyer)
    check_market_outcome(on_anvil)
    embedded = run_market_scenario(EmbeddedChain(None), owner.address, seller.address, buyer)
    check_market_outcome(embedded)
    # same bytecode, same gas: the embedded chain's whole-transaction figures are the node's
    assert on_anvil.gas == embedded.gas
