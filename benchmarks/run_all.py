"""Run every benchmark in turn (``make bench``); each prints its own table.

Usage: ``python benchmarks/run_all.py [NAME ...]`` runs the named ones (file stems), default all.
A benchmark that fails is reported and the others still run; the exit code is non-zero then.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = (
    "quality",
    "economics",
    "pair_agreement",
    "reviews",
    "submissions",
    "assignment",
    "import_items",
    "gas",
    "gas_market",
    "settlement",
    "web_pages",
    "near_duplicates",
    "release",
)


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"error: unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    failed = []
    for name in names:
        print(f"\n=== benchmarks/{name}.py", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / f"{name}.py")])
        print(f"=== {name}: exit {code}, {time.perf_counter() - started:.0f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
