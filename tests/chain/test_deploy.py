"""deploy_all and the deployment file: written, read back, checked against the chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datafair.chain.deploy import (
    Deployment,
    deploy_all,
    deployment_path,
    load_deployment,
    save_deployment,
)
from datafair.chain.embedded import EmbeddedChain
from datafair.chain.escrow import EscrowClient
from datafair.contracts import CONTRACT_NAMES, load_contract
from datafair.core.errors import ChainError, InvalidInput, NotFound

OWNER = "0x" + "0a" * 20


def test_deploy_all_writes_a_readable_deployment(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path / "chain")
    deployment = deploy_all(chain, OWNER, fee_bps=100, cache_dir=tmp_path / "cache")
    assert list(deployment.addresses) == list(CONTRACT_NAMES)
    assert deployment.source_hashes["TaskEscrow"] == load_contract("TaskEscrow").source_hash
    assert deployment.chain_id == 31337 and deployment.block == 1
    path = save_deployment(deployment, deployment_path(tmp_path / "chain", chain))
    assert path.name == "embedded.json"
    assert json.loads(path.read_text())["addresses"] == deployment.addresses
    assert load_deployment(tmp_path / "chain", chain) == deployment
    assert EscrowClient(chain, deployment).fee_bps() == 100
    assert any((tmp_path / "cache" / "contracts").glob("TaskEscrow-*.json"))


def test_production_deployment_can_skip_the_dev_token() -> None:
    deployment = deploy_all(EmbeddedChain(None), OWNER, dev_token=False)
    assert "DevToken" not in deployment.addresses
    with pytest.raises(NotFound, match="DevToken is not in the deployment"):
        deployment.address("DevToken")


def test_missing_stale_and_foreign_deployments(tmp_path: Path) -> None:
    chain = EmbeddedChain(None)
    with pytest.raises(NotFound, match="run 'datafair chain deploy' first"):
        load_deployment(tmp_path, chain)
    deployment = deploy_all(chain, OWNER)
    save_deployment(deployment, deployment_path(tmp_path, chain))
    with pytest.raises(ChainError, match="the chain was reset, redeploy"):
        load_deployment(tmp_path, EmbeddedChain(None))
    foreign = Deployment(**{**deployment.to_json(), "chain_id": 530})
    save_deployment(foreign, deployment_path(tmp_path, chain))
    with pytest.raises(ChainError, match="is for chain id 530"):
        load_deployment(tmp_path, chain)
    deployment_path(tmp_path, chain).write_text("{}")
    with pytest.raises(InvalidInput, match="is not a deployment file"):
        load_deployment(tmp_path, chain)
