"""Start-up: the entry point and every command's usage error load no heavy package."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from datafair.cli.app import COMMANDS, app, main
from datafair.cli.common import EXPORT_FORMAT_NAMES, QUALITY_METHODS

HEAVY = ("web3", "eth_account", "scipy", "sqlalchemy", "pyarrow", "boa", "vyper", "datasets")
_PROBE = """
import contextlib, io, json, sys
from datafair.cli.app import main
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    code = main(sys.argv[1:])
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(json.loads(%r)))
print(json.dumps({"code": code, "out": out.getvalue(), "err": err.getvalue(), "heavy": heavy}))
"""


def _probe(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE % json.dumps(HEAVY), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_help_imports_no_heavy_package() -> None:
    result = _probe("--help")
    assert result["code"] == 0
    assert result["heavy"] == []
    for name in COMMANDS:  # every command is listed with its one-line help
        assert name in str(result["out"])


# `quality` belongs to the quality engine's own start-up work.
@pytest.mark.parametrize("name", [name for name in COMMANDS if name != "quality"])
def test_usage_errors_import_no_heavy_package(name: str) -> None:
    result = _probe(name, "--no-such-option")
    assert result["code"] == 2
    assert "no such option" in str(result["err"]).lower()
    assert result["heavy"] == [], f"datafair {name} imports {result['heavy']} at start-up"


@pytest.mark.parametrize("method", ["auto", "ds"])
def test_quality_infer_on_a_small_file_imports_neither_scipy_nor_pyarrow(
    tmp_path: Path, method: str
) -> None:
    """scipy (0.2 s) is for large inputs and the structured tasks only, pyarrow (0.1 s) for large
    files: a small file is read and written with the csv module, the engine's special functions
    are numpy (an import-set check, not a timing)."""
    answers = tmp_path / "answers.csv"
    answers.write_text("item,worker,label\ni1,w1,a\ni1,w2,b\ni2,w1,a\ni2,w2,a\n")
    out = tmp_path / "labels.csv"
    skills = tmp_path / "skills.csv"
    result = _probe(
        "quality", "infer", str(answers), "--out", str(out), "--skills", str(skills),
        "--method", method,
    )  # fmt: skip
    assert result["code"] == 0, result["err"]
    assert result["heavy"] == [], f"quality infer imports {result['heavy']}"
    assert out.read_text().splitlines()[0] == "item,label,confidence"


def test_every_lazy_command_loads_with_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    for name in COMMANDS:
        assert main([name, "--help"]) == 0, name
        assert "Usage: datafair " + name in capsys.readouterr().out.replace("\n", " ")


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err
    assert app.info.name == "datafair"


def test_help_names_match_the_engines() -> None:
    from datafair.formats import EXPORT_FORMATS
    from datafair.quality import METHODS

    assert QUALITY_METHODS == METHODS
    assert EXPORT_FORMAT_NAMES == EXPORT_FORMATS
