"""Gas of the on-chain money paths, embedded-chain throughput and start-up after many transactions.

Run by hand: ``python benchmarks/gas.py [--max-leaves N] [--samples K] [--startup-txs T]``.
Prints one table. Gas is whole-transaction gas (21,000 intrinsic + calldata + execution - refund),
the figure a node's receipt reports (the RPC tests check that anvil reports the same numbers):

* ``fund``, ``post_payout`` (steady state: the token has accrued fees before);
* ``claim`` by tree size, 10 to ``--max-leaves`` leaves, each leaf paying a fresh account: the
  first claim in a 256-leaf bitmap word (a zero-to-nonzero write) and a later claim in a used
  word; ``random`` averages ``--samples`` independent random claims (almost all hit new words),
  ``epoch`` is the average when every leaf of the epoch is claimed (one new word per 256 claims);
* the naive alternative: the operator paying every contributor with one ERC-20 transfer;
* ``claim_many``: marginal gas of each extra claim (same account, other tasks/epochs, 1M-leaf
  depth proofs);
* embedded-chain throughput in claims per second: in memory, on disk with one commit per
  transaction, on disk with one commit per batch;
* start-up of a persisted embedded chain after ``--startup-txs`` transactions: a new Python
  process that opens it and answers a call (imports included), and the open alone.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from eth_utils.crypto import keccak

from datafair.chain.base import Contract
from datafair.chain.deploy import Deployment, contract, deploy_all
from datafair.chain.embedded import STATE_FILE, EmbeddedChain
from datafair.chain.escrow import EscrowClient, claim_request
from datafair.chain.tokens import TokenClient
from datafair.contracts import load_contract
from datafair.crypto.merkle import PAYOUT_LEAF_ENCODING, StandardMerkleTree

OWNER = "0x" + "0a" * 20
REQUESTER = "0x" + "0b" * 20
CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
DEADLINE = 4_000_000_000
AMOUNT = 10**18 + 123_456_789


@dataclass
class Setup:
    chain: EmbeddedChain
    deployment: Deployment
    escrow: EscrowClient
    token: TokenClient


def setup(chain: EmbeddedChain) -> Setup:
    deployment = deploy_all(chain, OWNER, fee_bps=250)
    escrow = EscrowClient(chain, deployment)
    token = TokenClient(chain, contract(chain, deployment, "DevToken"))
    token.mint(REQUESTER, 10**40, sender=OWNER)
    token.approve(escrow.address, 10**40, sender=REQUESTER)
    return Setup(chain, deployment, escrow, token)


def account(n: int) -> str:
    return "0x" + f"{0xF00000000 + n:040x}"


def payout_tree(size: int) -> StandardMerkleTree:
    return StandardMerkleTree.of(
        [(i, account(i), AMOUNT + i) for i in range(size)], PAYOUT_LEAF_ENCODING
    )


def fund(s: Setup, label: str) -> tuple[bytes, int]:
    tid = keccak(text=label)
    receipt = s.escrow.fund(
        tid,
        s.token.address,
        10**28,  # under the 2**96 - 1 a task may hold
        DEADLINE,
        keccak(text="gold"),
        sender=REQUESTER,
        approve=False,
    )
    return tid, receipt.gas_used


def claim_gas(s: Setup, tree: StandardMerkleTree, tid: bytes, epoch: int, position: int) -> int:
    who, req = claim_request(tree, tid, epoch, position)
    return s.escrow.claim(tid, epoch, req.index, who, req.amount, req.proof, sender=who).gas_used


def mean(values: list[int]) -> float:
    return sum(values) / len(values)


def claims_by_size(
    s: Setup, sizes: list[int], samples: int, rows: list[tuple[str, str, str]]
) -> StandardMerkleTree:
    """Claim gas for each tree size; returns the largest tree."""
    rng = random.Random(7)
    tree = payout_tree(1)
    for size in sizes:
        started = time.perf_counter()
        tree = payout_tree(size)
        built = time.perf_counter() - started
        tid, _ = fund(s, f"claims {size}")
        s.escrow.post_tree(tid, 1, tree, 0, CID, sender=OWNER)
        positions = list(range(size))
        rng.shuffle(positions)
        words: set[int] = set()
        new: list[int] = []  # claims that open a bitmap word
        used: list[int] = []  # claims in a word opened before
        randoms = []
        for p in positions[:samples]:
            gas = claim_gas(s, tree, tid, 1, p)
            randoms.append(gas)
            (new if p // 256 not in words else used).append(gas)
            words.add(p // 256)
        done = set(positions[:samples])
        for p in positions[:samples]:  # a leaf sharing a word with one just claimed
            mate = p ^ 1 if (p ^ 1) < size else p ^ 2
            if mate < size and mate not in done:  # position == index in these trees
                done.add(mate)
                used.append(claim_gas(s, tree, tid, 1, mate))
        new_word, later = mean(new), mean(used) if used else mean(new)
        if size <= samples:  # every leaf claimed: the true epoch average
            epoch_avg = mean(randoms)
        else:
            n_words = (size + 255) // 256
            epoch_avg = (n_words * new_word + (size - n_words) * later) / size
        depth = len(tree.proof(positions[0]))
        rows.append(
            (
                f"claim, {size:,} leaves (depth {depth})",
                f"random {mean(randoms):,.0f}; new word {new_word:,.0f}; used word {later:,.0f};"
                f" epoch {epoch_avg:,.0f}",
                f"<= 90,000 avg ({'met' if mean(randoms) <= 90_000 else 'not met'} random, "
                f"{'met' if epoch_avg <= 90_000 else 'not met'} epoch); tree {built:.1f} s",
            )
        )
    return tree


def naive_transfers(s: Setup, rows: list[tuple[str, str, str]], post_gas: int) -> None:
    gas = [
        s.token.transfer(account(10**7 + i), AMOUNT, sender=REQUESTER).gas_used for i in range(20)
    ]
    per = mean(gas)
    for n in (100, 10_000, 1_000_000):
        rows.append(
            (
                f"operator cost per epoch, {n:,} contributors",
                f"naive transfers {per * n:,.0f}; post_payout {post_gas:,}",
                f"one transfer = {per:,.0f} gas",
            )
        )


def claim_many_marginal(
    s: Setup, tree: StandardMerkleTree, rows: list[tuple[str, str, str]]
) -> None:
    """One account collects leaf 5 of 8 epochs (each a new bitmap word) in one transaction."""
    tid, _ = fund(s, "claim_many")
    for epoch in range(1, 9):
        s.escrow.post_tree(tid, epoch, tree, 0, CID, sender=OWNER)
    who = account(5)
    requests = [claim_request(tree, tid, epoch, 5)[1] for epoch in range(1, 9)]
    mark = s.chain.snapshot()
    one = s.escrow.claim_many(who, requests[:1], sender=who).gas_used
    s.chain.revert(mark)
    eight = s.escrow.claim_many(who, requests, sender=who).gas_used
    marginal = (eight - one) / 7
    rows.append(
        (
            f"claim_many, marginal per extra claim ({len(tree):,} leaves)",
            f"{marginal:,.0f} (1 claim {one:,}; 8 claims {eight:,})",
            f"<= 45,000 ({'met' if marginal <= 45_000 else 'not met'}); each claim opens a new"
            " bitmap word; one token transfer for all",
        )
    )


def throughput(rows: list[tuple[str, str, str]], count: int) -> None:
    tree = payout_tree(4096)
    for label, path, batch in (
        ("in memory", None, False),
        ("on disk, commit per transaction", Path(tempfile.mkdtemp()), False),
        ("on disk, one commit per batch", Path(tempfile.mkdtemp()), True),
    ):
        s = setup(EmbeddedChain(path))
        tid, _ = fund(s, "throughput")
        s.escrow.post_tree(tid, 1, tree, 0, CID, sender=OWNER)
        requests = [claim_request(tree, tid, 1, p) for p in range(count)]
        started = time.perf_counter()
        if batch:
            with s.chain.batch():
                for who, req in requests:
                    s.escrow.claim(tid, 1, req.index, who, req.amount, req.proof, sender=who)
        else:
            for who, req in requests:
                s.escrow.claim(tid, 1, req.index, who, req.amount, req.proof, sender=who)
        rate = count / (time.perf_counter() - started)
        rows.append(
            (
                f"embedded claims per second, {label}",
                f"{rate:,.0f}",
                f">= 300 ({'met' if rate >= 300 else 'not met'}); 4,096-leaf tree, 1 process",
            )
        )
        s.chain.close()


def startup(rows: list[tuple[str, str, str]], txs: int) -> None:
    home = Path(tempfile.mkdtemp())
    load_contract("DevToken", home / "cache")  # what a configured node has cached
    chain = EmbeddedChain(home)
    s = setup(chain)
    token: Contract = s.token.contract
    started = time.perf_counter()
    done = 0
    while done < txs - 3:
        with chain.batch():
            for _ in range(min(1000, txs - 3 - done)):
                chain.transact(token, "transfer", account(20_000_000 + done), 1, sender=REQUESTER)
                done += 1
    fill = time.perf_counter() - started
    total = chain.tx_count
    chain.close()
    code = (
        "import sys, time; t = time.perf_counter()\n"
        "from pathlib import Path\n"
        "from datafair.chain.embedded import EmbeddedChain\n"
        "from datafair.contracts import load_contract\n"
        "imported = time.perf_counter()\n"
        f"chain = EmbeddedChain(Path({str(home)!r}))\n"
        "opened = time.perf_counter()\n"
        f"token = chain.at(load_contract('DevToken', Path({str(home / 'cache')!r})),"
        f" {s.token.address!r})\n"
        f"chain.call(token, 'balanceOf', {account(20_000_000)!r})\n"
        "answered = time.perf_counter()\n"
        "print(imported - t, opened - imported, answered - opened, answered - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    imports, opened, first_call, whole = (float(x) for x in out.stdout.split())
    size_mb = (home / STATE_FILE).stat().st_size / 1e6
    rows.append(
        (
            f"embedded start-up after {total:,} transactions",
            f"{whole:.2f} s in a new process (imports {imports:.2f} s, open {opened * 1000:.0f} ms,"
            f" first call {first_call * 1000:.0f} ms)",
            f"state file {size_mb:,.0f} MB; filled in {fill:.0f} s "
            f"({total / fill:,.0f} tx/s batched)",
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--max-leaves", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--throughput-claims", type=int, default=300)
    parser.add_argument("--startup-txs", type=int, default=100_000)
    args = parser.parse_args()

    rows: list[tuple[str, str, str]] = []
    s = setup(EmbeddedChain(None))
    tid, fund_gas = fund(s, "fund")
    rows.append(("fund (new task)", f"{fund_gas:,}", "six new storage slots and a transferFrom"))
    tree = payout_tree(1000)
    s.escrow.post_tree(tid, 1, tree, 10**18, CID, sender=OWNER)  # the token's first fee
    post_gas = s.escrow.post_tree(tid, 2, tree, 10**18, CID, sender=OWNER).gas_used
    rows.append(
        (
            "post_payout",
            f"{post_gas:,}",
            f"<= 80,000 ({'met' if post_gas <= 80_000 else 'not met'});"
            " independent of the number of leaves",
        )
    )
    sizes = [n for n in (10, 100, 1_000, 10_000, 100_000, 1_000_000) if n <= args.max_leaves]
    largest = claims_by_size(s, sizes, args.samples, rows)
    naive_transfers(s, rows, post_gas)
    claim_many_marginal(s, largest, rows)
    throughput(rows, args.throughput_claims)
    if args.startup_txs:
        startup(rows, args.startup_txs)

    width = max(len(r[0]) for r in rows)
    print("datafair on-chain money: whole-transaction gas, embedded chain speed (1 process)")
    print(f"{'measure':<{width}}  {'value':<84}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<84}  {note}")


if __name__ == "__main__":
    main()
