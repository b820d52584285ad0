"""Quality engine against crowd-kit: accuracy, calibration and whole-process speed.

Run by hand: ``python benchmarks/quality.py [--no-slow] [--no-big] [--sets a,b]``. Prints tables.

1. **Accuracy.** The six real development sets (``$DATAFAIR_CROWD_DATA``, default
   ``../shared/data/crowd``: bluebird, rte, cf_amt, music, sp_amt, zencrowd; skipped when absent)
   and three synthetic Dawid-Skene crowds (``datafair.quality.synthetic``): accuracy of every
   datafair method and of every crowd-kit 1.4.2 method that runs (MajorityVote, DawidSkene,
   OneCoinDawidSkene, GLAD, MACE; Wawa and ZeroBasedSkill are tried and their failure is printed),
   all in this process on the same answers.
2. **Calibration.** Expected calibration error (10 bins) of ``auto``'s confidences without gold,
   and with 5 % of the truth (a fixed-seed draw) given as gold, scored on the other 95 %.
3. **Targets** per set: ``auto`` ≥ best crowd-kit − 0.3 pt, ``auto`` ≥ majority vote, ECE ≤ 0.08
   without gold and ≤ 0.05 with 5 % gold; and the mean margin over crowd-kit's best.
4. **Whole process.** Start-up of ``datafair quality infer --help`` and ``datafair --help``;
   1M answers from a CSV file to a labels file: ``datafair quality infer`` (auto, ds) against a
   crowd-kit DawidSkene script (pandas read, fit, write), each a fresh process, back to back;
   10M answers with ``datafair quality infer``: seconds, each process's own peak resident memory
   (``wait4``) and the load average after it (the machine may be shared).

crowd-kit is a benchmark-only dependency (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datafair.quality import get_aggregator
from datafair.quality.calibration import expected_calibration_error
from datafair.quality.synthetic import SyntheticCrowd, dawid_skene_crowd

ROOT = Path(__file__).resolve().parents[1]
CROWD = Path(os.environ.get("DATAFAIR_CROWD_DATA", ROOT / ".." / "shared" / "data" / "crowd"))
REAL = ("bluebird", "rte", "cf_amt", "music", "sp_amt", "zencrowd")
OURS = ("mv", "wmv", "ds", "onecoin", "bds", "auto")
GOLD_SHARE = 0.05
SYNTHETIC: dict[str, dict[str, Any]] = {
    "synthetic ds": dict(n_items=2000, n_workers=50, n_classes=4, answers_per_item=5, seed=1),
    "synthetic spam": dict(
        n_items=2000,
        n_workers=100,
        n_classes=5,
        answers_per_item=6,
        seed=2,
        spammer_share=0.3,
        adversary_share=0.1,
        accuracy=(0.6, 0.95),
    ),
    "synthetic sparse": dict(
        n_items=3000, n_workers=1500, n_classes=3, answers_per_item=5, seed=3, activity_skew=1.0
    ),
}


def load_real(name: str) -> tuple[pd.DataFrame, dict[str, str]] | None:
    folder = CROWD / name
    if not (folder / "answers.csv").exists():
        return None
    answers = pd.read_csv(folder / "answers.csv", dtype=str)
    truth = pd.read_csv(folder / "truth.csv", dtype=str)
    column = "truth" if "truth" in truth.columns else "label"
    return answers, dict(zip(truth["item"], truth[column], strict=True))


def synthetic_frame(crowd: SyntheticCrowd) -> tuple[pd.DataFrame, dict[str, str]]:
    frame = pd.DataFrame(
        {
            "item": crowd.items.astype(str),
            "worker": crowd.workers.astype(str),
            "label": crowd.labels.astype(str),
        }
    )
    return frame, {str(i): str(t) for i, t in enumerate(crowd.truth)}


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def score(predicted: dict[str, str], truth: dict[str, str], skip: set[str] | None = None) -> float:
    common = [i for i in truth if i in predicted and (skip is None or i not in skip)]
    return float(np.mean([predicted[i] == truth[i] for i in common]))


def fit_ours(method: str, frame: pd.DataFrame, gold: dict[str, str] | None = None) -> Any:
    columns = [frame[c].to_numpy() for c in ("item", "worker", "label")]
    return get_aggregator(method).fit(*columns, gold=gold)


def calibration(est: Any, truth: dict[str, str], skip: set[str]) -> tuple[float, float]:
    """Accuracy and ECE (10 bins) of a fitted estimator on the items with truth not in skip."""
    classes = [str(c) for c in est.classes_]
    rows = [
        (r, classes.index(truth[i]))
        for r, i in enumerate(str(i) for i in est.items_)
        if i in truth and i not in skip and truth[i] in classes
    ]
    index = np.array([r for r, _ in rows])
    target = np.array([t for _, t in rows])
    probas = est.probas_[index]
    return float(np.mean(probas.argmax(axis=1) == target)), expected_calibration_error(
        probas, target, bins=10
    )


def crowd_kit_methods(slow: bool) -> dict[str, Callable[[], Any]]:
    from crowdkit import aggregation as ck

    methods: dict[str, Callable[[], Any]] = {
        "MV": ck.MajorityVote,
        "DS": ck.DawidSkene,
        "OneCoinDS": ck.OneCoinDawidSkene,
        "Wawa": ck.Wawa,
        "ZeroBasedSkill": ck.ZeroBasedSkill,
    }
    if slow:
        methods["GLAD"] = ck.GLAD
        methods["MACE"] = ck.MACE
    return methods


def evaluate(name: str, frame: pd.DataFrame, truth: dict[str, str], slow: bool) -> dict[str, Any]:
    """Every method on one set; returns accuracies, timings, ECEs and notes."""
    result: dict[str, Any] = {"set": name, "ours": {}, "theirs": {}, "notes": []}
    for method in OURS:
        est, seconds = timed(lambda m=method: fit_ours(m, frame))
        predicted = {str(i): str(lab) for i, lab in zip(est.items_, est.labels_, strict=True)}
        result["ours"][method] = (score(predicted, truth), seconds)
        if method == "auto":
            result["winner"] = est.selection_.winner
            result["temperature"] = est.selection_.temperature
            result["ece"] = calibration(est, truth, set())[1]
    keys = sorted(truth)
    pick = np.random.default_rng(0).choice(
        len(keys), max(1, round(GOLD_SHARE * len(keys))), replace=False
    )
    gold = {keys[i]: truth[keys[i]] for i in pick}
    est = fit_ours("auto", frame, gold)
    result["gold_accuracy"], result["gold_ece"] = calibration(est, truth, set(gold))
    chosen = est.selection_
    result["gold_choice"] = (
        f"{chosen.winner} τ={chosen.temperature:.2f} ε={chosen.contamination:.2f}"
    )
    task_frame = frame.rename(columns={"item": "task"})
    for label, factory in crowd_kit_methods(slow).items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                labels, seconds = timed(lambda f=factory: f().fit_predict(task_frame))
        except Exception as failure:  # a crowd-kit method that does not run: note why
            message = str(failure).split(". ")[0][:160]
            result["notes"].append(f"crowd-kit {label} fails: {type(failure).__name__}: {message}")
            continue
        predicted = {str(k): str(v) for k, v in labels.items()}
        result["theirs"][label] = (score(predicted, truth), seconds)
    return result


def print_table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    print(f"\n{title}")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def report(results: list[dict[str, Any]]) -> None:
    ck_names = sorted({m for r in results for m in r["theirs"]})
    header = ("set", *[f"ours {m}" for m in OURS], *[f"ck {m}" for m in ck_names])
    rows = []
    for r in results:
        ours = [f"{r['ours'][m][0]:.4f}" for m in OURS]
        theirs = [f"{r['theirs'][m][0]:.4f}" if m in r["theirs"] else "fails" for m in ck_names]
        rows.append((r["set"], *ours, *theirs))
    print_table("Accuracy (same answers, same run)", header, rows)
    rows = []
    for r in results:
        cells = [f"{r['ours'][m][1]:.2f}" for m in OURS]
        cells += [f"{r['theirs'][m][1]:.2f}" if m in r["theirs"] else "-" for m in ck_names]
        rows.append((r["set"], *cells))
    print_table("Seconds per fit", header, rows)
    rows = []
    margins = []
    for r in results:
        auto = r["ours"]["auto"][0]
        best_name, (best, _) = max(r["theirs"].items(), key=lambda kv: kv[1][0])
        mv = max(r["ours"]["mv"][0], r["theirs"].get("MV", (0.0, 0.0))[0])
        margins.append(auto - best)
        checks = [
            auto >= best - 0.003,
            auto >= mv,
            r["ece"] <= 0.08,
            r["gold_ece"] <= 0.05,
        ]
        rows.append(
            (
                r["set"],
                f"{auto:.4f}",
                f"{best:.4f} ({best_name})",
                f"{100 * (auto - best):+.1f}",
                f"{mv:.4f}",
                f"{r['ece']:.3f}",
                f"{r['gold_accuracy']:.4f} / {r['gold_ece']:.3f}",
                f"{r['winner']} τ={r['temperature']:.2f}",
                r["gold_choice"],
                " ".join("ok" if c else "MISS" for c in checks),
            )
        )
    print_table(
        "Targets: auto ≥ best crowd-kit − 0.3 pt | ≥ majority vote | ECE ≤ 0.08 | "
        "ECE(5 % gold) ≤ 0.05",
        (
            "set",
            "auto",
            "best crowd-kit",
            "Δ pt",
            "MV (best of both)",
            "ECE",
            "5 % gold: acc / ECE",
            "auto chose",
            "with 5 % gold",
            "checks",
        ),
        rows,
    )
    real = [m for r, m in zip(results, margins, strict=True) if not r["set"].startswith("synth")]
    if real:
        print(
            f"\nmean margin of auto over crowd-kit's best on the real sets: "
            f"{100 * float(np.mean(real)):+.2f} pt (target ≥ +0.5)"
        )
    notes: dict[str, list[str]] = {}
    for r in results:
        for note in r["notes"]:
            notes.setdefault(note, []).append(r["set"])
    for note, sets in notes.items():
        print(f"{note} (on {', '.join(sets)})")


# ------------------------------------------------------------------------ whole process


CROWD_KIT_SCRIPT = """
import sys, warnings
import pandas as pd
from crowdkit.aggregation import DawidSkene
warnings.simplefilter("ignore")
frame = pd.read_csv(sys.argv[1], dtype=str).rename(columns={"item": "task"})
labels = DawidSkene(n_iter=100).fit_predict(frame)
labels.rename("label").to_csv(sys.argv[2], index_label="item")
"""


def run_process(args: list[str]) -> tuple[float, float]:
    """Wall seconds of a fresh process and its own peak resident memory (GiB, from ``wait4``)."""
    start = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.stderr is not None
    errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, args, stderr=errors)
    return seconds, usage.ru_maxrss / 1024 / 1024


def write_crowd(path: Path, n_items: int, n_workers: int, seed: int) -> int:
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    crowd = dawid_skene_crowd(
        n_items=n_items, n_workers=n_workers, n_classes=5, answers_per_item=10, seed=seed
    )
    table = pa.table(
        {
            "item": pa.array(crowd.items).cast(pa.string()),
            "worker": pa.array(crowd.workers).cast(pa.string()),
            "label": pa.array(crowd.labels).cast(pa.string()),
        }
    )
    pa_csv.write_csv(table, path, write_options=pa_csv.WriteOptions(quoting_style="none"))
    return int(crowd.items.shape[0])


DIRECT = "from datafair.cli.quality import app; app(prog_name='datafair quality')"
"""The ``quality`` command group started on its own: what a lazily loading root command costs."""


def process_rows(big: bool) -> None:
    datafair = str(Path(sys.executable).parent / "datafair")
    rows = []
    for label, args in (
        ("datafair --help", [datafair, "--help"]),
        ("datafair quality infer --help", [datafair, "quality", "infer", "--help"]),
        ("quality group alone: infer --help", [sys.executable, "-c", DIRECT, "infer", "--help"]),
    ):
        best = min(run_process(args)[0] for _ in range(3))
        rows.append((label, "start-up (best of 3)", f"{best:.2f}", ""))
    with tempfile.TemporaryDirectory() as folder:
        answers = Path(folder) / "answers.csv"
        n = write_crowd(answers, 100_000, 1_000, seed=7)
        out = str(Path(folder) / "labels.csv")
        ck_seconds, ck_peak = run_process(
            [sys.executable, "-c", CROWD_KIT_SCRIPT, str(answers), out]
        )
        print(f"crowd-kit script on {n:,} answers: {ck_seconds:.1f} s", file=sys.stderr, flush=True)
        rows.append(
            (
                f"{n:,} answers",
                "crowd-kit DawidSkene script",
                f"{ck_seconds:.1f}",
                f"peak {ck_peak:.2f} GiB; load average {os.getloadavg()[0]:.1f}",
            )
        )
        for method in ("ds", "auto"):
            for label, command in (
                ("datafair quality infer", [datafair, "quality"]),
                ("quality group alone: infer", [sys.executable, "-c", DIRECT]),
            ):
                seconds, peak = run_process(
                    [*command, "infer", str(answers), "--out", out, "--method", method]
                )
                rows.append(
                    (
                        f"{n:,} answers",
                        f"{label} --method {method}",
                        f"{seconds:.1f}",
                        f"{ck_seconds / seconds:.1f}× faster than crowd-kit; peak {peak:.2f} GiB; "
                        f"load average {os.getloadavg()[0]:.1f}",
                    )
                )
        if big:
            answers.unlink()
            n = write_crowd(answers, 1_000_000, 10_000, seed=8)
            seconds, peak = run_process(
                [datafair, "quality", "infer", str(answers), "--out", out, "--method", "auto"]
            )
            rows.append(
                (
                    f"{n:,} answers",
                    "datafair quality infer --method auto",
                    f"{seconds:.1f}",
                    f"peak {peak:.2f} GiB; load average {os.getloadavg()[0]:.1f}",
                )
            )
    print_table(
        "Whole process (fresh processes, back to back)", ("input", "run", "seconds", "note"), rows
    )


def auto_cost_rows() -> None:
    """Fit seconds of ``auto`` against the previous ``auto`` (Bayesian Dawid-Skene with its crowd
    prior), same answers, same process: 1M answers shaped like benchmarks/settlement.py (200,000
    items, 5 answers each, 1,000 honest workers of accuracy 0.55-0.95)."""
    from datafair.quality import BayesianDawidSkene
    from datafair.quality.auto import AutoAggregator

    crowd = dawid_skene_crowd(
        n_items=200_000, n_workers=1_000, n_classes=2, answers_per_item=5, seed=11
    )
    columns = (crowd.items, crowd.workers, crowd.labels)
    rows = []
    before, before_seconds = timed(lambda: BayesianDawidSkene().fit(*columns))
    after, after_seconds = timed(lambda: AutoAggregator().fit(*columns))
    for name, est, seconds in (
        ("previous auto (bds)", before, before_seconds),
        ("auto", after, after_seconds),
    ):
        accuracy = float(np.mean(est.labels_ == crowd.truth[est.items_]))
        rows.append((name, f"{seconds:.1f}", f"{accuracy:.4f}"))
    rows.append(("ratio", f"{after_seconds / before_seconds:.2f}×", after.selection_.winner))
    print_table(
        "Settlement-sized honest crowd (1M answers): fit seconds, same process",
        ("method", "seconds", "accuracy"),
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--no-slow", action="store_true", help="skip crowd-kit GLAD and MACE")
    parser.add_argument("--no-big", action="store_true", help="skip the 10M-answer run")
    parser.add_argument("--no-process", action="store_true", help="skip the whole-process runs")
    parser.add_argument("--sets", default="", help="comma-separated subset of the sets")
    args = parser.parse_args()
    wanted = {s.strip() for s in args.sets.split(",") if s.strip()}
    results = []
    for name in REAL:
        real = load_real(name)
        if real is not None and (not wanted or name in wanted):
            results.append(evaluate(name, *real, slow=not args.no_slow))
            print(f"done {name}", file=sys.stderr, flush=True)
    for name, params in SYNTHETIC.items():
        if not wanted or name in wanted:
            frame, truth = synthetic_frame(dawid_skene_crowd(**params))
            results.append(evaluate(name, frame, truth, slow=not args.no_slow))
    report(results)
    if not args.no_process:
        auto_cost_rows()
        process_rows(big=not args.no_big)


if __name__ == "__main__":
    main()
