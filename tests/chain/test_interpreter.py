"""The embedded chain's execution set-up: plain fork computation, no read logs, C keccak."""

from __future__ import annotations

import boa
from eth_hash.auto import keccak

from datafair.chain.embedded import EmbeddedChain
from datafair.chain.interpreter import (
    embedded_computation_class,
    fork_computation_class,
    untraced_opcodes,
    use_fast_keccak,
)

from .test_embedded import ALICE, OWNER, _token

EMPTY_KECCAK = "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


def test_titanoboa_tracers_are_peeled_however_often_envs_wrapped_them() -> None:
    boa.Env()
    boa.Env()  # each Env wraps the shared table once more
    computation = boa.Env().evm.vm.state.computation_class
    traced = fork_computation_class(computation).opcodes  # type: ignore[attr-defined]
    assert type(traced[0x20]).__module__.startswith("boa")
    clean = untraced_opcodes(traced)
    assert type(clean[0x20]).__module__.startswith("eth.")
    assert type(clean[0x55]).__module__.startswith("eth.")
    embedded = embedded_computation_class(computation)
    assert fork_computation_class(embedded) is fork_computation_class(computation)


def test_the_chain_keeps_no_read_log() -> None:
    chain = EmbeddedChain(None)
    token = _token(chain)
    for _ in range(3):
        token.mint(ALICE, 1, sender=OWNER)
    account_db = chain._state._account_db
    assert account_db._raw_store_db.keys_read == frozenset()
    assert account_db._trie_logger.keys_read == frozenset()
    assert token.balance_of(ALICE) == 3


def test_fast_keccak_is_keccak() -> None:
    assert use_fast_keccak()
    assert keccak(b"").hex() == EMPTY_KECCAK
    assert keccak(b"abc").hex() == (
        "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    )
