"""Gas of the on-chain money paths, embedded-chain throughput and start-up after many transactions.

Run by hand: ``python benchmarks/gas.py [--max-leaves N] [--words W] [--samples K]
[--throughput-claims C] [--startup-txs T]``.
Prints one table. Gas is whole-transaction gas (21,000 intrinsic + calldata + execution - refund),
the figure a node's receipt reports (the RPC tests check that anvil reports the same numbers):

* ``fund``, ``post_payout`` (steady state: the token has accrued fees before);
* ``claim`` by tree size, 10 to ``--max-leaves`` leaves, each leaf paying a fresh account:
  ``epoch`` is the average over an epoch claimed in random order, measured by claiming every
  leaf of ``--words`` random 256-leaf bitmap words in a random interleaving (a claim's gas
  depends only on its own word, so this is the whole epoch's average); it is split into claims
  that open a word (a zero-to-nonzero write, one in 256) and later ones. ``spaced samples``
  are ``--samples`` claims spread over the tree as in Uniswap's merkle-distributor benchmark,
  each opening a word;
* the naive alternative: the operator paying every contributor with one ERC-20 transfer;
* ``claim_many``: marginal gas of each extra claim (same account, other tasks/epochs, 1M-leaf
  depth proofs);
* the same contracts compiled with ``--evm-version shanghai`` (chains without Cancun);
* embedded-chain throughput in claims per second, one transaction per claim, with the largest
  tree's proofs: in memory, on disk with one commit per transaction, on disk with one commit per
  batch; against two peers in the same run: titanoboa out of the box (a default ``boa.Env``) and
  a local anvil through ``RpcChain`` (skipped without ``npm ci``);
* start-up of a persisted embedded chain after ``--startup-txs`` transactions, in a new Python
  process that opens it and answers a call: after a clean close, and after a crash that left the
  longest journal tail to replay.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boa
from eth_account import Account
from eth_utils.crypto import keccak

from datafair.chain.base import Chain, Contract, Log, Receipt, Sender, address_of, revert_error
from datafair.chain.deploy import Deployment, contract, deploy_all
from datafair.chain.devnode import DEV_KEYS, run_anvil
from datafair.chain.embedded import SNAPSHOT_EVERY, STATE_FILE, EmbeddedChain
from datafair.chain.escrow import EscrowClient, claim_request
from datafair.chain.gas import transaction_gas
from datafair.chain.rpc import RpcChain
from datafair.chain.tokens import TokenClient
from datafair.contracts import load_contract
from datafair.crypto.merkle import PAYOUT_LEAF_ENCODING, StandardMerkleTree

ANVIL = Path(__file__).resolve().parents[1] / "node_modules" / ".bin" / "anvil"
OWNER = "0x" + "0a" * 20
REQUESTER = "0x" + "0b" * 20
CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
DEADLINE = 4_000_000_000
AMOUNT = 10**18 + 123_456_789


@dataclass
class Setup:
    chain: Chain
    deployment: Deployment
    escrow: EscrowClient
    token: TokenClient


def setup(chain: Chain, evm_version: str | None = None) -> Setup:
    """Deploy everything from ``OWNER`` (for ``evm_version``, default Vyper's) and fund
    ``REQUESTER`` with an allowance for the escrow."""
    deployment = deploy_all(chain, OWNER, fee_bps=250, evm_version=evm_version)
    escrow = EscrowClient(chain, deployment)
    token = TokenClient(chain, contract(chain, deployment, "DevToken"))
    token.mint(REQUESTER, 10**40, sender=OWNER)
    token.approve(escrow.address, 10**40, sender=REQUESTER)
    return Setup(chain, deployment, escrow, token)


def one_commit(chain: Chain) -> AbstractContextManager[None]:
    """The embedded chain's ``batch()``; nothing on other chains."""
    return chain.batch() if isinstance(chain, EmbeddedChain) else nullcontext()


def account(n: int) -> str:
    return "0x" + f"{0xF00000000 + n:040x}"


def payout_tree(size: int, first_account: int = 0) -> StandardMerkleTree:
    """Leaf ``i`` pays ``AMOUNT + i`` to ``account(first_account + i)``."""
    return StandardMerkleTree.of(
        [(i, account(first_account + i), AMOUNT + i) for i in range(size)], PAYOUT_LEAF_ENCODING
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


def epoch_positions(size: int, words: int, rng: random.Random) -> list[int]:
    """Leaves of an epoch claimed in random order: all of them, or every leaf of ``words``
    random 256-leaf bitmap words, interleaved at random."""
    n_words = (size + 255) // 256
    if n_words <= words:
        chosen = list(range(size))
    else:
        picked = rng.sample(range(n_words), words)
        chosen = [p for w in picked for p in range(w * 256, min(size, (w + 1) * 256))]
    rng.shuffle(chosen)
    return chosen


def claims_by_size(
    s: Setup, sizes: list[int], samples: int, words: int, rows: list[tuple[str, str, str]]
) -> StandardMerkleTree:
    """Claim gas for each tree size, every claim by a fresh account; returns the largest tree.

    ``epoch``: the average over an epoch claimed in random order. A claim's gas depends on the
    state of its own bitmap word only (the recipient is always fresh), so claiming every leaf
    of ``words`` random words, interleaved at random, gives exactly the average the whole epoch
    would have over those words; trees of at most ``words`` words are claimed in full.
    ``opening``: spaced samples that each open a bitmap word (the dearest claim, and what a
    sample of a few random claims early in an epoch mostly hits).
    """
    rng = random.Random(7)
    tree = payout_tree(1)
    for size in sizes:
        started = time.perf_counter()
        tree = payout_tree(size)
        built = time.perf_counter() - started
        tid, _ = fund(s, f"claims {size}")
        s.escrow.post_tree(tid, 1, tree, 0, CID, sender=OWNER)
        order = epoch_positions(size, words, rng)
        opened: set[int] = set()
        opening: list[int] = []
        later: list[int] = []
        started = time.perf_counter()
        with one_commit(s.chain):
            for p in order:
                gas = claim_gas(s, tree, tid, 1, p)
                (later if p // 256 in opened else opening).append(gas)
                opened.add(p // 256)
        claimed = time.perf_counter() - started
        epoch = mean(opening + later)
        fresh = payout_tree(size, first_account=size * 10**7)  # accounts nothing has paid yet
        tid, _ = fund(s, f"opening {size}")
        s.escrow.post_tree(tid, 1, fresh, 0, CID, sender=OWNER)
        spaced = sorted({(i * size) // samples // 256 * 256 for i in range(samples)})
        first = [claim_gas(s, fresh, tid, 1, p) for p in spaced]  # each opens its word
        depth = len(tree.proof(0))
        rows.append(
            (
                f"claim, {size:,} leaves (depth {depth})",
                f"epoch {epoch:,.0f} over {len(order):,} claims (opening a word"
                f" {mean(opening):,.0f}, later in a word {mean(later) if later else 0:,.0f});"
                f" spaced samples {mean(first):,.0f}",
                f"<= 90,000 epoch average ({'met' if epoch <= 90_000 else 'not met'});"
                f" tree {built:.1f} s; {len(order) / claimed:,.0f} claims/s",
            )
        )
    return tree


def older_evm_build(rows: list[tuple[str, str, str]], tree: StandardMerkleTree) -> None:
    """Gas of the contracts compiled for shanghai (re-entrancy locks in storage, no MCOPY)."""
    s = setup(EmbeddedChain(None), evm_version="shanghai")
    tid, fund_gas = fund(s, "shanghai")
    s.escrow.post_tree(tid, 1, tree, 10**18, CID, sender=OWNER)  # the token's first fee
    post_gas = s.escrow.post_tree(tid, 2, tree, 10**18, CID, sender=OWNER).gas_used
    opening = claim_gas(s, tree, tid, 2, 0)
    later = claim_gas(s, tree, tid, 2, 1)
    n_words = (len(tree) + 255) // 256
    epoch = (n_words * opening + (len(tree) - n_words) * later) / len(tree)
    rows.append(
        (
            f"shanghai build, {len(tree):,} leaves",
            f"fund {fund_gas:,}; post_payout {post_gas:,}; claim opening a word {opening:,},"
            f" later in a word {later:,}; epoch average {epoch:,.0f} (1 opening in 256)",
            "--evm-version shanghai, for chains without Cancun; the lock is a storage slot",
        )
    )


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
    assert isinstance(s.chain, EmbeddedChain)
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


class TitanoboaChain(Chain):
    """The peer: titanoboa out of the box (a default ``boa.Env``, its tracing on, memory only)."""

    def __init__(self) -> None:
        self.name = "titanoboa"
        self.chain_id = 31337
        self.env = boa.Env()
        self.block = 0

    def _receipt(self, computation: Any, data: bytes, created: str | None) -> Receipt:
        if computation.is_error:
            raise revert_error("titanoboa", bytes(computation.output or b""))
        self.block += 1
        gas = transaction_gas(
            data,
            computation.get_gas_used(),
            computation.get_gas_refund(),
            create=created is not None,
        )
        return Receipt(f"0x{self.block:064x}", self.block, gas, (), created)

    def _deploy_raw(self, initcode: bytes, sender: Sender, label: str) -> Receipt:
        address, computation = self.env.deploy(sender=address_of(sender), bytecode=initcode)
        return self._receipt(computation, initcode, str(address))

    def _transact_raw(self, to: str, data: bytes, sender: Sender, label: str) -> Receipt:
        computation = self.env.execute_code(to_address=to, sender=address_of(sender), data=data)
        return self._receipt(computation, data, None)

    def _call_raw(self, to: str, data: bytes, sender: str | None, label: str) -> bytes:
        computation = self.env.execute_code(to_address=to, data=data, is_modifying=False)
        return bytes(computation.output)

    def get_logs(self, *args: Any, **kwargs: Any) -> list[Log]:
        return []  # claims need no logs

    def balance(self, address: str) -> int:
        return int(self.env.get_balance(address))

    def block_number(self) -> int:
        return self.block

    def timestamp(self) -> int:
        return int(self.env.timestamp)

    def code_at(self, address: str) -> bytes:
        return bytes(self.env.get_code(address))


def claims_per_second(chain: Chain, tree: StandardMerkleTree, count: int, batch: bool) -> float:
    """Claims per second of ``count`` leaves of ``tree``, each a transaction of its own."""
    s = setup(chain)
    tid, _ = fund(s, "throughput")
    s.escrow.post_tree(tid, 1, tree, 0, CID, sender=OWNER)
    requests = [claim_request(tree, tid, 1, p) for p in range(count)]
    started = time.perf_counter()
    with one_commit(chain) if batch else nullcontext():
        for who, req in requests:
            s.escrow.claim(tid, 1, req.index, who, req.amount, req.proof, sender=who)
    return count / (time.perf_counter() - started)


def anvil_claims_per_second(tree: StandardMerkleTree, count: int) -> float | None:
    """Claims per second through ``RpcChain`` (web3.py, signing, receipts) on a local anvil
    started here, submitted by one funded account; ``None`` without ``npm ci``."""
    if not ANVIL.exists():
        return None
    owner, requester, relayer = (Account.from_key(k) for k in DEV_KEYS)
    with run_anvil(ANVIL) as url:
        chain = RpcChain(url, [owner, requester, relayer], expected_chain_id=31337)
        deployment = deploy_all(chain, owner, fee_bps=250)
        escrow = EscrowClient(chain, deployment)
        token = TokenClient(chain, contract(chain, deployment, "DevToken"))
        token.mint(requester.address, 10**30, sender=owner)
        tid = keccak(text="anvil throughput")
        escrow.fund(tid, token.address, 10**28, DEADLINE, keccak(text="gold"), sender=requester)
        escrow.post_tree(tid, 1, tree, 0, CID, sender=owner)
        requests = [claim_request(tree, tid, 1, p)[1] for p in range(count)]
        started = time.perf_counter()
        for p, req in enumerate(requests):
            who = address_of(tree.value(p)[1])
            escrow.claim(tid, 1, req.index, who, req.amount, req.proof, sender=relayer)
        return count / (time.perf_counter() - started)


def throughput(rows: list[tuple[str, str, str]], count: int, tree: StandardMerkleTree) -> None:
    """Claims per second of one process on the embedded chain, with ``tree``'s proof depth,
    against titanoboa out of the box in the same run."""
    depth = len(tree.proof(0))
    peer = claims_per_second(TitanoboaChain(), tree, count, batch=False)
    rows.append(
        (
            "titanoboa out of the box (peer), claims per second",
            f"{peer:,.0f}",
            f"default boa.Env, in memory, nothing persisted; {len(tree):,}-leaf tree"
            f" (depth {depth})",
        )
    )
    on_anvil = anvil_claims_per_second(tree, count)
    rows.append(
        (
            "anvil through RpcChain (peer), claims per second",
            "not run: anvil is missing (npm ci)" if on_anvil is None else f"{on_anvil:,.0f}",
            "revm in Rust behind JSON-RPC; web3.py estimates, signs, sends, waits for receipts",
        )
    )
    for label, path, batch in (
        ("in memory", None, False),
        ("on disk, commit per transaction", Path(tempfile.mkdtemp()), False),
        ("on disk, one commit per batch", Path(tempfile.mkdtemp()), True),
    ):
        chain = EmbeddedChain(path)
        rate = claims_per_second(chain, tree, count, batch)
        chain.close()
        rows.append(
            (
                f"embedded claims per second, {label}",
                f"{rate:,.0f} ({rate / peer:.1f}x titanoboa"
                + (f", {rate / on_anvil:.1f}x anvil)" if on_anvil else ")"),
                f">= 300 ({'met' if rate >= 300 else 'not met'}); {len(tree):,}-leaf tree"
                f" (depth {depth}), 1 process",
            )
        )


def _open_in_new_process(home: Path, token: str) -> tuple[float, float, float, float]:
    """Seconds a new Python process takes to import, open the chain and answer one call."""
    code = (
        "import sys, time; t = time.perf_counter()\n"
        "from pathlib import Path\n"
        "from datafair.chain.embedded import EmbeddedChain\n"
        "from datafair.contracts import load_contract\n"
        "imported = time.perf_counter()\n"
        f"chain = EmbeddedChain(Path({str(home)!r}))\n"
        "opened = time.perf_counter()\n"
        f"token = chain.at(load_contract('DevToken', Path({str(home / 'cache')!r})), {token!r})\n"
        f"chain.call(token, 'balanceOf', {account(20_000_000)!r})\n"
        "answered = time.perf_counter()\n"
        "chain._conn.close()  # leave the journal tail for the next measurement\n"
        "print(imported - t, opened - imported, answered - opened, answered - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    imports, opened, first_call, whole = (float(x) for x in out.stdout.split())
    return imports, opened, first_call, whole


def startup(rows: list[tuple[str, str, str]], txs: int) -> None:
    """Start-up after ``txs`` transactions: after a clean close (a snapshot at the head), and
    after a crash that left the longest journal tail (``SNAPSHOT_EVERY - 1`` transactions)."""
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
    size_mb = (home / STATE_FILE).stat().st_size / 1e6
    imports, opened, first_call, whole = _open_in_new_process(home, s.token.address)
    rows.append(
        (
            f"embedded start-up after {total:,} transactions, clean close",
            f"{whole:.2f} s in a new process (imports {imports:.2f} s, open {opened * 1000:.0f} ms,"
            f" first call {first_call * 1000:.0f} ms)",
            f"state file {size_mb:,.0f} MB; filled in {fill:.0f} s "
            f"({total / fill:,.0f} tx/s batched)",
        )
    )
    chain = EmbeddedChain(home)
    tail = SNAPSHOT_EVERY - 1
    with chain.batch():
        for i in range(tail):
            chain.transact(token, "transfer", account(30_000_000 + i), 1, sender=REQUESTER)
    assert chain._snapshot_seq == total  # the tail is in the journal only
    chain._conn.close()  # as if the process were killed: no closing snapshot
    imports, opened, first_call, whole = _open_in_new_process(home, s.token.address)
    rows.append(
        (
            f"embedded start-up after a crash, {tail} transactions to replay",
            f"{whole:.2f} s in a new process (imports {imports:.2f} s, open {opened * 1000:.0f} ms,"
            f" first call {first_call * 1000:.0f} ms)",
            f"the worst case: a snapshot is taken every {SNAPSHOT_EVERY} transactions",
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--max-leaves", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=25)
    parser.add_argument("--words", type=int, default=16)
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
    largest = claims_by_size(s, sizes, args.samples, args.words, rows)
    naive_transfers(s, rows, post_gas)
    claim_many_marginal(s, largest, rows)
    older_evm_build(rows, largest)
    throughput(rows, args.throughput_claims, largest)
    if args.startup_txs:
        startup(rows, args.startup_txs)

    width = max(len(r[0]) for r in rows)
    print("datafair on-chain money: whole-transaction gas, embedded chain speed (1 process)")
    print(f"{'measure':<{width}}  {'value':<84}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<84}  {note}")


if __name__ == "__main__":
    main()
