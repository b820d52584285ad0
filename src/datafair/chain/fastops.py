"""Inlined versions of py-evm's most frequent opcodes, for the embedded chain's interpreter.

py-evm runs each opcode through three layers of calls (the opcode object charges gas through
the computation and its gas meter, then calls a logic function that goes through the
computation's stack and memory helpers). Compiled Vyper spends most of its instructions on a
few opcodes: PUSH, DUP, SWAP, POP, MLOAD, MSTORE, JUMP, JUMPI, JUMPDEST and simple arithmetic
(a claim in a 1M-leaf payout tree executes ~1,500 instructions, three quarters of them of these
kinds). Each class here does the whole opcode in one call, on the same py-evm data structures
(``computation._stack.values``, ``computation._memory._bytes``, ``computation._gas_meter``),
with the same gas, the same stack limits and the same failures (out of gas, stack underflow or
overflow, invalid jump destination), so a computation behaves exactly as with py-evm's own
table. Anything rarer or dearer (storage, calls, logs, hashing, copies) stays py-evm's.

Jump destinations are analysed once per distinct code (as EVM implementations do) instead of
once per call frame.

``tests/chain/test_fastops.py`` runs random programs on both tables and compares the results.
"""

from __future__ import annotations

from typing import Any

from eth.exceptions import FullStack, InsufficientStack, InvalidJumpDestination, OutOfGas
from eth.vm.stack import to_bytes, to_int

_UINT256 = 2**256 - 1
_STACK_LIMIT = 1024
_JUMPDEST = 0x5B
_PUSH1, _PUSH32 = 0x60, 0x7F
_JUMPDESTS: dict[bytes, frozenset[int]] = {}
_JUMPDEST_CACHE_LIMIT = 4096


def jump_destinations(code: bytes) -> frozenset[int]:
    """Offsets of the JUMPDEST instructions of ``code`` (skipping PUSH data), cached."""
    found = _JUMPDESTS.get(code)
    if found is None:
        positions = []
        pc, size = 0, len(code)
        while pc < size:
            op = code[pc]
            if op == _JUMPDEST:
                positions.append(pc)
            elif _PUSH1 <= op <= _PUSH32:
                pc += op - _PUSH1 + 1
            pc += 1
        found = frozenset(positions)
        if len(_JUMPDESTS) >= _JUMPDEST_CACHE_LIMIT:
            _JUMPDESTS.clear()
        _JUMPDESTS[code] = found
    return found


class FastOpcode:
    """An opcode with a fixed base gas cost, executed in one call."""

    __slots__ = ("gas_cost", "mnemonic")

    def __init__(self, mnemonic: str, gas_cost: int) -> None:
        self.mnemonic = mnemonic
        self.gas_cost = gas_cost

    def charge(self, computation: Any) -> list[Any]:
        """Consume the base gas; returns the stack's value list."""
        meter = computation._gas_meter
        if self.gas_cost > meter.gas_remaining:
            raise OutOfGas(
                f"Out of gas: Needed {self.gas_cost} - Remaining {meter.gas_remaining}"
                f" - Reason: {self.mnemonic}"
            )
        meter.gas_remaining -= self.gas_cost
        return computation._stack.values  # type: ignore[no-any-return]

    def __call__(self, computation: Any) -> None:
        raise NotImplementedError


def _need(values: list[Any], count: int, mnemonic: str) -> None:
    if len(values) < count:
        raise InsufficientStack(f"Wanted {count} stack items for {mnemonic}, had {len(values)}")


class Numbered(FastOpcode):
    """An opcode of a numbered family (PUSHn, DUPn, SWAPn); ``n`` is its number."""

    __slots__ = ("n",)

    def __init__(self, mnemonic: str, gas_cost: int, n: int) -> None:
        super().__init__(mnemonic, gas_cost)
        self.n = n


class Push(Numbered):
    """PUSH0..PUSH32: the next ``n`` code bytes (zero-padded past the end) as bytes."""

    __slots__ = ()

    def __call__(self, computation: Any) -> None:
        values = self.charge(computation)
        if len(values) >= _STACK_LIMIT:
            raise FullStack("Stack limit reached")
        code = computation.code
        start = code.program_counter
        end = start + self.n
        code.program_counter = end
        raw = code._raw_code_bytes[start:end]
        values.append(raw if len(raw) == self.n else raw.ljust(self.n, b"\x00"))


class Dup(Numbered):
    """DUP1..DUP16: copy the ``n``-th item onto the top."""

    __slots__ = ()

    def __call__(self, computation: Any) -> None:
        values = self.charge(computation)
        if len(values) >= _STACK_LIMIT:
            raise FullStack("Stack limit reached")
        _need(values, self.n, self.mnemonic)
        values.append(values[-self.n])


class Swap(Numbered):
    """SWAP1..SWAP16: exchange the top with the item ``n`` below it."""

    __slots__ = ()

    def __call__(self, computation: Any) -> None:
        values = self.charge(computation)
        _need(values, self.n + 1, self.mnemonic)
        other = -self.n - 1
        values[-1], values[other] = values[other], values[-1]


