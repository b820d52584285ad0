"""The market scenario run on every chain: promise → release → list → buy (approve, permit) →
royalty claims (single and across releases), with the reverts a user can meet."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from datafair.chain.base import Chain, Sender, address_of
from datafair.chain.deploy import contract, deploy_all
from datafair.chain.escrow import EscrowClient
from datafair.chain.market import MarketClient, royalty_claim
from datafair.chain.tokens import TokenClient
from datafair.core.errors import ChainError

UNIT = 10**18
PRICE = 10 * UNIT + 0x0101
TERMS = "bafkreiscenarioterms"
# A permit deadline with no zero byte, fixed: calldata gas must not depend on the chains' clocks.
PERMIT_DEADLINE = 0x7F7F7F7F
CONTRIBUTORS = {"0x" + f"{0xC0FFEE00 + i:040x}": (i + 1) * 10**17 + 1 for i in range(5)}


@dataclass
class MarketOutcome:
    """What the scenario measured, for comparing chains."""

    gas: dict[str, int]
    balances: dict[str, int]
    errors: list[str]
    royalty: tuple[int, int, int, int]  # acc, carry, held, outstanding of the first release


def run_market_scenario(
    chain: Chain, owner: Sender, seller: Sender, buyer: LocalAccount
) -> MarketOutcome:
    """Deploy, promise 30 % at funding, release two datasets, sell three licences, claim."""
    deployment = deploy_all(chain, owner, fee_bps=200)
    escrow = EscrowClient(chain, deployment)
    market = MarketClient(chain, deployment)
    token = TokenClient(chain, contract(chain, deployment, "DevToken"))
    seller_address = address_of(seller)
    token.mint(seller_address, 100 * UNIT, sender=owner)
    token.mint(buyer.address, 1000 * UNIT, sender=owner)
    task = keccak(text="market scenario task")
    escrow.fund(
        task, token.address, UNIT, 0x7F7F7F7F, keccak(text="gold"), sender=seller, royalty_bps=3000
    )
    gas: dict[str, int] = {}
    releases = []
    for label in ("one", "two"):
        release = market.register_release(
            f"bafkreiscenario{label}", 1, CONTRIBUTORS, 3000, [task], sender=seller
        )
        gas[f"register {label}"] = release.receipt.gas_used
        releases.append(release)
        gas[f"list {label}"] = market.list_release(
            release.dataset_id, token.address, PRICE, 3500, TERMS, sender=seller
        ).gas_used
    first, second = releases
    gas["buy"] = market.buy(first.dataset_id, sender=buyer).receipt.gas_used
    gas["buy_with_permit"] = market.buy_with_permit(
        first.dataset_id, buyer, deadline=PERMIT_DEADLINE
    ).receipt.gas_used
    gas["buy second"] = market.buy(second.dataset_id, sender=buyer).receipt.gas_used
    accounts = list(CONTRIBUTORS)
    for position in (0, 1):
        weight, claim = royalty_claim(first.tree, first.dataset_id, accounts[position])  # type: ignore[arg-type]
        gas[f"claim {position}"] = market.claim(
            first.dataset_id, accounts[position], weight, claim.proof, sender=owner
        ).gas_used
    bulk = accounts[2]
    claims = [royalty_claim(r.tree, r.dataset_id, bulk)[1] for r in releases]  # type: ignore[arg-type]
    gas["claim_many 2"] = market.claim_many(bulk, claims, sender=owner).gas_used
    errors = []
    weight, claim = royalty_claim(first.tree, first.dataset_id, accounts[0])  # type: ignore[arg-type]
    claim_args = [first.dataset_id, accounts[0], weight, claim.expected_root, list(claim.proof)]
    for attempt in (
        lambda: chain.transact(market.contract, "claim", *claim_args, sender=owner),
        lambda: chain.transact(
            market.contract,
            "claim",
            first.dataset_id,
            accounts[0],
            weight + 1,
            claim.expected_root,
            list(claim.proof),
            sender=owner,
        ),
        lambda: chain.transact(
            market.contract,
            "list",
            first.dataset_id,
            token.address,
            PRICE,
            2999,
            TERMS,
            True,
            False,
            sender=seller,
        ),
        lambda: chain.transact(market.contract, "buy", first.dataset_id, PRICE - 1, sender=buyer),
    ):
        try:
            attempt()
        except ChainError as error:
            errors.append(str(error))
    state = market.royalty_state(first.dataset_id)
    balances = {a: token.balance_of(a) for a in accounts[:3]}
    balances["seller"] = token.balance_of(seller_address)
    balances["market"] = token.balance_of(market.address)
    balances["licences"] = market.licence_balance(buyer.address)
    return MarketOutcome(
        gas, balances, errors, (state.acc, state.carry, state.held, state.outstanding)
    )


EXPECTED_ERRORS = [
    "DatasetMarket.claim reverted: DatasetMarket: nothing to claim",
    "DatasetMarket.claim reverted: DatasetMarket: invalid proof",
    "DatasetMarket.list reverted: DatasetMarket: royalty below the promised floor",
    "DatasetMarket.buy reverted: DatasetMarket: price above max_price",
]


def check_market_outcome(outcome: MarketOutcome) -> None:
    """The balances and errors every chain must produce."""
    assert outcome.errors == EXPECTED_ERRORS
    total = sum(CONTRIBUTORS.values())
    pool = PRICE * 3500 // 10_000
    fee = PRICE * 200 // 10_000
    acc, carry, held, outstanding = outcome.royalty
    assert held == 0 and acc * total + carry == 2 * pool * UNIT
    accounts = list(CONTRIBUTORS)
    paid_first = [CONTRIBUTORS[a] * acc // UNIT for a in accounts[:3]]
    assert [outcome.balances[a] for a in accounts[:2]] == paid_first[:2]
    second_acc = pool * UNIT // total
    assert (
        outcome.balances[accounts[2]]
        == paid_first[2] + CONTRIBUTORS[accounts[2]] * second_acc // UNIT
    )
    assert outstanding == 2 * pool - sum(paid_first)
    assert outcome.balances["seller"] == 100 * UNIT - UNIT + 3 * (PRICE - fee - pool)
    claimed = sum(outcome.balances[a] for a in accounts[:3])
    assert outcome.balances["market"] == 3 * (fee + pool) - claimed
    assert outcome.balances["licences"] == 3
