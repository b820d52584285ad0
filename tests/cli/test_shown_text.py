"""User-supplied text is shown as text: rich markup, ANSI escapes and bidi overrides in every
field a user writes (dataset title, description, source; task title,
instructions, labels; item text; answers) print literally from every listing, exit 0, and no
raw control character reaches the terminal (``datafair.cli.common.shown``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from datafair.cli.app import main
from datafair.cli.common import shown

HOSTILE = "[/x][bold]\x1b[31mred\u202eevil"
SEEN = "[/x][bold]\\x1b[31mred\\u202eevil"
"""How ``HOSTILE`` must appear on the terminal."""
STORED = "[/x][bold][31mred\u202eevil"
"""``HOSTILE`` without its ESC: dataset cards and items refuse control characters at import
(one input contract on every store), so they carry markup and bidi marks only."""
STORED_SEEN = "[/x][bold][31mred\\u202eevil"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


UNSAFE = "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"


def _clean(text: str) -> bool:
    """No raw control or bidi character (newlines aside)."""
    return not re.search(UNSAFE, text)


def test_shown_escapes_markup_and_makes_controls_visible() -> None:
    assert shown("[/x]") == "\\[/x]"
    assert shown("a\x1b[31mb\u202ec\x9bd\x00") == "a\\x1b[31mb\\u202ec\\x9bd\\x00"
    assert shown("one\ntwo\tx") == "one\\x0atwo\\x09x"
    assert shown("one\ntwo\tx", lines=True) == "one\ntwo\tx"
    assert shown(Path("/tmp/[b]")) == "/tmp/\\[b]"


def test_every_listing_shows_hostile_text_literally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAFAIR_PASSWORD", "pw")
    home = ["--home", str(tmp_path / "home")]
    source = tmp_path / "texts.csv"
    source.write_text(f'text\n"{STORED} item"\n', encoding="utf-8")
    for name in ("alice", "bob"):
        assert _run(capsys, "account", "new", name, *home)[0] == 0
    code, out, err = _run(capsys, "dataset", "import", str(source), "--title", HOSTILE, *home)
    assert code != 0 and "title" in err and len(err.strip().splitlines()) == 1, err
    code, out, err = _run(
        capsys, "dataset", "import", str(source), "--title", STORED, "--description", STORED,
        "--source", STORED, *home,
    )  # fmt: skip
    assert code == 0, err
    dataset = re.search(r"bafkrei[a-z2-7]+", out).group(0)  # type: ignore[union-attr]
    code, out, err = _run(
        capsys, "task", "create", dataset, "--title", HOSTILE, "--instructions", HOSTILE,
        "--classes", f"{HOSTILE},plain", "--overlap", "2", *home,
    )  # fmt: skip
    assert code == 0, err
    task = re.search(r"0x[0-9a-f]{64}", out).group(0)  # type: ignore[union-attr]
    code, out, err = _run(capsys, "task", "next", task, "--account", "alice", *home)
    assert code == 0 and f"{STORED_SEEN} item" in out and _clean(out), (out, err)
    item = re.search(r"bafkrei[a-z2-7]+", out).group(0)  # type: ignore[union-attr]
    code, _, err = _run(capsys, "task", "submit", task, item, HOSTILE, "--account", "alice", *home)
    assert code == 0, err

    listings = {
        "dataset list": ["dataset", "list"],
        "dataset show": ["dataset", "show", dataset],
        "task list": ["task", "list"],
        "task show": ["task", "show", task],
        "review next": ["review", "next", task, "--account", "bob"],
    }
    shown_by: dict[str, str] = {}
    for name, args in listings.items():
        code, out, err = _run(capsys, *args, *home)
        assert code == 0, (name, err)
        assert _clean(out) and _clean(err), name
        assert "\x1b" not in out and "\u202e" not in out, name
        shown_by[name] = out
    for name in ("dataset list", "dataset show"):
        assert STORED_SEEN in shown_by[name], (name, shown_by[name])
    for name in ("task list", "task show"):
        assert SEEN in shown_by[name], (name, shown_by[name])
    # the answer is shown as its canonical JSON, which escapes ESC itself
    assert '"[/x][bold]\\u001b[31mred\\u202eevil"' in shown_by["review next"]
    card = shown_by["dataset show"]
    assert card.count(STORED_SEEN) >= 3  # title, description, source
    assert shown_by["task show"].count(SEEN) >= 3  # title, instructions, a label
    assert f"{STORED_SEEN} item" in shown_by["review next"]