class Pop(FastOpcode):
    """POP."""

    __slots__ = ()

    def __call__(self, computation: Any) -> None:
        values = self.charge(computation)
        _need(values, 1, self.mnemonic)
        values.pop()


class JumpDest(FastOpcode):
    """JUMPDEST: only its gas."""

    __slots__ = ()

    def __call__(self, computation: Any) -> None:
        self.charge(computation)


def _jump_to(computation: Any, destination: int) -> None:
    code = computation.code
    if destination not in jump_destinations(code._raw_code_bytes):
        raise InvalidJumpDestination("Invalid Jump Destination")
    code.program_counter = destination


class Jump(FastOpcode):
    """JUMP."""

    __slots__ = ()

    def __call__(self, computation: Any) -> None:
        values = self.charge(computation)
        _need(values, 1, self.mnemonic)
        _jump_to(computation, to_int(values.pop()))


class JumpI(FastOpcode):
    """JUMPI."""

    __slots__ = ()

    def __call__(self, computation: Any) -> None:
        values = self.charge(computation)
        _need(values, 2, self.mnemonic)
        destination = values.pop()
        if to_int(values.pop()):
            _jump_to(computation, to_int(destination))


def _fits(computation: Any, start: int) -> bool:
    """Whether a 32-byte access at ``start`` lies in memory already (no expansion, no gas)."""
    return start + 32 <= len(computation._memory._bytes)


class MLoad(FastOpcode):
    """MLOAD."""

    __slots__ = ()

    def __call__(self, computation: Any) -> None:
        values = self.charge(computation)
        _need(values, 1, self.mnemonic)
        start = to_int(values.pop())
        if not _fits(computation, start):
            computation.extend_memory(start, 32)
        values.append(bytes(computation._memory._bytes[start : start + 32]))


class MStore(FastOpcode):
    """MSTORE."""

    __slots__ = ()

    def __call__(self, computation: Any) -> None:
        values = self.charge(computation)
        _need(values, 2, self.mnemonic)
        start = to_int(values.pop())
        word = to_bytes(values.pop()).rjust(32, b"\x00")[-32:]
        if not _fits(computation, start):
            computation.extend_memory(start, 32)
        computation._memory._bytes[start : start + 32] = word


class Binary(FastOpcode):
    """A two-operand arithmetic or comparison opcode; ``a`` is the top of the stack."""

    __slots__ = ()

    def apply(self, a: int, b: int) -> int:
        raise NotImplementedError

    def __call__(self, computation: Any) -> None:
        values = self.charge(computation)
        _need(values, 2, self.mnemonic)
        a = to_int(values.pop())
        values[-1] = self.apply(a, to_int(values[-1]))


class Add(Binary):
    """ADD."""

    __slots__ = ()

    def apply(self, a: int, b: int) -> int:
        return (a + b) & _UINT256


class Sub(Binary):
    """SUB."""

    __slots__ = ()

    def apply(self, a: int, b: int) -> int:
        return (a - b) & _UINT256


class Lt(Binary):
    """LT."""

    __slots__ = ()

    def apply(self, a: int, b: int) -> int:
        return 1 if a < b else 0


class Gt(Binary):
    """GT."""

    __slots__ = ()

    def apply(self, a: int, b: int) -> int:
        return 1 if a > b else 0


class Eq(Binary):
    """EQ."""

    __slots__ = ()

    def apply(self, a: int, b: int) -> int:
        return 1 if a == b else 0


class And(Binary):
    """AND."""

    __slots__ = ()

    def apply(self, a: int, b: int) -> int:
        return a & b


class Or(Binary):
    """OR."""

    __slots__ = ()

    def apply(self, a: int, b: int) -> int:
        return a | b


class IsZero(FastOpcode):
    """ISZERO."""

    __slots__ = ()

    def __call__(self, computation: Any) -> None:
        values = self.charge(computation)
        _need(values, 1, self.mnemonic)
        values[-1] = 0 if to_int(values[-1]) else 1


def fast_opcodes(opcodes: dict[int, Any]) -> dict[int, Any]:
    """A copy of a fork's opcode table with the frequent opcodes replaced by inlined ones.

    Each replacement keeps the fork's mnemonic and base gas cost, read from ``opcodes``.
    """
    table = dict(opcodes)

    def base(code: int) -> tuple[str, int]:
        return opcodes[code].mnemonic, opcodes[code].gas_cost

    if 0x5F in opcodes:
        table[0x5F] = Push(*base(0x5F), n=0)
    for n in range(1, 33):
        table[0x5F + n] = Push(*base(0x5F + n), n=n)
    for n in range(1, 17):
        table[0x7F + n] = Dup(*base(0x7F + n), n=n)
        table[0x8F + n] = Swap(*base(0x8F + n), n=n)
    simple: dict[int, type[FastOpcode]] = {
        0x01: Add,
        0x03: Sub,
        0x10: Lt,
        0x11: Gt,
        0x14: Eq,
        0x15: IsZero,
        0x16: And,
        0x17: Or,
        0x50: Pop,
        0x51: MLoad,
        0x52: MStore,
        0x56: Jump,
        0x57: JumpI,
        0x5B: JumpDest,
    }
    for code, kind in simple.items():
        table[code] = kind(*base(code))
    return table
