"""Start-up time of the ``datafair`` command: ``--help`` and each command's usage error.

Runs each command line ``--runs`` times in a fresh process and prints the median wall time and
the median CPU time (user + system, from ``os.wait4``), which stays meaningful on a loaded
machine. Peers measured in the same run: the bare interpreter (``python -c pass``) and, with
``--peer PATH``, another installation's ``datafair`` script (for instance an older checkout's
``.venv/bin/datafair``). The last line runs ``quality infer`` on a 4-answer CSV file (reading,
fitting ``auto`` and writing included). Usage: ``python benchmarks/startup.py [--runs 15]
[--peer PATH]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATAFAIR = Path(sys.executable).with_name("datafair")
LINES = (
    ["--help"],
    ["export"],
    ["settle"],
    ["dataset", "import"],
    ["task", "submit"],
    ["chain", "deploy", "--bogus"],
    ["claim", "--bogus"],
)


def measure(command: list[str], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``command`` over ``runs`` runs."""
    walls, cpus = [], []
    for _ in range(runs):
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(process.pid, 0)
        walls.append(time.perf_counter() - started)
        cpus.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="Runs per command line.")
    parser.add_argument("--peer", type=Path, help="Another datafair script to compare with.")
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="datafair-startup-"))
    tiny = folder / "answers.csv"
    tiny.write_text("item,worker,label\ni1,w1,a\ni1,w2,b\ni2,w1,a\ni2,w2,a\n")
    lines = [*LINES, ["quality", "infer", str(tiny), "--out", str(folder / "labels.csv")]]
    programs = [("python -c pass", [sys.executable, "-c", "pass"], [[]])]
    programs.append(("datafair (this checkout)", [str(DATAFAIR)], list(lines)))
    if options.peer is not None:
        programs.append((f"datafair ({options.peer})", [str(options.peer)], list(lines)))
    print(f"{'program':<44} {'arguments':<24} {'wall s':>8} {'CPU s':>8}")
    for name, program, lines in programs:
        for line in lines:
            wall, cpu = measure(program + line, options.runs)
            print(f"{name[:44]:<44} {' '.join(line)[:24]:<24} {wall:>8.3f} {cpu:>8.3f}")


if __name__ == "__main__":
    main()
