"""Shared helpers of the settlement tests: the deployed world and the crowd's roles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datafair.chain.deploy import contract, deploy_all
from datafair.chain.embedded import EmbeddedChain
from datafair.chain.escrow import EscrowClient
from datafair.chain.tokens import TokenClient
from datafair.store.blobs import BlobStore

OWNER = "0x" + "0a" * 20
REQUESTER = "0x" + "0b" * 20
UNIT = 10**18
PRICE = 10  # the make_task fixture's price per answer


@dataclass
class World:
    """A chain, the escrow client, the dev token and a blob store."""

    chain: EmbeddedChain
    escrow: EscrowClient
    token: TokenClient
    blobs: BlobStore

    @property
    def deadline(self) -> int:
        return self.chain.timestamp() + 3600


def make_world(blob_dir: Path, chain: EmbeddedChain | None = None) -> World:
    chain = chain or EmbeddedChain(None)
    deployment = deploy_all(chain, OWNER)
    escrow = EscrowClient(chain, deployment)
    token = TokenClient(chain, contract(chain, deployment, "DevToken"))
    token.mint(REQUESTER, 1000 * UNIT, sender=OWNER)
    return World(chain, escrow, token, BlobStore(blob_dir))


@dataclass(frozen=True)
class Labelled:
    """A stored task, its true labels by item CID, and which contributor index plays which role."""

    task: object
    truth: dict[str, str]
    careful: list[int]
    always_pos: int
    random_: int

    @property
    def task_id(self) -> bytes:
        return self.task.task_id  # type: ignore[attr-defined,no-any-return]
