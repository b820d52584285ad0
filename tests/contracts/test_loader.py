"""The contract loader compiles with vyper at first use; cached by source hash and EVM version."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import cbor2
import pytest
from vyper.evm.opcodes import DEFAULT_EVM_VERSION

from datafair.contracts import (
    CONTRACT_NAMES,
    cache_key,
    compile_file,
    evm_versions,
    load_contract,
    source_hash,
    source_path,
)
from datafair.core.errors import InvalidInput, NotFound

TLOAD, TSTORE, MCOPY = 0x5C, 0x5D, 0x5E
CANCUN_ONLY = {TLOAD: "TLOAD", TSTORE: "TSTORE", MCOPY: "MCOPY"}


def instructions(code: bytes) -> Iterator[int]:
    """The opcodes of ``code`` in order, skipping the immediate data of PUSH1..PUSH32."""
    pc = 0
    while pc < len(code):
        opcode = code[pc]
        yield opcode
        pc += 1 + (opcode - 0x5F if 0x60 <= opcode <= 0x7F else 0)


def split_creation_code(bytecode: bytes) -> tuple[bytes, bytes]:
    """Vyper creation bytecode → (initcode, runtime instructions), without data or metadata.

    Vyper appends ``cbor(metadata) + len(2 bytes)``; the metadata holds the runtime length and
    the lengths of the data sections that end the runtime code.
    """
    trailer = int.from_bytes(bytecode[-2:], "big")
    metadata = cbor2.loads(bytecode[-trailer:-2])
    runtime_length, data_lengths = metadata[1], metadata[2]
    runtime_start = len(bytecode) - trailer - runtime_length
    runtime = bytecode[runtime_start : len(bytecode) - trailer - sum(data_lengths)]
    return bytecode[:runtime_start], runtime


def cancun_instructions(code: bytes) -> set[str]:
    """Names of the Cancun-only instructions (TLOAD/TSTORE/MCOPY) that ``code`` contains."""
    return {CANCUN_ONLY[op] for op in instructions(code) if op in CANCUN_ONLY}


def test_every_shipped_contract_compiles() -> None:
    for name in CONTRACT_NAMES:
        compiled = load_contract(name)
        assert compiled.name == name and compiled.bytecode and compiled.abi
        assert compiled.evm_version == DEFAULT_EVM_VERSION == "prague"
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


def test_the_instruction_walk_skips_push_data() -> None:
    # PUSH2 0x5d5e, TSTORE, PUSH32 <32 × 0x5c>, MCOPY
    code = bytes([0x61, TSTORE, MCOPY, TSTORE, 0x7F, *[TLOAD] * 32, MCOPY])
    assert list(instructions(code)) == [0x61, TSTORE, 0x7F, MCOPY]
    assert cancun_instructions(code) == {"TSTORE", "MCOPY"}


def test_shanghai_build_has_no_cancun_instructions(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    default = load_contract("TaskEscrow", cache)
    shanghai = load_contract("TaskEscrow", cache, "shanghai")
    assert (default.evm_version, shanghai.evm_version) == ("prague", "shanghai")
    assert shanghai.abi == default.abi and shanghai.bytecode != default.bytecode
    # the default build's @nonreentrant lock lives in transient storage
    assert {"TLOAD", "TSTORE"} <= cancun_instructions(split_creation_code(default.bytecode)[1])
    for name in CONTRACT_NAMES:
        initcode, runtime = split_creation_code(load_contract(name, cache, "shanghai").bytecode)
        assert cancun_instructions(initcode) == set(), name
        assert cancun_instructions(runtime) == set(), name
    cached = sorted(p.name.split("-")[1] for p in (cache / "contracts").glob("TaskEscrow-*.json"))
    assert cached == ["prague", "shanghai"]
    assert cache_key(source_path("TaskEscrow"), "shanghai") != cache_key(source_path("TaskEscrow"))
    assert cache_key(source_path("TaskEscrow"), "prague") == cache_key(source_path("TaskEscrow"))


def test_cache_entries_never_mix_evm_versions(tmp_path: Path) -> None:
    from datafair import contracts

    source = tmp_path / "DevToken.vy"
    shutil.copy(source_path("DevToken"), source)
    compile_file(source, tmp_path / "cache", "shanghai")
    (cached,) = (tmp_path / "cache" / "contracts").glob("DevToken-shanghai-*.json")
    data = json.loads(cached.read_text())
    contracts._compile_cached.cache_clear()
    cached.write_text(json.dumps({**data, "evm_version": "paris", "integrity": "foreign"}))
    rebuilt = compile_file(source, tmp_path / "cache", "shanghai")
    assert rebuilt.evm_version == "shanghai" and rebuilt.integrity != "foreign"
    contracts._compile_cached.cache_clear()
    del data["evm_version"]  # written before the EVM version was recorded: rebuilt
    cached.write_text(json.dumps({**data, "integrity": "old"}))
    rebuilt = compile_file(source, tmp_path / "cache", "shanghai")
    assert rebuilt.evm_version == "shanghai" and rebuilt.integrity != "old"
    assert json.loads(cached.read_text())["evm_version"] == "shanghai"


def test_unknown_evm_version_is_one_line(tmp_path: Path) -> None:
    assert evm_versions() == ("london", "paris", "shanghai", "cancun", "prague")
    expected = (
        r"^evm_version: 'berlinx' is not an EVM version Vyper 0\.4\.3 knows "
        r"\(use one of: london, paris, shanghai, cancun, prague\)$"
    )
    with pytest.raises(InvalidInput, match=expected):
        load_contract("TaskEscrow", evm_version="berlinx")
    with pytest.raises(InvalidInput, match=expected):
        compile_file(source_path("DevToken"), tmp_path, "berlinx")
    assert not (tmp_path / "contracts").exists()


def test_a_conflicting_evm_version_pragma_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "Pinned.vy"
    source.write_text(
        "# pragma version ~=0.4.3\n# pragma evm-version cancun\n\n"
        "@external\ndef one() -> uint256:\n    return 1\n"
    )
    assert compile_file(source, evm_version="cancun").evm_version == "cancun"
    with pytest.raises(
        InvalidInput, match=r"Pinned\.vy: its '# pragma evm-version' differs from .* 'prague' \("
    ):
        compile_file(source)
