"""The Vyper sources of datafair's contracts and the loader that compiles them.

Contracts are compiled by the ``vyper`` package at first use; the ABI and bytecode are cached as
JSON under a cache directory (``Settings.home / "cache"``), keyed by the SHA-256 of the source,
the compiler version and the snekmate version, so no ABI or bytecode file is ever edited by hand.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from datafair.core.errors import NotFound

CONTRACTS_DIR = Path(__file__).resolve().parent
"""Directory holding the ``*.vy`` sources shipped with datafair."""

CONTRACT_NAMES = ("DevToken", "TaskEscrow", "DatasetRegistry")
"""The contracts ``datafair chain deploy`` deploys, in deployment order."""


@dataclass(frozen=True)
class CompiledContract:
    """One compiled contract: its ABI, creation bytecode and source hashes."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    source_hash: str
    integrity: str

    def to_json(self) -> dict[str, Any]:
        """The JSON form stored in the cache."""
        return {
            "name": self.name,
            "abi": self.abi,
            "bytecode": "0x" + self.bytecode.hex(),
            "source_hash": self.source_hash,
            "integrity": self.integrity,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CompiledContract:
        """Inverse of :meth:`to_json`."""
        return cls(
            name=data["name"],
            abi=data["abi"],
            bytecode=bytes.fromhex(data["bytecode"][2:]),
            source_hash=data["source_hash"],
            integrity=data["integrity"],
        )


def source_path(name: str) -> Path:
    """Path of the shipped contract ``name`` (e.g. ``"TaskEscrow"``)."""
    path = CONTRACTS_DIR / f"{name}.vy"
    if not path.is_file():
        raise NotFound(f"no contract named {name!r}; known: {', '.join(CONTRACT_NAMES)}")
    return path


def source_hash(path: Path) -> str:
    """SHA-256 (hex) of a contract source file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _toolchain() -> str:
    version = importlib.metadata.version
    return f"vyper {version('vyper')}; snekmate {version('snekmate')}"


def _search_paths(path: Path) -> list[Path]:
    """The contract's own directory, then every ``sys.path`` entry (where snekmate lives)."""
    paths = [Path(p) for p in sys.path if p and Path(p).is_dir()]
    return [path.parent, *paths]


def _compile(path: Path) -> CompiledContract:
    from vyper.compiler import compile_from_file_input
    from vyper.compiler.input_bundle import FilesystemInputBundle

    bundle = FilesystemInputBundle(_search_paths(path))
    file_input = bundle.load_file(path)
    out = compile_from_file_input(
        file_input, bundle, output_formats=["abi", "bytecode", "integrity"]
    )
    return CompiledContract(
        name=path.stem,
        abi=out["abi"],
        bytecode=bytes.fromhex(out["bytecode"].removeprefix("0x")),
        source_hash=source_hash(path),
        integrity=out["integrity"],
    )


def cache_key(path: Path) -> str:
    """Key of a compiled artifact: hash of the source, the compiler and snekmate versions."""
    digest = hashlib.sha256()
    digest.update(_toolchain().encode())
    digest.update(b"\0")
    digest.update(Path(path).read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=64)
def _compile_cached(path: Path, key: str, cache_dir: Path | None) -> CompiledContract:
    if cache_dir is None:
        return _compile(path)
    target = cache_dir / "contracts" / f"{path.stem}-{key[:24]}.json"
    if target.is_file():
        try:
            return CompiledContract.from_json(json.loads(target.read_text(encoding="utf-8")))
        except (ValueError, KeyError):
            target.unlink(missing_ok=True)  # a damaged cache entry is rebuilt
    compiled = _compile(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(compiled.to_json(), handle)
    os.replace(tmp, target)
    return compiled


def compile_file(path: Path, cache_dir: Path | None = None) -> CompiledContract:
    """Compile the Vyper file at ``path`` (cached under ``cache_dir`` when given)."""
    resolved = Path(path).resolve()
    if not resolved.is_file():
        raise NotFound(f"contract source {path} does not exist")
    return _compile_cached(resolved, cache_key(resolved), cache_dir)


def load_contract(name: str, cache_dir: Path | None = None) -> CompiledContract:
    """Compile (or read from the cache) the shipped contract ``name``."""
    return compile_file(source_path(name), cache_dir)
