"""Quality engine against crowd-kit: accuracy and seconds on real and synthetic label sets.

Run by hand: ``python benchmarks/quality.py [--no-big] [--no-slow]``. Prints one table.

- Real sets (``../shared/data/crowd/{bluebird,rte}``, skipped when absent) and three synthetic
  sets drawn from the Dawid-Skene model (``datafair.quality.synthetic``): ``ds`` (plain),
  ``spam`` (30 % uniform spammers, 10 % constant-answer adversaries), ``sparse`` (Zipf activity,
  most workers with < 10 answers). For each: accuracy and seconds of every datafair method and of
  crowd-kit's MajorityVote, DawidSkene, OneCoinDawidSkene, GLAD and MACE (default settings), in
  this process. ``extra`` holds the expected calibration error (ECE, 15 bins) of ``auto`` and,
  on ``spam``, the precision/recall of the spam flag for workers with ≥ 20 answers.
- Speed: datafair DawidSkene vs crowd-kit DawidSkene, both exactly 100 EM rounds (no early stop).
- Scale: ``auto`` on 10 million answers (1M items, 10k workers, 5 classes, 10 answers per item)
  in a child process; seconds for the fit and the child's peak resident memory.

crowd-kit is a benchmark-only dependency (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datafair.quality import DawidSkene, get_aggregator
from datafair.quality.synthetic import ADVERSARY, SPAMMER, SyntheticCrowd, dawid_skene_crowd

ROOT = Path(__file__).resolve().parents[1]
CROWD = ROOT / ".." / "shared" / "data" / "crowd"
OURS = ["mv", "wmv", "ds", "onecoin", "bds", "auto"]
Row = tuple[str, str, str, str, str]


def expected_calibration_error(probas: np.ndarray, truth: np.ndarray, bins: int = 15) -> float:
    """ECE of the top-class posterior (Guo, Pleiss, Sun & Weinberger, ICML 2017)."""
    confidence = probas.max(axis=1)
    correct = probas.argmax(axis=1) == truth
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(total)


def load_real(name: str) -> tuple[pd.DataFrame, dict[str, str]] | None:
    folder = CROWD / name
    if not (folder / "answers.csv").exists():
        return None
    answers = pd.read_csv(folder / "answers.csv", dtype=str)
    truth = pd.read_csv(folder / "truth.csv", dtype=str)
    return answers, dict(zip(truth["item"], truth["truth"], strict=True))


def as_frame(crowd: SyntheticCrowd) -> tuple[pd.DataFrame, dict[str, str]]:
    frame = pd.DataFrame(
        {
            "item": crowd.items.astype(str),
            "worker": crowd.workers.astype(str),
            "label": crowd.labels.astype(str),
        }
    )
    truth = {str(i): str(t) for i, t in enumerate(crowd.truth)}
    return frame, truth


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def score(predicted: dict[str, str], truth: dict[str, str]) -> float:
    common = [item for item in truth if item in predicted]
    return float(np.mean([predicted[item] == truth[item] for item in common]))


def crowd_kit_methods(slow: bool) -> dict[str, Callable[[], Any]]:
    from crowdkit.aggregation import GLAD, MACE, DawidSkene, MajorityVote, OneCoinDawidSkene

    methods: dict[str, Callable[[], Any]] = {
        "crowd-kit MV": MajorityVote,
        "crowd-kit DS": DawidSkene,
        "crowd-kit OneCoinDS": OneCoinDawidSkene,
    }
    if slow:
        methods["crowd-kit GLAD"] = GLAD
        methods["crowd-kit MACE"] = MACE
    return methods


def compare(
    name: str,
    frame: pd.DataFrame,
    truth: dict[str, str],
    slow: bool,
    crowd: SyntheticCrowd | None = None,
) -> list[Row]:
    """Accuracy and seconds of every method on one answer set."""
    rows: list[Row] = []
    items = frame["item"].to_numpy()
    workers = frame["worker"].to_numpy()
    labels = frame["label"].to_numpy()
    for method in OURS:
        est, seconds = timed(lambda m=method: get_aggregator(m).fit(items, workers, labels))
        predicted = dict(zip(est.items_.tolist(), est.labels_.tolist(), strict=True))
        extra = ""
        if method == "auto":
            order = [str(i) for i in est.items_]
            known = np.array([i in truth for i in order])
            classes = est.classes_.tolist()
            true_idx = np.array(
                [
                    classes.index(truth[i]) if truth[i] in classes else -1
                    for i in np.array(order)[known]
                ]
            )
            extra = f"ECE {expected_calibration_error(est.probas_[known], true_idx):.3f}"
            if crowd is not None and name == "synthetic spam":
                extra += "; " + spam_quality(est, crowd)
        rows.append((name, method, f"{score(predicted, truth):.4f}", f"{seconds:.3f}", extra))
    task_frame = frame.rename(columns={"item": "task"})
    for label, factory in crowd_kit_methods(slow).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result, seconds = timed(lambda f=factory: f().fit_predict(task_frame))
        predicted = {str(k): str(v) for k, v in result.items()}
        rows.append((name, label, f"{score(predicted, truth):.4f}", f"{seconds:.3f}", ""))
    return rows


def spam_quality(est: Any, crowd: SyntheticCrowd) -> str:
    kinds = crowd.kinds[est.workers_.astype(int)]
    n = np.array([s.n_answers for s in est.skills_])
    judged = n >= 20
    bad = (kinds == SPAMMER) | (kinds == ADVERSARY)
    flagged = est.is_spammer_
    hits = (flagged & bad & judged).sum()
    precision = hits / max((flagged & judged).sum(), 1)
    recall = hits / max((bad & judged).sum(), 1)
    return f"spam P {precision:.3f} R {recall:.3f} ({int(judged.sum())} workers ≥ 20 answers)"


def speed_rows(frame: pd.DataFrame, name: str) -> list[Row]:
    """datafair vs crowd-kit Dawid-Skene, both exactly 100 rounds."""
    from crowdkit.aggregation import DawidSkene as CrowdKitDS

    items, workers, labels = (frame[c].to_numpy() for c in ("item", "worker", "label"))
    ours = DawidSkene(max_iter=100, tol=-1.0)
    _, our_seconds = timed(lambda: ours.fit(items, workers, labels))
    theirs = CrowdKitDS(n_iter=100, tol=-np.inf)
    task_frame = frame.rename(columns={"item": "task"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, their_seconds = timed(lambda: theirs.fit(task_frame))
    rounds = f"{ours.n_iter_} vs {len(theirs.loss_history_)} rounds"
    return [
        (
            f"speed {name} ({len(frame)} answers)",
            "ds vs crowd-kit DS",
            "",
            f"{our_seconds:.3f} vs {their_seconds:.3f}",
            f"{their_seconds / our_seconds:.0f}× faster; {rounds}",
        )
    ]


def big_child() -> None:
    """Child process: 10M answers, fit ``auto``, print JSON with timings and peak memory."""
    crowd, gen_seconds = timed(
        lambda: dawid_skene_crowd(
            n_items=1_000_000, n_workers=10_000, n_classes=5, answers_per_item=10, seed=0
        )
    )
    est, fit_seconds = timed(
        lambda: get_aggregator("auto").fit(crowd.items, crowd.workers, crowd.labels)
    )
    truth = crowd.truth[est.items_]
    result = {
        "answers": int(crowd.items.shape[0]),
        "generate_seconds": gen_seconds,
        "fit_seconds": fit_seconds,
        "rounds": est.n_iter_,
        "accuracy": float(np.mean(est.labels_ == truth)),
        "ece": expected_calibration_error(est.probas_, truth),
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(result))


def big_rows() -> list[Row]:
    done = subprocess.run(
        [sys.executable, __file__, "--big-child"], capture_output=True, text=True, check=True
    )
    r = json.loads(done.stdout.strip().splitlines()[-1])
    return [
        (
            f"scale ({r['answers']:,} answers)",
            "auto",
            f"{r['accuracy']:.4f}",
            f"{r['fit_seconds']:.1f}",
            f"peak {r['peak_mib'] / 1024:.2f} GiB; {r['rounds']} rounds; ECE {r['ece']:.3f}; "
            f"data drawn in {r['generate_seconds']:.1f} s",
        )
    ]


SYNTHETIC = {
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-big", action="store_true", help="skip the 10M-answer run")
    parser.add_argument("--no-slow", action="store_true", help="skip crowd-kit GLAD and MACE")
    parser.add_argument("--big-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.big_child:
        big_child()
        return
    rows: list[Row] = []
    for name in ("bluebird", "rte"):
        real = load_real(name)
        if real is not None:
            rows += compare(name, *real, slow=not args.no_slow)
    for name, params in SYNTHETIC.items():
        crowd = dawid_skene_crowd(**params)  # type: ignore[arg-type]
        rows += compare(name, *as_frame(crowd), slow=not args.no_slow, crowd=crowd)
    real = load_real("rte")
    if real is not None:
        rows += speed_rows(real[0], "rte")
    big = dawid_skene_crowd(n_items=20_000, n_workers=200, n_classes=5, answers_per_item=5, seed=4)
    rows += speed_rows(as_frame(big)[0], "synthetic")
    if not args.no_big:
        rows += big_rows()
    header: Row = ("set", "method", "accuracy", "seconds", "extra")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
