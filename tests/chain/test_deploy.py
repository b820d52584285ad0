"""deploy_all and the deployment file: written, read back, checked against the chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datafair.chain.deploy import (
    Deployment,
    contract,
    deploy_all,
    deployment_path,
    load_deployment,
    save_deployment,
)
from datafair.chain.embedded import EmbeddedChain
from datafair.chain.escrow import EscrowClient
from datafair.contracts import CONTRACT_NAMES, load_contract
from datafair.core.errors import ChainError, InvalidInput, NotFound

from ._scenario import check_outcome, run_scenario

OWNER = "0x" + "0a" * 20
REQUESTER = "0x" + "0b" * 20


def test_deploy_all_writes_a_readable_deployment(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path / "chain")
    deployment = deploy_all(chain, OWNER, fee_bps=100, cache_dir=tmp_path / "cache")
    assert list(deployment.addresses) == list(CONTRACT_NAMES)
    assert deployment.source_hashes["TaskEscrow"] == load_contract("TaskEscrow").source_hash
    assert deployment.chain_id == 31337 and deployment.block == 1
    assert deployment.evm_version == "prague"  # Vyper's default, recorded
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


def test_deploy_all_compiles_for_the_requested_evm_version(tmp_path: Path) -> None:
    chain = EmbeddedChain(None)
    cache = tmp_path / "cache"
    deployment = deploy_all(chain, OWNER, cache_dir=cache, evm_version="shanghai")
    assert deployment.evm_version == "shanghai"
    for name, address in deployment.addresses.items():
        assert chain.code_at(address) != b""
        assert any((cache / "contracts").glob(f"{name}-shanghai-*.json"))
    assert not any((cache / "contracts").glob("*-prague-*.json"))  # handles reuse the build
    assert contract(chain, deployment, "TaskEscrow", cache).abi == load_contract("TaskEscrow").abi
    path = save_deployment(deployment, deployment_path(tmp_path, chain))
    assert json.loads(path.read_text())["evm_version"] == "shanghai"
    assert load_deployment(tmp_path, chain) == deployment


def test_scenario_runs_on_contracts_built_for_shanghai() -> None:
    check_outcome(run_scenario(EmbeddedChain(None), OWNER, REQUESTER, evm_version="shanghai"))


def test_unknown_evm_version_deploys_nothing() -> None:
    chain = EmbeddedChain(None)
    with pytest.raises(InvalidInput, match=r"^evm_version: 'berlinx' is not an EVM version"):
        deploy_all(chain, OWNER, evm_version="berlinx")
    assert chain.block_number() == 0


def test_deployment_files_without_an_evm_version_still_load(tmp_path: Path) -> None:
    chain = EmbeddedChain(None)
    deployment = deploy_all(chain, OWNER)
    older = {k: v for k, v in deployment.to_json().items() if k != "evm_version"}
    path = deployment_path(tmp_path, chain)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(older))
    loaded = load_deployment(tmp_path, chain)
    assert loaded.evm_version is None and loaded.addresses == deployment.addresses
    assert EscrowClient(chain, loaded).fee_bps() == 250
