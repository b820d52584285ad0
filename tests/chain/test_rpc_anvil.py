"""RpcChain against a real anvil node that the tests start on a free port (and stop)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from datafair.chain.embedded import EmbeddedChain
from datafair.chain.rpc import RpcChain
from datafair.contracts import load_contract
from datafair.core.errors import ChainError

from ._anvil import DEV_KEYS, anvil, free_port
from ._scenario import check_outcome, run_scenario

pytestmark = [pytest.mark.anvil, pytest.mark.node, pytest.mark.xdist_group("anvil")]


@pytest.fixture(scope="module")
def anvil_url() -> Iterator[str]:
    with anvil() as url:
        yield url


@pytest.fixture(scope="module")
def keys() -> list[LocalAccount]:
    return [Account.from_key(k) for k in DEV_KEYS]


def test_scenario_on_anvil_matches_the_embedded_chain(
    anvil_url: str, keys: list[LocalAccount]
) -> None:
    owner, requester = keys[0], keys[1]
    rpc = RpcChain(anvil_url, [owner, requester], expected_chain_id=31337)
    on_anvil = run_scenario(rpc, owner, requester)
    check_outcome(on_anvil)
    embedded = run_scenario(EmbeddedChain(None), owner.address, requester.address)
    check_outcome(embedded)
    # same bytecode, same gas: the embedded chain's whole-transaction figures are the node's
    assert on_anvil.gas == embedded.gas


def test_wrong_chain_id_is_one_line(anvil_url: str) -> None:
    with pytest.raises(ChainError, match=r"is chain id 31337, expected 530"):
        RpcChain(anvil_url, expected_chain_id=530)


def test_unreachable_node_is_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainError, match=rf"^cannot reach the node at {url} \(eth_chainId"):
        RpcChain(url, request_timeout=2)


def test_insufficient_funds_is_one_line(anvil_url: str) -> None:
    pauper = Account.create()
    chain = RpcChain(anvil_url, [pauper])
    with pytest.raises(
        ChainError, match=r"^DevToken\.constructor: insufficient funds for gas on 0x"
    ):
        chain.deploy(load_contract("DevToken"), ["x", "X", 18], pauper)


def test_sender_without_key_is_one_line(anvil_url: str, keys: list[LocalAccount]) -> None:
    chain = RpcChain(anvil_url)
    with pytest.raises(ChainError, match=r"no unlocked key for 0x"):
        chain.deploy(load_contract("DevToken"), ["x", "X", 18], keys[0].address)


def test_revert_reasons_and_nonces(anvil_url: str, keys: list[LocalAccount]) -> None:
    chain = RpcChain(anvil_url, [keys[2]])
    token, _ = chain.deploy(load_contract("DevToken"), ["x", "X", 18], keys[2])
    with pytest.raises(
        ChainError, match=r"^DevToken\.transfer reverted: erc20: transfer amount exceeds balance$"
    ):
        chain.transact(token, "transfer", keys[0].address, 1, sender=keys[2])
    chain.transact(token, "mint", keys[2].address, 10, sender=keys[2])
    # another client spends a nonce behind our back: the next send refreshes and retries
    other = RpcChain(anvil_url, [keys[2]])
    other.transact(token, "transfer", keys[0].address, 1, sender=keys[2])
    chain.transact(token, "transfer", keys[0].address, 2, sender=keys[2])
    assert chain.call(token, "balanceOf", keys[0].address) == 3
    events = chain.events(token, "Transfer", receiver=keys[0].address)
    assert [e.args["value"] for e in events] == [1, 2]


def test_a_shanghai_node_needs_contracts_built_for_shanghai(keys: list[LocalAccount]) -> None:
    owner, requester = keys[0], keys[1]
    unsupported = r"failed: the node's EVM lacks an instruction the contract uses \(EVM error "
    with anvil(hardfork="shanghai") as url:
        rpc = RpcChain(url, [owner, requester], expected_chain_id=31337)
        assert rpc.w3.provider.make_request("anvil_nodeInfo", [])["result"]["hardFork"] == (
            "Shanghai"
        )
        # the default (prague) build: DevToken's constructor already uses MCOPY ...
        with pytest.raises(ChainError, match=rf"^DevToken\.constructor {unsupported}"):
            run_scenario(rpc, owner, requester)
        # ... and TaskEscrow deploys, but its @nonreentrant lock needs transient storage
        escrow, _ = rpc.deploy(load_contract("TaskEscrow"), [200, owner.address], owner)
        with pytest.raises(ChainError, match=rf"^TaskEscrow\.refund {unsupported}.*shanghai'$"):
            rpc.transact(escrow, "refund", b"\x01" * 32, sender=owner)
        check_outcome(run_scenario(rpc, owner, requester, evm_version="shanghai"))
