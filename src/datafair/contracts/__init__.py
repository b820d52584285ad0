"""The Vyper sources of datafair's contracts and the loader that compiles them.

Contracts are compiled by the ``vyper`` package at first use; the ABI and bytecode are cached as
JSON under a cache directory (``Settings.home / "cache"``), keyed by the SHA-256 of the source,
the compiler version, the snekmate version and the target EVM version, so no ABI or bytecode file
is ever edited by hand.

The EVM version defaults to Vyper's own (``prague`` for Vyper 0.4.3), whose ``@nonreentrant``
locks use transient storage (TLOAD/TSTORE, Cancun). Chains without Cancun support need an older
target such as ``shanghai``: pass ``evm_version`` to :func:`load_contract` / :func:`compile_file`.
Artifacts for different EVM versions are cached under different file names and never mix.
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

from datafair.core.errors import InvalidInput, NotFound

CONTRACTS_DIR = Path(__file__).resolve().parent
"""Directory holding the ``*.vy`` sources shipped with datafair."""

CONTRACT_NAMES = ("DevToken", "TaskEscrow", "DatasetRegistry", "DatasetMarket")
"""The contracts ``datafair chain deploy`` deploys, in deployment order."""


@dataclass(frozen=True)
class CompiledContract:
    """One compiled contract: its ABI, creation bytecode, source hashes and target EVM version."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    source_hash: str
    integrity: str
    evm_version: str

    def to_json(self) -> dict[str, Any]:
        """The JSON form stored in the cache."""
        return {
            "name": self.name,
            "abi": self.abi,
            "bytecode": "0x" + self.bytecode.hex(),
            "source_hash": self.source_hash,
            "integrity": self.integrity,
            "evm_version": self.evm_version,
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
            evm_version=data["evm_version"],
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


def evm_versions() -> tuple[str, ...]:
    """The EVM version names the installed Vyper accepts, oldest first."""
    from vyper.evm.opcodes import EVM_VERSIONS

    return tuple(sorted(EVM_VERSIONS, key=EVM_VERSIONS.__getitem__))


def check_evm_version(evm_version: str | None, field: str = "evm_version") -> str:
    """The EVM version to compile for: ``evm_version``, or Vyper's default when ``None``.

    An unknown name raises ``InvalidInput`` on ``field`` listing the accepted names.
    """
    from vyper.evm.opcodes import DEFAULT_EVM_VERSION

    if evm_version is None:
        return str(DEFAULT_EVM_VERSION)
    known = evm_versions()
    if evm_version not in known:
        vyper = importlib.metadata.version("vyper")
        raise InvalidInput(
            field,
            f"{evm_version!r} is not an EVM version Vyper {vyper} knows",
            f"use one of: {', '.join(known)}",
        )
    return evm_version


def _search_paths(path: Path) -> list[Path]:
    """The contract's own directory, then every ``sys.path`` entry (where snekmate lives)."""
    paths = [Path(p) for p in sys.path if p and Path(p).is_dir()]
    return [path.parent, *paths]


def _compile(path: Path, evm_version: str) -> CompiledContract:
    from vyper.compiler import compile_from_file_input
    from vyper.compiler.input_bundle import FilesystemInputBundle
    from vyper.compiler.settings import Settings

    bundle = FilesystemInputBundle(_search_paths(path))
    file_input = bundle.load_file(path)
    try:
        out = compile_from_file_input(
            file_input,
            bundle,
            settings=Settings(evm_version=evm_version),
            output_formats=["abi", "bytecode", "integrity"],
        )
    except ValueError as exc:
        if not str(exc).startswith("settings conflict"):
            raise
        # only evm_version is set here, so a source pragma can only disagree on that
        raise InvalidInput(
            str(path),
            f"its '# pragma evm-version' differs from the requested EVM version {evm_version!r}",
            "compile for the version the pragma names, or remove the pragma",
        ) from exc
    return CompiledContract(
        name=path.stem,
        abi=out["abi"],
        bytecode=bytes.fromhex(out["bytecode"].removeprefix("0x")),
        source_hash=source_hash(path),
        integrity=out["integrity"],
        evm_version=evm_version,
    )


def cache_key(path: Path, evm_version: str | None = None) -> str:
    """Key of a compiled artifact: hash of the source, compiler, snekmate and EVM versions."""
    digest = hashlib.sha256()
    digest.update(_toolchain().encode())
    digest.update(b"\0")
    digest.update(check_evm_version(evm_version).encode())
    digest.update(b"\0")
    digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def _read_cached(target: Path, evm_version: str) -> CompiledContract | None:
    """The artifact cached at ``target``, or ``None`` (a damaged entry is deleted)."""
    if not target.is_file():
        return None
    try:
        compiled = CompiledContract.from_json(json.loads(target.read_text(encoding="utf-8")))
    except (ValueError, KeyError):
        compiled = None
    if compiled is None or compiled.evm_version != evm_version:
        target.unlink(missing_ok=True)  # a damaged or foreign cache entry is rebuilt
        return None
    return compiled


@lru_cache(maxsize=64)
def _compile_cached(
    path: Path, evm_version: str, key: str, cache_dir: Path | None
) -> CompiledContract:
    if cache_dir is None:
        return _compile(path, evm_version)
    target = cache_dir / "contracts" / f"{path.stem}-{evm_version}-{key[:24]}.json"
    cached = _read_cached(target, evm_version)
    if cached is not None:
        return cached
    compiled = _compile(path, evm_version)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(compiled.to_json(), handle)
    os.replace(tmp, target)
    return compiled


def compile_file(
    path: Path, cache_dir: Path | None = None, evm_version: str | None = None
) -> CompiledContract:
    """Compile the Vyper file at ``path`` (cached under ``cache_dir`` when given).

    ``evm_version`` is the target EVM version (one of :func:`evm_versions`); ``None`` means
    Vyper's default. An unknown name raises ``InvalidInput``.
    """
    version = check_evm_version(evm_version)
    resolved = Path(path).resolve()
    if not resolved.is_file():
        raise NotFound(f"contract source {path} does not exist")
    return _compile_cached(resolved, version, cache_key(resolved, version), cache_dir)


def load_contract(
    name: str, cache_dir: Path | None = None, evm_version: str | None = None
) -> CompiledContract:
    """Compile (or read from the cache) the shipped contract ``name`` for ``evm_version``."""
    return compile_file(source_path(name), cache_dir, evm_version)
