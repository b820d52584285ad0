"""Helpers shared by contract and chain tests: addresses, task ids, payout trees, ``World``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eth_utils.crypto import keccak

from datafair.chain.base import Contract
from datafair.chain.deploy import Deployment, contract, deploy_all
from datafair.chain.embedded import EmbeddedChain
from datafair.chain.escrow import EscrowClient
from datafair.chain.tokens import TokenClient
from datafair.contracts import compile_file
from datafair.crypto.merkle import PAYOUT_LEAF_ENCODING, StandardMerkleTree

HERE = Path(__file__).resolve().parent
DEADLINE = 4_000_000_000
GOLD = keccak(b"gold items")
CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
UNIT = 10**18


def addr(n: int) -> str:
    """A deterministic test address."""
    return "0x" + f"{n:040x}"


OWNER, OPERATOR, REQUESTER, OTHER, FEES = addr(0xA1), addr(0xA2), addr(0xA3), addr(0xA4), addr(0xA5)


def task_id(label: str) -> bytes:
    """A task id as settlement computes it: keccak of something canonical."""
    return keccak(text=f"task {label}")


def payout_tree(amounts: Sequence[int], first_account: int = 0x1000) -> StandardMerkleTree:
    """A payout tree paying ``amounts[i]`` to ``addr(first_account + i)`` at index ``i``."""
    leaves = [(i, addr(first_account + i), amount) for i, amount in enumerate(amounts)]
    return StandardMerkleTree.of(leaves, PAYOUT_LEAF_ENCODING)


@dataclass
class World:
    """A deployed datafair on an in-memory chain, with a funded requester."""

    chain: EmbeddedChain
    deployment: Deployment
    escrow: EscrowClient
    token: TokenClient
    registry: Contract

    def mock_token(self, mode: int) -> TokenClient:
        """Deploy a MockToken in ``mode`` and mint the requester 10**30 of it."""
        compiled = compile_file(HERE / "MockToken.vy")
        handle, _ = self.chain.deploy(compiled, [mode], OWNER)
        client = TokenClient(self.chain, handle)
        self.chain.transact(handle, "mint", REQUESTER, 10**30, sender=OWNER)
        return client

    def fund(
        self, label: str, amount: int = 1000 * UNIT, token: TokenClient | None = None
    ) -> bytes:
        """Fund task ``label`` from the requester."""
        tid = task_id(label)
        self.escrow.fund(
            tid, (token or self.token).address, amount, DEADLINE, GOLD, sender=REQUESTER
        )
        return tid


def make_world(chain: EmbeddedChain | None = None) -> World:
    """DevToken, TaskEscrow (fee 2.5 %, OPERATOR added) and DatasetRegistry on ``chain``."""
    chain = chain or EmbeddedChain(None)
    deployment = deploy_all(chain, OWNER, fee_bps=250, fee_recipient=FEES)
    escrow = EscrowClient(chain, deployment)
    escrow.set_operator(OPERATOR, True, sender=OWNER)
    token = TokenClient(chain, contract(chain, deployment, "DevToken"))
    token.mint(REQUESTER, 10**9 * UNIT, sender=OWNER)
    registry = contract(chain, deployment, "DatasetRegistry")
    return World(chain, deployment, escrow, token, registry)
