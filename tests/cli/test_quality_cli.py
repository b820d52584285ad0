"""`datafair quality infer | agreement` through the real entry point."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from datafair.cli.app import main
from datafair.quality.synthetic import dawid_skene_crowd


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def answers(tmp_path: Path) -> tuple[Path, np.ndarray]:
    crowd = dawid_skene_crowd(n_items=120, n_workers=12, n_classes=3, answers_per_item=5, seed=4)
    names = np.array(["cat", "dog", "eel"])
    lines = ["item,worker,label"] + [
        f"i{i},w{w},{names[lab]}"
        for i, w, lab in zip(crowd.items, crowd.workers, crowd.labels, strict=True)
    ]
    return _write(tmp_path / "answers.csv", "\n".join(lines) + "\n"), names[crowd.truth]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    return err


def test_infer_writes_labels_and_skills(
    tmp_path: Path, answers: tuple[Path, np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    path, truth = answers
    out, skills = tmp_path / "labels.csv", tmp_path / "skills.csv"
    assert main(["quality", "infer", str(path), "--out", str(out), "--skills", str(skills)]) == 0
    assert "120 items, 12 workers" in capsys.readouterr().out
    labels = _rows(out)
    assert list(labels[0]) == ["item", "label", "confidence"]
    by_item = {row["item"]: row["label"] for row in labels}
    correct = np.mean([by_item[f"i{i}"] == truth[i] for i in range(120)])
    assert correct > 0.9
    assert all(0.0 <= float(row["confidence"]) <= 1.0 for row in labels)
    workers = _rows(skills)
    assert list(workers[0])[:6] == ["worker", "accuracy", "low", "high", "answers", "spam_score"]
    assert list(workers[0])[6:] == [
        "group",
        "dependence_score",
        "partner",
        "shared_items",
        "agree_wrong",
        "expected_independent",
        "p_value",
    ]
    assert all(row["group"] == "" for row in workers)  # an honest crowd has no groups
    assert sum(int(row["answers"]) for row in workers) == 600 - _duplicates(path)
    for row in workers:
        assert float(row["low"]) <= float(row["accuracy"]) <= float(row["high"])


def _duplicates(path: Path) -> int:
    pairs = [(r["item"], r["worker"]) for r in _rows(path)]
    return len(pairs) - len(set(pairs))


@pytest.mark.parametrize("method", ["auto", "mv", "wmv", "ds", "onecoin", "bds"])
def test_every_method_and_crowd_kit_header(tmp_path: Path, method: str) -> None:
    path = _write(tmp_path / "a.csv", "task,worker,label\nt1,a,x\nt1,b,x\nt1,c,y\nt2,a,y\nt2,b,y\n")
    out = tmp_path / "out.csv"
    assert main(["quality", "infer", str(path), "--out", str(out), "--method", method]) == 0
    assert {r["item"]: r["label"] for r in _rows(out)} == {"t1": "x", "t2": "y"}


def test_gold_clamps_items(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", "item,worker,label\nt1,a,x\nt1,b,x\nt2,a,y\n")
    gold = _write(tmp_path / "gold.csv", "item,truth\nt1,y\n")
    out = tmp_path / "out.csv"
    assert main(["quality", "infer", str(path), "--out", str(out), "--gold", str(gold)]) == 0
    rows = {r["item"]: r for r in _rows(out)}
    assert rows["t1"]["label"] == "y" and rows["t1"]["confidence"] == "1.000000"


def test_header_only_file_gives_empty_labels(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", "item,worker,label\n")
    out = tmp_path / "out.csv"
    assert main(["quality", "infer", str(path), "--out", str(out)]) == 0
    assert out.read_text() == "item,label,confidence\n"


def test_single_worker_and_items_with_one_answer(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", "item,worker,label\nt1,solo,x\nt2,solo,y\n")
    out = tmp_path / "out.csv"
    assert main(["quality", "infer", str(path), "--out", str(out)]) == 0
    assert [r["label"] for r in _rows(out)] == ["x", "y"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty (start it with the header item,worker,label)"),
        ("item,label\na,x\n", "missing column worker"),
        ("foo,bar\n", "missing columns item, worker, label"),
        ("item,worker,label\na,w,x\nb,w,\n", "line 3: blank label"),
        ("item,worker,label\na,,x\n", "line 2: blank worker"),
        (b"item,worker,label\na,w,x\nb,w,\xff\n", "line 3 is not UTF-8 (byte 0xff)"),
    ],
)
def test_bad_answers_file(
    tmp_path: Path, content: str | bytes, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "a.csv", content)
    out = _write(tmp_path / "out.csv", "keep me\n")
    assert main(["quality", "infer", str(path), "--out", str(out)]) == 1
    assert message in _one_line_error(capsys)
    assert out.read_text() == "keep me\n"  # nothing half-written


def test_label_outside_declared_classes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "a.csv", "item,worker,label\na,w,x\nb,w,maybe\n")
    out = tmp_path / "out.csv"
    args = ["quality", "infer", str(path), "--out", str(out), "--classes", "x,y"]
    assert main(args) == 1
    assert "label: 'maybe' not among the classes [x, y]" in _one_line_error(capsys)
    assert not out.exists()
    assert main([*args[:-1], "x,,y"]) == 1
    assert "--classes: has an empty class name" in _one_line_error(capsys)


def test_missing_file_bad_gold_and_bad_method(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "out.csv")
    assert main(["quality", "infer", str(tmp_path / "none.csv"), "--out", out]) == 1
    assert "no such file" in _one_line_error(capsys)
    path = _write(tmp_path / "a.csv", "item,worker,label\na,w,x\n")
    gold = _write(tmp_path / "g.csv", "item,label\na,x\na,y\n")
    assert main(["quality", "infer", str(path), "--out", out, "--gold", str(gold)]) == 1
    assert "item 'a' has two gold labels" in _one_line_error(capsys)
    assert main(["quality", "infer", str(path), "--out", out, "--method", "glad"]) == 2
    assert "'glad' is not one of" in _one_line_error(capsys)
    assert main(["quality", "infer", str(path)]) == 2  # --out is required
    assert "Missing option '--out'" in _one_line_error(capsys)
    assert main(["quality", "infer", str(path), "--out", str(tmp_path / "no" / "x.csv")]) == 1
    assert "its folder does not exist" in _one_line_error(capsys)


def test_agreement_prints_the_metrics(
    answers: tuple[Path, np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = answers
    assert main(["quality", "agreement", str(path)]) == 0
    out = capsys.readouterr().out
    for metric in ("Krippendorff", "Fleiss", "Cohen", "aggregate"):
        assert metric in out


def test_agreement_fleiss_needs_even_raters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "a.csv", "item,worker,label\na,u,x\na,v,x\nb,u,y\nb,v,y\nb,w,y\n")
    assert main(["quality", "agreement", str(path)]) == 0
    out = capsys.readouterr().out
    assert "raters per item vary" in out and "1.000" in out


def test_agreement_on_empty_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "a.csv", "item,worker,label\n")
    assert main(["quality", "agreement", str(path)]) == 1
    assert "has no answers" in _one_line_error(capsys)


def test_verbose_explains_the_model_and_gold_reports_ece(
    tmp_path: Path, answers: tuple[Path, np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    path, truth = answers
    gold = _write(
        tmp_path / "gold.csv",
        "item,label\n" + "".join(f"i{i},{truth[i]}\n" for i in range(0, 120, 4)),
    )
    out = tmp_path / "labels.csv"
    args = ["quality", "infer", str(path), "--out", str(out), "--gold", str(gold), "--verbose"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "model: " in text and "held-out" in text and "temperature" in text
    assert "candidate models, best held-out answer score first" in text and "one-coin" in text
    assert "gold labels (nats)" in text and "standard error" in text
    assert "gold check (30 gold items" in text and "ECE (10 bins)" in text


def test_parquet_answers_and_values_that_need_quotes(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "Task": ["a,1", "a,1", "b", "b"],
            "worker": ["w1", "w2", "w1", "w2"],
            "label": ['say "x"', 'say "x"', "y", "y"],
        }
    )
    path = tmp_path / "answers.parquet"
    pq.write_table(table, path)
    out = tmp_path / "out.csv"
    assert main(["quality", "infer", str(path), "--out", str(out)]) == 0
    assert {r["item"]: r["label"] for r in _rows(out)} == {"a,1": 'say "x"', "b": "y"}


def test_parquet_with_a_blank_value_names_the_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "answers.parquet"
    pq.write_table(pa.table({"item": ["a", "b"], "worker": ["w", None], "label": ["x", "y"]}), path)
    assert main(["quality", "infer", str(path), "--out", str(tmp_path / "o.csv")]) == 1
    assert "row 2: blank worker" in _one_line_error(capsys)


def test_quality_module_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import datafair.cli.quality, datafair.cli.quality_io; "
        "heavy = {'numpy', 'scipy', 'pyarrow', 'pandas', 'web3', 'sqlalchemy'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_infer_loads_only_what_it_runs(tmp_path: Path) -> None:
    import subprocess
    import sys

    answers = tmp_path / "answers.csv"
    answers.write_text("item,worker,label\ni1,w1,a\ni1,w2,a\ni2,w1,b\ni2,w2,b\n")
    out = tmp_path / "out.csv"
    code = (
        "import sys; from datafair.cli.app import main; "
        f"code = main(['quality', 'infer', {str(answers)!r}, '--out', {str(out)!r}]); "
        "unused = {'pandas', 'scipy.stats', 'scipy.optimize', 'datafair.quality.agreement', "
        "'datafair.quality.preference', 'web3', 'sqlalchemy'} & set(sys.modules); "
        "print(code, sorted(unused))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "0 []"
    assert out.read_text().splitlines()[0] == "item,label,confidence"


def test_infer_reports_a_copier_group_with_its_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crowd = dawid_skene_crowd(
        n_items=1500,
        n_workers=40,
        n_classes=3,
        answers_per_item=5,
        seed=0,
        accuracy=(0.65, 0.95),
    )
    right = crowd.labels == crowd.truth[crowd.items]
    source = int(np.argmin(np.bincount(crowd.workers, weights=right) / np.bincount(crowd.workers)))
    rows = [
        (f"i{i}", f"w{w}", f"c{k}")
        for i, w, k in zip(crowd.items, crowd.workers, crowd.labels, strict=True)
    ]
    rows += [(i, "copy", k) for i, w, k in rows if w == f"w{source}"]
    path = tmp_path / "answers.csv"
    path.write_text("item,worker,label\n" + "".join(f"{i},{w},{k}\n" for i, w, k in rows))
    skills = tmp_path / "skills.csv"
    out = tmp_path / "labels.csv"
    assert main(["quality", "infer", str(path), "--out", str(out), "--skills", str(skills)]) == 0
    assert "2 workers in 1 dependent group(s)" in capsys.readouterr().out
    grouped = {row["worker"]: row for row in _rows(skills) if row["group"] != ""}
    assert set(grouped) == {"copy", f"w{source}"}
    copy = grouped["copy"]
    assert copy["partner"] == f"w{source}"
    assert float(copy["p_value"]) < 0.01 and int(copy["shared_items"]) > 0


def test_values_equal_after_trimming_are_one_key(tmp_path: Path) -> None:
    """Blanks around a value are stripped before keys are made: ``" i1"`` and ``i1`` are one
    item, ``w1 `` and ``w1`` one worker (the reader trims the distinct values, not every row)."""
    source = _write(
        tmp_path / "answers.csv",
        "item,worker,label\ni1,w1,cat\n i1,w2 ,cat\ni2, w1,dog\ni2,w2,dog\ni1 ,w3,cat\n",
    )
    out = tmp_path / "labels.csv"
    assert main(["quality", "infer", str(source), "--out", str(out), "--method", "mv"]) == 0
    rows = _rows(out)
    assert [(r["item"], r["label"]) for r in rows] == [("i1", "cat"), ("i2", "dog")]
