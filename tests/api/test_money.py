"""Money over HTTP on the embedded chain: the requester's wallet funds from the calls the API
prepares, contributors label and review, the operator settles, contributors read their
earnings with reasons, claim gaslessly through the relayer (once), and anyone downloads and
audits the published bundle, which then reveals everyone's answers (and only the gold answers it
graded)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from datafair.api.context import ServerContext
from datafair.chain.deploy import deploy_all, deployment_path, save_deployment
from datafair.client import ApiError
from datafair.settings import Settings
from datafair.store.api_models import ClaimRelay

from .conftest import OPERATOR, Market, Party, server_settings

API = "/api/v1"
pytestmark = [pytest.mark.slow]


@pytest.fixture
def settings(tmp_path: Path, contract_cache: Path) -> Settings:
    return server_settings(tmp_path / "home", cache=contract_cache, claim_rate_limit=2)


@pytest.fixture
def node(api: TestClient) -> ServerContext:
    context: ServerContext = api.app.state.node  # type: ignore[attr-defined]

    def deploy() -> None:
        chain = context.chain
        deployment = deploy_all(chain, OPERATOR.address, cache_dir=context.settings.cache_dir)
        save_deployment(deployment, deployment_path(context.settings.chain_dir, chain))

    context.run_on_chain(deploy)
    return context


def send(node: ServerContext, call: dict[str, Any], sender: str) -> None:
    """The requester's wallet sends one prepared call (the embedded chain needs no key)."""
    node.run_on_chain(
        lambda: node.chain._transact_raw(
            call["to"], bytes.fromhex(call["data"][2:]), sender, call["function"]
        )
    )


def test_fund_label_settle_earn_claim_and_audit_over_http(
    party: Party, market: Market, node: ServerContext, api: TestClient
) -> None:
    requester = party("requester")
    token = node.deployment.address("DevToken")
    node.with_chain(
        lambda escrow: escrow.token(token).mint(requester.address, 10**6, sender=OPERATOR.address)
    )
    funding = requester.funding(market.task_id, 20_000, token=token)
    # the first funding records the task's royalty promise (default 30 %) on the escrow
    assert [call["function"].split("(")[0] for call in funding["calls"]] == [
        "approve",
        "fund_with_royalty",
    ]
    for call in funding["calls"]:
        send(node, call, str(requester.address))
    escrow = requester.request("GET", f"{API}/tasks/{market.task_id}/escrow")
    assert escrow["deposited"] == "20000" and escrow["exists"]
    promised = node.with_chain(lambda e: e.royalty_promise(bytes.fromhex(market.task_id[2:])))
    assert promised == 3_000
    with pytest.raises(ApiError) as not_owner:
        party("bob").funding(market.task_id, 10, token=token)
    assert not_owner.value.status == 403

    workers = [party(name) for name in ("bob", "carol", "dave")]
    for worker in workers:
        while (item := worker.next_item(market.task_id)) is not None:
            answer = "pos" if "great" in item["text"] else "neg"
            worker.submit_answer(  # type: ignore[attr-defined]
                worker.wallet, market.task_id, item["item_cid"], answer, duration_ms=9000
            )
    reviewer = party("erin")
    for _ in range(3):
        target = reviewer.next_review(market.task_id)
        assert target is not None
        reviewer.submit_review(reviewer.wallet, target, verdict="accept")  # type: ignore[attr-defined]

    with pytest.raises(ApiError) as not_operator:
        requester.settle(market.task_id)
    assert not_operator.value.status == 403
    operator = party("operator")
    settled = operator.settle(market.task_id)
    assert settled["state"] in ("posted", "done") and settled["bundle_cid"]

    bob = workers[0]
    earnings = bob.earnings()
    assert len(earnings) == 1
    row = earnings[0]
    assert row["task_id"] == market.task_id and int(row["amount"]) > 0
    assert row["answers_paid"] > 0 and row["spam_flagged"] is False
    assert bob.pending() == []  # every item was full: all of bob's answers are paid
    leaves = bob.claimable()["leaves"]
    assert len(leaves) == 1 and leaves[0]["proof"] is not None

    def balance() -> int:
        return node.with_chain(lambda escrow: escrow.token(token).balance_of(bob.address))

    before = balance()
    claimed = bob.claim()
    assert claimed["amount"] == leaves[0]["amount"] and claimed["tx_hashes"]
    assert balance() - before == int(leaves[0]["amount"])
    with pytest.raises(ApiError) as twice:  # the same leaf again: already claimed
        bob.claim([{k: leaves[0][k] for k in ("task_id", "epoch", "index")}])
    assert twice.value.status == 409 and twice.value.field == "claims[0]"
    with pytest.raises(ApiError) as nothing:
        bob.claim()
    assert nothing.value.status == 404 and "1 already claimed" in str(nothing.value)
    with node.db.session() as session:  # a second relay this hour (the setting allows two)
        session.add(ClaimRelay(address=bob.address, claims=1, created_at=int(time.time() * 1000)))
        session.commit()
    with pytest.raises(ApiError) as limited:
        bob.claim()
    assert limited.value.status == 429 and limited.value.field == "account"

    bundle = api.get(f"{API}/bundles/{settled['bundle_cid']}")
    assert bundle.status_code == 200 and bundle.json()["epoch"] == 1
    audit = api.get(f"{API}/bundles/{settled['bundle_cid']}/audit").json()
    assert audit["chain_checked"] is True and audit["root"] == settled["root"]
    gold = api.get(f"{API}/tasks/{market.task_id}/gold").json()
    assert gold == {}  # nobody answered the gold item (gold_ratio 0): it stays secret
    others = api.get(
        f"{API}/tasks/{market.task_id}/answers", params={"contributor": bob.address}
    ).json()
    assert len(others) == row["answers_paid"]
    fee = api.get(f"{API}/fee").json()
    assert fee["fee_bps"] <= fee["max_fee_bps"]
    chain = api.get(f"{API}/chain").json()
    assert chain["addresses"]["TaskEscrow"] == node.escrow.address
