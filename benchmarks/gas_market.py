"""Gas of the data market: list, buy, royalty claims and claim_many, beside a naive split.

Run by hand: ``python benchmarks/gas_market.py [--contributors N ...] [--claimants K]
[--sales S] [--split-recipients R]``. Prints one table of whole-transaction gas (21,000
intrinsic + calldata + execution - refund, what a node's receipt reports) on the embedded chain,
for releases of 100 and 1,000,000 contributors (``--contributors``):

* ``list``: the first listing of a release (copies its weights root, total and version);
* ``buy``: a fresh buyer (no licence yet: the licence and its holder's count are new slots) on
  a market that has sold before, a buyer holding a licence, and ``buy_with_permit`` (EIP-2612,
  one transaction, fresh buyer). A sale never reads the weights tree, only its total, so its cost
  cannot depend on the number of contributors; the table shows both sizes;
* royalty claims with a real weights tree of that size (depth 7 or 20 proofs): the first claim of
  a fresh recipient (its royalty record and its token balance are new), the first claim of a
  recipient that already holds the token (contributors were paid their bounties in it), a later
  claim, and the average over ``--claimants`` contributors each claiming after every one of
  ``--sales`` sales (fresh recipients, then recipients holding the token);
* ``claim_many``: marginal gas per extra release (same account, depth-20 proofs: each release
  is a tree whose root is the claimant's leaf folded with 20 random sibling hashes, the shape of
  a 1M-leaf proof);
* the peer measured in the same run: a naive per-recipient split, one ERC-20 transfer per
  contributor per sale (what 0xSplits-style distribution does), by a small contract
  (``benchmarks/NaiveSplit.vy``) paying ``--split-recipients`` recipients in one transaction;
  its cost per sale grows linearly with the contributors, and the largest split one 30M-gas
  block can carry is shown.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

from eth_account import Account
from eth_utils.crypto import keccak

from datafair.chain.deploy import contract, deploy_all
from datafair.chain.embedded import EmbeddedChain
from datafair.chain.escrow import EscrowClient
from datafair.chain.market import MarketClient, RoyaltyClaim
from datafair.chain.tokens import TokenClient
from datafair.contracts import compile_file
from datafair.crypto.merkle import ROYALTY_LEAF_ENCODING, StandardMerkleTree, hash_pair, leaf_hash

HERE = Path(__file__).resolve().parent
OWNER = "0x" + "0a" * 20
SELLER = "0x" + "0b" * 20
UNIT = 10**18
PRICE = 100 * UNIT + 123_456_789
TERMS = "bafkreibenchmarkterms"
BLOCK_GAS = 30_000_000


def account(n: int) -> str:
    return "0x" + f"{0xE00000000 + n:040x}"


def fresh_buyer(token: TokenClient, market: MarketClient) -> str:
    """A new account holding DevToken that approved the market (neither counted)."""
    buyer = Account.create().address
    token.mint(buyer, 10**6 * UNIT, sender=OWNER)
    token.approve(market.address, 10**6 * UNIT, sender=buyer)
    return buyer


class Bench:
    """A deployment with a sold-before market, and helpers to register releases."""

    def __init__(self) -> None:
        self.chain = EmbeddedChain(None)
        self.deployment = deploy_all(self.chain, OWNER, fee_bps=250)
        self.escrow = EscrowClient(self.chain, self.deployment)
        self.market = MarketClient(self.chain, self.deployment)
        self.token = TokenClient(self.chain, contract(self.chain, self.deployment, "DevToken"))
        self.token.mint(SELLER, 10**9 * UNIT, sender=OWNER)
        self.synthetic_proofs: dict[int, tuple[bytes, ...]] = {}
        self.task = keccak(text="benchmark task")
        self.escrow.fund(
            self.task, self.token.address, UNIT, 4_000_000_000, b"\1" * 32,
            sender=SELLER, royalty_bps=3000,
        )  # fmt: skip
        warm = self.register_synthetic(account(10**8), 1, 20)
        self.list(warm)
        self.market.buy(warm, sender=fresh_buyer(self.token, self.market))

    def register(self, root: bytes, total: int) -> int:
        dataset_id = self.market.next_dataset_id()
        self.chain.transact(
            self.market.registry, "register", dataset_id, f"bafkreibench{dataset_id}", 1,
            root, total, 3000, [self.task], sender=SELLER,
        )  # fmt: skip
        return dataset_id

    def list(self, dataset_id: int) -> int:
        return self.market.list_release(
            dataset_id, self.token.address, PRICE, 3000, TERMS, sender=SELLER
        ).gas_used

    def weights_tree(self, dataset_id: int, n: int) -> StandardMerkleTree:
        """The real weights tree of ``n`` contributors of release ``dataset_id``."""
        chain_id, market = self.chain.chain_id, self.market.address
        leaves = [(chain_id, market, dataset_id, 1, account(i), 10**15 + i) for i in range(n)]
        return StandardMerkleTree.of(leaves, ROYALTY_LEAF_ENCODING)

    def register_synthetic(self, who: str, weight: int, depth: int) -> int:
        """A release whose root proves ``(who, weight)`` through ``depth`` random siblings."""
        dataset_id = self.market.next_dataset_id()
        leaf = leaf_hash(
            ROYALTY_LEAF_ENCODING,
            (self.chain.chain_id, self.market.address, dataset_id, 1, who, weight),
        )
        proof = [os.urandom(32) for _ in range(depth)]
        node = leaf
        for sibling in proof:
            node = hash_pair(node, sibling)
        self.synthetic_proofs[dataset_id] = tuple(proof)
        return self.register(node, weight * 2**depth)


def sales_and_claims(
    b: Bench, n: int, claimants: int, sales: int, rows: list[tuple[str, str, str]]
) -> dict[str, int | float]:
    started = time.perf_counter()
    dataset_id = b.market.next_dataset_id()
    tree = b.weights_tree(dataset_id, n)
    total = sum(int(v[5]) for v in tree.values())
    assert b.register(tree.root, total) == dataset_id
    built = time.perf_counter() - started
    out: dict[str, int | float] = {"list": b.list(dataset_id)}
    out["buy (fresh buyer)"] = b.market.buy(
        dataset_id, sender=fresh_buyer(b.token, b.market)
    ).receipt.gas_used
    repeat = fresh_buyer(b.token, b.market)
    b.market.buy(dataset_id, sender=repeat)
    out["buy (buyer holding a licence)"] = b.market.buy(dataset_id, sender=repeat).receipt.gas_used
    signer = Account.create()
    b.token.mint(signer.address, 10**6 * UNIT, sender=OWNER)
    out["buy_with_permit (fresh buyer)"] = b.market.buy_with_permit(
        dataset_id, signer
    ).receipt.gas_used
    rng = random.Random(n)
    positions = rng.sample(range(n), 2 * claimants)
    groups = {"fresh recipients": positions[:claimants], "holders": positions[claimants:]}
    for position in groups["holders"]:
        b.token.mint(str(tree.value(position)[4]), 1, sender=OWNER)
    per_sale: dict[str, list[list[int]]] = {name: [] for name in groups}
    for _ in range(sales):
        b.market.buy(dataset_id, sender=repeat)
        for name, group in groups.items():
            gas = []
            for position in group:
                value = tree.value(position)
                who, weight = str(value[4]), int(value[5])
                gas.append(
                    b.market.claim(
                        dataset_id, who, weight, tree.proof(position), sender=OWNER
                    ).gas_used
                )
            per_sale[name].append(gas)
    out["claim: first, fresh recipient"] = max(per_sale["fresh recipients"][0])
    out["claim: first, recipient holding the token"] = max(per_sale["holders"][0])
    out["claim: later"] = max(per_sale["holders"][-1])
    for name, table in per_sale.items():
        flat = [g for row in table for g in row]
        out[f"claim: average of {sales} claims each, {name}"] = sum(flat) / len(flat)
    rows.append(
        (
            f"(set-up: {n:,}-leaf weights tree)",
            f"built in {built:.1f} s, depth {len(tree.proof(0))}",
            "",
        )
    )
    return out


def claim_many_marginal(b: Bench, releases: int) -> tuple[int, float]:
    """One account collects from ``releases`` releases (depth-20 proofs) in one transaction."""
    who = account(7 * 10**8)
    ids = [b.register_synthetic(who, 10**15, 20) for _ in range(releases)]
    buyer = fresh_buyer(b.token, b.market)
    for dataset_id in ids:
        b.list(dataset_id)
        b.market.buy(dataset_id, sender=buyer)
    b.token.mint(who, 1, sender=OWNER)
    claims = [
        RoyaltyClaim(
            d,
            10**15,
            b.market.royalty_state(d).weights_root or b"",
            b.synthetic_proofs[d],
        )
        for d in ids
    ]
    mark = b.chain.snapshot()
    one = b.market.claim_many(who, claims[:1], sender=OWNER).gas_used
    b.chain.revert(mark)
    many = b.market.claim_many(who, claims, sender=OWNER).gas_used
    return one, (many - one) / (releases - 1)


def naive_split(b: Bench, recipients: int) -> tuple[int, float, float]:
    """Gas of one naive split to ``recipients`` accounts holding the token, and per recipient
    (holders and fresh accounts)."""
    compiled = compile_file(HERE / "NaiveSplit.vy")
    splitter, _ = b.chain.deploy(compiled, [], OWNER)
    b.token.approve(splitter.address, 2**255, sender=SELLER)
    holders = [account(5 * 10**8 + i) for i in range(recipients)]
    weights = [10**15 + i for i in range(recipients)]
    for who in holders:
        b.token.mint(who, 1, sender=OWNER)
    pool = PRICE * 3000 // 10_000

    def split(to: list[str]) -> int:
        return b.chain.transact(
            splitter, "split", b.token.address, pool, to, weights[: len(to)], sender=SELLER
        ).gas_used

    held = split(holders)
    fresh = split([account(6 * 10**8 + i) for i in range(recipients)])
    empty = split(holders[:1])
    return held, (held - empty) / (recipients - 1), (fresh - empty) / (recipients - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--contributors", type=int, nargs="+", default=[100, 1_000_000])
    parser.add_argument("--claimants", type=int, default=10)
    parser.add_argument("--sales", type=int, default=5)
    parser.add_argument("--split-recipients", type=int, default=100)
    parser.add_argument("--claim-many-releases", type=int, default=5)
    args = parser.parse_args()

    b = Bench()
    rows: list[tuple[str, str, str]] = []
    results = {
        n: sales_and_claims(b, n, args.claimants, args.sales, rows) for n in args.contributors
    }
    sizes = list(results)
    targets = {
        "buy (fresh buyer)": ("<= 150,000", 150_000),
        f"claim: average of {args.sales} claims each, fresh recipients": (
            "<= 80,000 average",
            80_000,
        ),
        f"claim: average of {args.sales} claims each, holders": ("<= 80,000 average", 80_000),
    }
    for measure in results[sizes[0]]:
        values = [results[n][measure] for n in sizes]
        note = ""
        if measure in targets:
            text, limit = targets[measure]
            worst = max(values)
            note = f"{text} ({'met' if worst <= limit else 'not met'})"
        if measure.startswith("buy ("):
            same = len(set(values)) == 1
            note = (note + "; " if note else "") + ("same for every size" if same else "differs!")
        if measure.startswith("buy_with_permit"):
            note = "calldata varies by a few gas with the zero bytes of each signature"
        rows.append((measure, " / ".join(f"{v:,.0f}" for v in values), note))
    one, marginal = claim_many_marginal(b, args.claim_many_releases)
    rows.append(
        (
            "claim_many: marginal per extra release",
            f"{marginal:,.0f} (1 release {one:,})",
            f"depth-20 proofs, {args.claim_many_releases} releases, one token transfer",
        )
    )
    held, per_holder, per_fresh = naive_split(b, args.split_recipients)
    rows.append(
        (
            f"naive split, one sale, {args.split_recipients} recipients holding the token",
            f"{held:,}",
            f"peer: one ERC-20 transfer per recipient ({per_holder:,.0f} each; {per_fresh:,.0f}"
            " to a fresh account)",
        )
    )
    for n in sizes:
        rows.append(
            (
                f"naive split, one sale, {n:,} recipients (per-recipient cost x n)",
                f"{held - per_holder * (args.split_recipients - n):,.0f}",
                f"vs buy {results[n]['buy (fresh buyer)']:,}; a 30M-gas block carries at most"
                f" {int(BLOCK_GAS // per_holder):,} recipients",
            )
        )
    width = max(len(r[0]) for r in rows)
    print(
        "datafair data market: whole-transaction gas, releases of "
        + " / ".join(f"{n:,}" for n in sizes)
        + " contributors"
    )
    print(f"{'measure':<{width}}  {'gas':<28}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<28}  {note}")


if __name__ == "__main__":
    main()
