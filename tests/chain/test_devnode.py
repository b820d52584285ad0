"""run_anvil: a node on a free port, or one clear line when it cannot start."""

from __future__ import annotations

from pathlib import Path

import pytest

from datafair.chain.devnode import run_anvil
from datafair.core.errors import ChainError

from ._anvil import ANVIL


def test_a_missing_binary_is_one_line(tmp_path: Path) -> None:
    missing = pytest.raises(ChainError, match=r"^anvil is not installed at .*: run 'npm ci'$")
    with missing, run_anvil(tmp_path / "anvil"):
        pass


def test_a_node_that_exits_is_one_line(tmp_path: Path) -> None:
    script = tmp_path / "anvil"
    script.write_text("#!/bin/sh\necho 'error: bad flag' >&2\nexit 3\n")
    script.chmod(0o755)
    failed = pytest.raises(ChainError, match=r"^anvil did not start on port \d+: error: bad flag$")
    with failed, run_anvil(script):
        pass


def test_the_hardfork_is_passed_to_anvil(tmp_path: Path) -> None:
    script = tmp_path / "anvil"
    script.write_text('#!/bin/sh\necho "args: $*" >&2\nexit 3\n')
    script.chmod(0o755)
    with (
        pytest.raises(ChainError, match=r"--chain-id 530 --hardfork shanghai$"),
        run_anvil(script, chain_id=530, hardfork="shanghai"),
    ):
        pass
    with pytest.raises(ChainError, match=r"--chain-id 31337$"), run_anvil(script):
        pass


@pytest.mark.anvil
@pytest.mark.xdist_group("anvil")
def test_anvil_answers_on_its_url() -> None:
    with run_anvil(ANVIL, chain_id=530) as url:
        assert url.startswith("http://127.0.0.1:")
