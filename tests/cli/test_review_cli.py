"""`datafair review next/submit`, `datafair pay` and `datafair reputation`: a labelled item is
reviewed with a signed verdict; refusals are one line with exit 1; the pay report shows the
hourly pay and the floor; a task's inference is recorded as reputation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from datafair.cli.app import main
from datafair.cli.review import parse_verdict
from datafair.core.errors import InvalidInput


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _new_task(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, texts: list[str], *options: str
) -> str:
    """Accounts alice and bob, a dataset of ``texts`` and a pos/neg task on it; the task id."""
    home = ["--home", str(tmp_path / "home")]
    source = tmp_path / "texts.csv"
    source.write_text("text\n" + "".join(f"{text}\n" for text in texts), encoding="utf-8")
    for name in ("alice", "bob"):
        assert _run(capsys, "account", "new", name, *home)[0] == 0
    _, out, _ = _run(capsys, "dataset", "import", str(source), "--title", "t", *home)
    dataset = re.search(r"bafkrei[a-z2-7]+", out).group(0)  # type: ignore[union-attr]
    code, out, err = _run(
        capsys, "task", "create", dataset, "--title", "s", "--classes", "pos,neg", *options, *home
    )
    assert code == 0, err
    return re.search(r"0x[0-9a-f]{64}", out).group(0)  # type: ignore[union-attr]


def test_review_and_pay_tour(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAFAIR_PASSWORD", "pw")
    monkeypatch.delenv("DATAFAIR_FAIR_PAY_FLOOR", raising=False)
    home = ["--home", str(tmp_path / "home")]
    task = _new_task(capsys, tmp_path, ["I love it"], "--overlap", "1", "--price", "100")
    code, out, _ = _run(capsys, "task", "next", task, "--account", "alice", *home)
    item = re.search(r"bafkrei[a-z2-7]+", out).group(0)  # type: ignore[union-attr]
    code, out, err = _run(
        capsys, "task", "submit", task, item, "pos", "--account", "alice", "--seconds", "4", *home
    )
    assert code == 0, err
    alice = re.search(r"0x[0-9a-fA-F]{40}", out).group(0)  # type: ignore[union-attr]

    code, out, _ = _run(capsys, "review", "next", task, "--account", "alice", *home)
    assert code == 0 and "no submission left" in out
    code, out, _ = _run(capsys, "review", "next", task, "--account", "bob", *home)
    assert code == 0 and "I love it" in out and 'answer: "pos"' in out
    submission = re.search(r"submission (\d+)", out).group(1)  # type: ignore[union-attr]
    code, _, err = _run(
        capsys, "review", "submit", task, submission, "maybe", "--account", "bob", *home
    )
    assert code == 1 and err.startswith("error: verdict:") and err.count("\n") == 1
    code, _, err = _run(
        capsys, "review", "submit", task, submission, "accept", "--account", "alice", *home
    )
    assert code == 1 and "own submission" in err and err.count("\n") == 1
    code, out, err = _run(
        capsys, "review", "submit", task, submission, "4", "--account", "bob", *home
    )
    assert code == 0 and "review #1" in out, err
    code, _, err = _run(
        capsys, "review", "submit", task, submission, "accept", "--account", "bob", *home
    )
    assert code == 1 and "already reviewed" in err and err.count("\n") == 1
    code, out, _ = _run(capsys, "review", "next", task, "--account", "bob", *home)
    assert "no submission left" in out

    code, out, _ = _run(capsys, "pay", task, *home)
    assert code == 0 and "4 s" in out and "90000" in out and "none" in out and "ok" in out
    code, out, _ = _run(capsys, "pay", task, "--floor", "180000", *home)
    assert "BELOW THE FLOOR" in out and re.search(r"price needed for the floor\W+200\b", out)
    monkeypatch.setenv("DATAFAIR_FAIR_PAY_FLOOR", "90000")
    code, out, _ = _run(capsys, "pay", task, *home)
    assert re.search(r"floor per hour\W+90000\b", out) and "ok" in out
    code, _, err = _run(capsys, "pay", "0x12", *home)
    assert code == 1 and err.startswith("error: task_id:")

    code, out, _ = _run(capsys, "reputation", "show", *home)
    assert code == 0 and "no reputation recorded" in out
    code, out, err = _run(capsys, "reputation", "update", task, *home)
    assert code == 0 and "recorded 1 contributors' evidence; 0 paused" in out, err
    code, out, _ = _run(capsys, "reputation", "show", *home)
    assert code == 0 and alice in out
    code, out, _ = _run(capsys, "reputation", "unpause", task, alice, *home)
    assert code == 0 and "was not paused" in out
    code, _, err = _run(capsys, "reputation", "unpause", task, "0x12", *home)
    assert code == 1 and err.startswith("error: contributor:")


@pytest.mark.parametrize(
    "text,expected",
    [("accept", ("accept", None)), (" Reject ", ("reject", None)), ("5", (None, 5))],
)
def test_parse_verdict(text: str, expected: tuple[str | None, int | None]) -> None:
    assert parse_verdict(text) == expected


@pytest.mark.parametrize("text", ["0", "6", "yes", ""])
def test_parse_verdict_refuses_other_words(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"^verdict:"):
        parse_verdict(text)


def test_a_reviewer_cannot_answer_the_item_review_next_showed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No peeking from the CLI: bob sees alice's answer with `review next`, then `task submit`
    of that item is refused in one line (exit 1) and `task next` offers him only the other."""
    monkeypatch.setenv("DATAFAIR_PASSWORD", "pw")
    home = ["--home", str(tmp_path / "home")]
    task = _new_task(capsys, tmp_path, ["first text", "second text"], "--overlap", "3")
    _, out, _ = _run(capsys, "task", "next", task, "--account", "alice", *home)
    item = re.search(r"bafkrei[a-z2-7]+", out).group(0)  # type: ignore[union-attr]
    assert _run(capsys, "task", "submit", task, item, "pos", "--account", "alice", *home)[0] == 0
    code, out, _ = _run(capsys, "review", "next", task, "--account", "bob", *home)
    assert code == 0 and item in out and 'answer: "pos"' in out
    code, out, err = _run(capsys, "task", "submit", task, item, "pos", "--account", "bob", *home)
    assert code == 1 and "may no longer answer it" in err and err.count("\n") == 1, err
    _, out, _ = _run(capsys, "task", "next", task, "--account", "bob", *home)
    other = re.search(r"bafkrei[a-z2-7]+", out).group(0)  # type: ignore[union-attr]
    assert other != item
    _, out, _ = _run(capsys, "task", "next", task, "--account", "bob", *home)
    assert "no item left" in out
