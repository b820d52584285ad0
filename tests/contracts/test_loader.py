"""The contract loader compiles with vyper at first use and caches by source hash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from datafair.contracts import (
    CONTRACT_NAMES,
    cache_key,
    compile_file,
    load_contract,
    source_hash,
    source_path,
)
from datafair.core.errors import NotFound


def test_every_shipped_contract_compiles() -> None:
    for name in CONTRACT_NAMES:
        compiled = load_contract(name)
        assert compiled.name == name and compiled.bytecode and compiled.abi
        assert compiled.source_hash == source_hash(source_path(name))
        assert len(compiled.bytecode) < 24_576  # EIP-170 size limit


def test_cache_is_written_once_and_reused(tmp_path: Path) -> None:
    source = tmp_path / "src" / "DevToken.vy"
    source.parent.mkdir()
    shutil.copy(source_path("DevToken"), source)
    first = compile_file(source, tmp_path / "cache")
    (cached,) = (tmp_path / "cache" / "contracts").glob("DevToken-*.json")
    assert cache_key(source)[:24] in cached.name
    from datafair import contracts

    contracts._compile_cached.cache_clear()  # a new process: only the file cache remains
    data = json.loads(cached.read_text())
    cached.write_text(json.dumps({**data, "integrity": "from-the-cache"}))
    again = compile_file(source, tmp_path / "cache")
    assert again.integrity == "from-the-cache" and again.bytecode == first.bytecode


def test_changed_source_gets_a_new_key(tmp_path: Path) -> None:
    source = tmp_path / "DevToken.vy"
    shutil.copy(source_path("DevToken"), source)
    before = cache_key(source)
    source.write_text(source.read_text() + "\n# a comment\n")
    assert cache_key(source) != before


def test_damaged_cache_entry_is_rebuilt(tmp_path: Path) -> None:
    from datafair import contracts

    source = tmp_path / "DevToken.vy"
    shutil.copy(source_path("DevToken"), source)
    compile_file(source, tmp_path / "cache")
    (cached,) = (tmp_path / "cache" / "contracts").glob("DevToken-*.json")
    cached.write_text("{not json")
    contracts._compile_cached.cache_clear()
    assert compile_file(source, tmp_path / "cache").bytecode == load_contract("DevToken").bytecode


def test_unknown_contracts_are_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no contract named 'Nope'"):
        load_contract("Nope")
    with pytest.raises(NotFound, match="does not exist"):
        compile_file(tmp_path / "Missing.vy")
