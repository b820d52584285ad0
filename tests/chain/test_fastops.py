"""The inlined opcodes behave exactly as py-evm's own: random programs run on both tables."""

from __future__ import annotations

from typing import Any

import pytest
from boa.util.abi import Address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datafair.chain.embedded import EmbeddedChain
from datafair.chain.fastops import fast_opcodes, jump_destinations
from datafair.chain.interpreter import fork_computation_class, untraced_opcodes

CALLER = "0x" + "0c" * 20
TARGET = "0x" + "0d" * 20
GAS = 30_000

PUSH0, PUSH1, PUSH2, PUSH32 = 0x5F, 0x60, 0x61, 0x7F
JUMP, JUMPI, JUMPDEST, RETURN, MSIZE = 0x56, 0x57, 0x5B, 0xF3, 0x59
PLAIN = [0x01, 0x03, 0x10, 0x11, 0x14, 0x15, 0x16, 0x17, 0x50, 0x51, 0x52, JUMPDEST, MSIZE]
PLAIN += list(range(0x80, 0xA0))  # DUP1..16, SWAP1..16

_CHAIN = EmbeddedChain(None)
_FORK = fork_computation_class(_CHAIN._evm.vm.state.computation_class)
_STOCK = type("Stock", (_FORK,), {"opcodes": untraced_opcodes(_FORK.opcodes)})  # type: ignore[attr-defined]
_FAST = type("Fast", (_FORK,), {"opcodes": fast_opcodes(untraced_opcodes(_FORK.opcodes))})  # type: ignore[attr-defined]

small_push = st.tuples(st.just(PUSH1), st.integers(0, 96).map(lambda v: bytes([v])))
OPCODES = [*PLAIN, PUSH0, JUMP, JUMPI, *range(PUSH1, PUSH32 + 1)] + [PUSH1] * 12


def _with_data(op: int) -> st.SearchStrategy[tuple[int, bytes]]:
    """An instruction: PUSH1 mostly pushes small numbers (memory offsets), PUSHn random bytes."""
    if op == PUSH1:
        return st.one_of(small_push, st.tuples(st.just(op), st.binary(min_size=1, max_size=1)))
    size = op - PUSH1 + 1 if PUSH1 <= op <= PUSH32 else 0
    return st.tuples(st.just(op), st.binary(min_size=size, max_size=size))


instruction = st.sampled_from(OPCODES).flatmap(_with_data)


@st.composite
def programs(draw: st.DrawFn) -> bytes:
    """Random instruction sequences; jumps mostly aim at real JUMPDESTs, some not."""
    operands = draw(st.lists(small_push, min_size=0, max_size=10))  # something to work on
    body = operands + draw(st.lists(instruction, min_size=1, max_size=60))
    code = bytearray()
    offsets = []
    for op, data in body:
        offsets.append(len(code))
        if op in (JUMP, JUMPI):
            code += bytes([PUSH2]) + b"\x00\x00"  # target patched below
        code += bytes([op]) + data
    dests = sorted(jump_destinations(bytes(code))) or [0]
    for (op, _), at in zip(body, offsets, strict=True):
        if op in (JUMP, JUMPI):
            aim = draw(st.one_of(st.sampled_from(dests), st.integers(0, len(code) + 4)))
            code[at + 1 : at + 3] = aim.to_bytes(2, "big")
    if draw(st.booleans()):  # a truncated PUSH at the end reads zeros past the code
        size = draw(st.integers(1, 32))
        code += bytes([PUSH1 + size - 1]) + draw(st.binary(max_size=size - 1))
    else:
        code += bytes([PUSH1, 0x40, PUSH0, RETURN])
    return bytes(code)


def _run(computation_class: type, code: bytes, calldata: bytes) -> dict[str, Any]:
    """Execute ``code`` with ``computation_class``; the outcome, the state left untouched."""
    evm = _CHAIN._evm
    state = evm.vm.state
    chain_class, state.computation_class = state.computation_class, computation_class
    evm.reset_access_counters()  # before the snapshot: it replaces the access journal
    snapshot = state.snapshot()
    try:
        sender, target = Address(CALLER), Address(TARGET)
        c = evm.execute_code(sender, target, GAS, 0, 0, code, calldata, False, None, 0, None, None)
        outcome: dict[str, Any] = {
            "error": c.is_error,
            "gas_left": c.get_gas_remaining(),
            "output": bytes(c.output or b""),
        }
        if not c.is_error:
            outcome["stack"] = [_int(v) for v in c._stack.values]
            outcome["memory"] = bytes(c._memory._bytes)
        return outcome
    finally:
        state.revert(snapshot)
        state.computation_class = chain_class


def _int(value: int | bytes) -> int:
    return value if isinstance(value, int) else int.from_bytes(value, "big")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(code=programs(), calldata=st.binary(max_size=40))
def test_fast_opcodes_match_py_evm(code: bytes, calldata: bytes) -> None:
    assert _run(_FAST, code, calldata) == _run(_STOCK, code, calldata)


@pytest.mark.parametrize("op", [0x51, 0x52])  # MLOAD, MSTORE
def test_memory_growth_matches_py_evm_at_every_offset(op: int) -> None:
    for offset in range(0, 100):
        touch = bytes([PUSH1, 0x07, PUSH0, 0x52])  # MSTORE at 0: memory is one word
        access = bytes([PUSH1, 0x2A, PUSH1, offset, op])
        code = touch + access + bytes([0x59, PUSH1, 0x40, PUSH0, RETURN])  # MSIZE, return
        assert _run(_FAST, code, b"") == _run(_STOCK, code, b""), offset


@pytest.mark.parametrize("op", [PUSH0, PUSH1, 0x80, 0x59])  # PUSH0, PUSH1, DUP1, MSIZE
def test_a_full_stack_fails_as_in_py_evm(op: int) -> None:
    fill = bytes([PUSH0]) * 1024
    code = fill + bytes([op, 0x00] if op == PUSH1 else [op])
    fast = _run(_FAST, code, b"")
    assert fast == _run(_STOCK, code, b"") and fast["error"]


def test_jump_destinations_skip_push_data() -> None:
    code = bytes([PUSH2, JUMPDEST, JUMPDEST, JUMPDEST, PUSH1, 0x00, JUMPDEST])
    assert jump_destinations(code) == frozenset({3, 6})


def test_the_embedded_chain_runs_the_fast_table() -> None:
    table = _CHAIN._evm.vm.state.computation_class.opcodes
    assert type(table[PUSH1]).__module__ == "datafair.chain.fastops"
    fork = _FORK.opcodes  # type: ignore[attr-defined]
    for code in (PUSH0, PUSH1, PUSH32, 0x51, 0x52, JUMP, JUMPI, JUMPDEST, 0x80, 0x90, 0x01):
        assert (table[code].mnemonic, table[code].gas_cost) == (
            fork[code].mnemonic,
            fork[code].gas_cost,
        )
