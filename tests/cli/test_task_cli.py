"""The CLI tour: import a dataset, create a task, take an item, submit a signed answer, export."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from datafair.cli.app import main
from datafair.cli.task import parse_answer, parse_deadline, read_gold
from datafair.core.errors import InvalidInput
from datafair.crypto.cid import compute_cid


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _alice_and_dataset(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    texts: list[str],
) -> tuple[list[str], str, str]:
    """A home with the account ``alice`` and a dataset of ``texts``: the ``--home`` options,
    the dataset's CID and what the import printed."""
    monkeypatch.setenv("DATAFAIR_PASSWORD", "pw")
    home = ["--home", str(tmp_path / "home")]
    source = tmp_path / "texts.csv"
    source.write_text("text\n" + "".join(f"{text}\n" for text in texts), encoding="utf-8")
    assert _run(capsys, "account", "new", "alice", *home)[0] == 0
    code, out, err = _run(capsys, "dataset", "import", str(source), "--title", "t", *home)
    assert code == 0, err
    dataset = re.search(r"bafkrei[a-z2-7]+", out).group(0)  # type: ignore[union-attr]
    return home, dataset, out


def test_tour(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, dataset, out = _alice_and_dataset(
        tmp_path, capsys, monkeypatch, ["I love it", "Terrible", "I love it"]
    )
    assert "1 duplicates collapsed" in out
    gold = tmp_path / "gold.csv"
    code, out, err = _run(
        capsys,
        "task",
        "create",
        dataset,
        "--title",
        "s",
        "--classes",
        "pos,neg",
        "--overlap",
        "1",
        *home,
    )
    assert code == 0, err
    task = re.search(r"0x[0-9a-f]{64}", out).group(0)  # type: ignore[union-attr]
    code, out, _ = _run(capsys, "task", "next", task, "--account", "alice", *home)
    item = re.search(r"bafkrei[a-z2-7]+", out).group(0)  # type: ignore[union-attr]
    code, out, err = _run(
        capsys, "task", "submit", task, item, "pos", "--account", "alice", "--seconds", "3", *home
    )
    assert code == 0, err
    code, _, err = _run(capsys, "task", "submit", task, item, "pos", "--account", "alice", *home)
    assert code == 1 and "already answered" in err and err.count("\n") == 1
    monkeypatch.setenv("DATAFAIR_PASSWORD", "wrong")
    code, _, err = _run(capsys, "task", "submit", task, item, "neg", "--account", "alice", *home)
    assert code == 1 and "wrong keystore password" in err
    code, out, _ = _run(capsys, "task", "show", task, *home)
    assert "1 answers" in out
    code, out, err = _run(
        capsys, "export", task, "--format", "jsonl", "--out", str(tmp_path / "o"), *home
    )
    assert code == 0, err
    assert (tmp_path / "o").is_dir()
    code, _, err = _run(capsys, "export", task, "--format", "conll", *home)
    assert code == 1 and "conll does not fit" in err
    gold.write_text("item,label\n", encoding="utf-8")
    code, _, err = _run(capsys, "task", "show", "0x1234", *home)
    assert code == 1 and err.startswith("error: task_id")


def test_parse_deadline() -> None:
    assert parse_deadline("+2d", 100.0) == 100 + 2 * 86_400
    assert parse_deadline("+3h", 0.0) == 3 * 3600
    assert parse_deadline("1800000000", 0.0) == 1_800_000_000
    assert parse_deadline("2030-01-01", 0.0) == 1_893_456_000
    with pytest.raises(InvalidInput, match="deadline"):
        parse_deadline("next tuesday", 0.0)


def test_parse_answer_and_gold(tmp_path: Path) -> None:
    assert parse_answer("pos") == "pos"
    assert parse_answer('["a", "b"]') == ["a", "b"]
    gold = tmp_path / "gold.csv"
    gold.write_text("item,label\nbafkreiabc,pos\n", encoding="utf-8")
    assert read_gold(gold) == {"bafkreiabc": "pos"}
    gold.write_text("item,label\nbafkreiabc,\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"gold\.csv:2"):
        read_gold(gold)
    gold.write_text("cid,value\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="item,label"):
        read_gold(gold)


def test_task_terms_out_of_range_are_one_line_and_store_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(tmp_path / "home")]
    source = tmp_path / "texts.csv"
    source.write_text("text\na\nb\n", encoding="utf-8")
    code, out, _ = _run(capsys, "dataset", "import", str(source), "--title", "t", *home)
    dataset = re.search(r"bafkrei[a-z2-7]+", out).group(0)  # type: ignore[union-attr]
    create = ["task", "create", dataset, "--title", "s", "--classes", "a,b", *home]
    cases = [
        (["--deadline", "+0d"], "error: deadline: ", "is not in the future"),
        (["--deadline", "2020-01-01"], "error: deadline: ", "is not in the future"),
        (["--deadline", "+4000d"], "error: deadline: ", "more than ten years away"),
        (["--deadline", "99999999999999999999"], "error: deadline: ", "not a Unix time"),
        (["--price", str(2**256)], "error: price_per_answer: ", "above 2**256-1"),
        (["--price", str(2**255)], "error: price_per_answer: ", "2 items × 3 answers"),
    ]
    for options, start, problem in cases:
        code, _, err = _run(capsys, *create, *options)
        assert code == 1 and err.startswith(start) and problem in err, (options, err)
        assert err.count("\n") == 1 and "unexpected" not in err
    code, out, _ = _run(capsys, "task", "list", *home)
    assert code == 0 and "0x" not in out  # nothing stored


def test_fund_refuses_an_amount_above_uint256_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(tmp_path / "home")]
    task = "0x" + "ab" * 32
    code, _, err = _run(capsys, "fund", task, str(2**256), "--mint", *home)
    assert code == 1 and err.startswith("error: AMOUNT: ") and "above 2**256-1" in err
    assert err.count("\n") == 1 and "(give a smaller amount in base units)" in err
    assert not (tmp_path / "home").exists()  # refused before anything was opened


def test_an_assigned_only_task_refuses_an_item_not_taken_with_task_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, dataset, _ = _alice_and_dataset(tmp_path, capsys, monkeypatch, ["first", "second"])
    code, out, err = _run(
        capsys, "task", "create", dataset, "--title", "s", "--classes", "pos,neg",
        "--assigned-only", *home,
    )  # fmt: skip
    assert code == 0, err
    task = re.search(r"0x[0-9a-f]{64}", out).group(0)  # type: ignore[union-attr]
    assert "assigned only" in _run(capsys, "task", "show", task, *home)[1]
    code, out, _ = _run(capsys, "task", "next", task, "--account", "alice", *home)
    held = re.search(r"bafkrei[a-z2-7]+", out).group(0)  # type: ignore[union-attr]
    other = next(c for c in (compute_cid(b"first"), compute_cid(b"second")) if c != held)
    code, _, err = _run(capsys, "task", "submit", task, other, "pos", "--account", "alice", *home)
    assert code == 1 and err.count("\n") == 1
    assert "does not hold item" in err and "task next" in err
    code, _, err = _run(capsys, "task", "submit", task, held, "pos", "--account", "alice", *home)
    assert code == 0, err
