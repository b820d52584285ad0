"""The embedded chain's py-evm set-up: the plain fork computation, inlined frequent opcodes,
no read logs, and a fast keccak.

titanoboa wraps py-evm's computation for its debugging features: a code stream that records
every program counter, and SHA3/SSTORE opcodes that keep every hash preimage and every written
slot for the life of the process. The embedded chain needs none of that, so it runs the fork's
own computation class (same opcodes, same gas schedule) with those wrappers peeled off. Every
``boa.Env()`` wraps the shared opcode table once more, which is why the peeling loops. The most
frequent opcodes are then replaced by the inlined ones of :mod:`datafair.chain.fastops`.

``without_read_logs`` stops py-evm's ``AccountDB`` from logging every trie node it reads. The
log feeds the witnesses of stateless clients, which the embedded chain never builds, but it
grows with every read for the life of the state object, and every ``get_code`` (each CALL and
each transaction) copies it whole: without this, a chain slows from ~1,900 to ~400 token
transfers per second after 35,000 of them.

``use_fast_keccak`` points ``eth_hash``'s automatic Keccak-256 (which py-evm, py-trie and
eth-utils call) at the C ``pysha3`` backend when ``safe-pysha3`` is installed: about 0.9 µs per
hash instead of 3.5 µs for the pycryptodome default. The hashes are the same, and the switch
applies to the whole process.
"""

from __future__ import annotations

from typing import Any

from datafair.chain.fastops import fast_opcodes

_TRACED_OPCODES = ((0x20, "sha3"), (0x55, "sstore"))


def fork_computation_class(computation_class: type) -> type:
    """The py-evm fork class (e.g. ``PragueComputation``) under titanoboa's computation class."""
    for cls in computation_class.__mro__:
        if cls.__module__.startswith("eth.vm.forks."):
            return cls
    raise TypeError(f"{computation_class!r} does not derive from a py-evm fork computation")


def untraced_opcodes(opcodes: dict[int, Any]) -> dict[int, Any]:
    """A copy of an opcode table with titanoboa's SHA3/SSTORE tracers removed."""
    table = dict(opcodes)
    for code, inner in _TRACED_OPCODES:
        while hasattr(table[code], inner):
            table[code] = getattr(table[code], inner)
    return table


def embedded_computation_class(computation_class: type) -> type:
    """The fork computation with an untraced, partly inlined opcode table, for
    ``state.computation_class``."""
    fork = fork_computation_class(computation_class)
    return type(
        f"Embedded{fork.__name__}",
        (fork,),
        {"opcodes": fast_opcodes(untraced_opcodes(fork.opcodes))},  # type: ignore[attr-defined]
    )


class _NoKeys(set[bytes]):
    """A set that stays empty (``add`` does nothing)."""

    def add(self, key: bytes) -> None:
        """Forget ``key``."""


def without_read_logs(account_db: Any) -> Any:
    """``account_db`` with py-evm's node-read logs (witness bookkeeping only) switched off."""
    account_db._raw_store_db._keys_read = _NoKeys()
    account_db._trie_logger._keys_read = _NoKeys()
    return account_db


def use_fast_keccak() -> bool:
    """Route ``eth_hash.auto.keccak`` to the pysha3 backend if it is installed; True if so."""
    try:
        from eth_hash.backends.pysha3 import PySha3Backend
    except ImportError:
        return False
    from eth_hash.auto import keccak

    backend = PySha3Backend()
    keccak.hasher = backend.keccak256  # type: ignore[assignment]
    keccak.preimage = backend.preimage  # type: ignore[assignment]
    return True
