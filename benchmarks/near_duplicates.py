"""Near-duplicate check of a new text against a large collection: datafair's LSH index vs peers.

Run by hand: ``python benchmarks/near_duplicates.py [--items N] [--queries Q] [--peer-items M]``.

Builds :class:`datafair.quality.near_duplicates.TextIndex` over N distinct texts (25 random
words from a 50,000-word vocabulary each; their signatures computed in batches, the build time
is reported), then times Q checks of new texts (half of them near copies of indexed texts: one
word changed, case and spacing altered), each the full check a contribution gets: the text's
signature, then the index query. Peers measured in the same run:

* **brute force**: the same signature compared with all N stored signatures (numpy), no LSH;
* **datasketch** ``MinHashLSH`` (threshold 0.8, 64 permutations) over the first M texts, if the
  package is installed (``pip install '.[bench]'``): MinHash of the query plus LSH query.

Prints one table: median and 95th percentile per check, recall of the near copies and false
positives on the fresh texts.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from datafair.quality.near_duplicates import (
    TextIndex,
    estimated_jaccard,
    normalise_text,
    text_signature,
    text_signatures,
)

VOCABULARY = 50_000
WORDS = 25


def _texts(rng: np.random.Generator, n: int) -> list[str]:
    ids = rng.integers(0, VOCABULARY, size=(n, WORDS))
    return [" ".join(f"w{w}" for w in row) for row in ids.tolist()]


def _near_copy(text: str, rng: np.random.Generator) -> str:
    words = text.split()
    words[int(rng.integers(len(words)))] = f"w{int(rng.integers(VOCABULARY))}"
    return "  ".join(words).upper()


def _timed(check: Callable[[str], bool], queries: list[str]) -> tuple[list[float], list[bool]]:
    times, found = [], []
    for query in queries:
        start = time.perf_counter()
        found.append(check(query))
        times.append((time.perf_counter() - start) * 1000)
    return times, found


def _row(name: str, n: int, times: list[float], found: list[bool], near: int) -> str:
    p95 = statistics.quantiles(times, n=20)[-1]
    recall = sum(found[:near]) / near
    false_pos = sum(found[near:]) / (len(found) - near)
    return (
        f"| {name} | {n:,} | {statistics.median(times):.3f} | {p95:.3f} | "
        f"{recall:.1%} | {false_pos:.1%} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000, help="indexed texts")
    parser.add_argument("--queries", type=int, default=400, help="checks timed")
    parser.add_argument("--peer-items", type=int, default=100_000, help="texts in datasketch")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    texts = _texts(rng, args.items)
    start = time.perf_counter()
    signatures = text_signatures(texts)
    index = TextIndex(threshold=0.8)
    index.add_many(np.arange(len(texts)), signatures)
    build = time.perf_counter() - start
    near = args.queries // 2
    targets = rng.integers(0, args.items, size=near)
    queries = [_near_copy(texts[t], rng) for t in targets.tolist()]
    queries += _texts(np.random.default_rng(99), args.queries - near)

    def datafair_check(query: str) -> bool:
        return index.query(text_signature(query)) is not None

    def brute_force(query: str) -> bool:
        similarity = estimated_jaccard(text_signature(query), signatures)
        return bool(similarity.max() >= 0.8)

    rows = [
        _row(
            "datafair TextIndex (MinHash + LSH)", args.items, *_timed(datafair_check, queries), near
        ),
        _row("brute force over all signatures", args.items, *_timed(brute_force, queries), near),
    ]
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        rows.append("| datasketch MinHashLSH | - | not installed | | | |")
    else:
        m = min(args.peer_items, args.items)
        lsh = MinHashLSH(threshold=0.8, num_perm=64)

        def minhash(text: str) -> MinHash:
            data = normalise_text(text).encode()
            sketch = MinHash(num_perm=64)
            sketch.update_batch([data[i : i + 5] for i in range(max(1, len(data) - 4))])
            return sketch

        peer_start = time.perf_counter()
        with lsh.insertion_session() as session:
            for number, text in enumerate(texts[:m]):
                session.insert(number, minhash(text))
        peer_build = time.perf_counter() - peer_start
        # near copies of texts outside the first m cannot be found by the peer: re-aim them
        peer_queries = [_near_copy(texts[t % m], rng) for t in targets.tolist()]
        peer_queries += queries[near:]
        rows.append(
            _row(
                "datasketch MinHashLSH",
                m,
                *_timed(lambda q: bool(lsh.query(minhash(q))), peer_queries),
                near,
            )
        )
        rows.append(f"| (datasketch build of {m:,} texts: {peer_build:.1f} s) | | | | | |")
    print(f"near-duplicate check of one new text; {args.queries} checks, half near copies")
    print(f"datafair index build over {args.items:,} texts: {build:.1f} s")
    print("| method | indexed | median ms | p95 ms | recall | false positives |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
