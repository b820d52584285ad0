"""Whole-transaction gas from execution gas: intrinsic cost, refunds and the calldata floor.

The embedded chain executes messages, not signed transactions, so it adds what a real node
charges around the execution (Prague rules, py-evm's schedules): 21,000 base, 4/16 gas per zero/
non-zero calldata byte, 32,000 and 2 per initcode word for creations, refunds capped at a fifth
of the gas used (EIP-3529) and the EIP-7623 calldata floor.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth._utils.transactions import calculate_intrinsic_gas
from eth.constants import CREATE_CONTRACT_ADDRESS
from eth.vm.forks.istanbul.transactions import ISTANBUL_TX_GAS_SCHEDULE
from eth.vm.forks.prague.constants import STANDARD_TOKEN_COST, TOTAL_COST_FLOOR_PER_TOKEN
from eth.vm.forks.shanghai.constants import INITCODE_WORD_COST

REFUND_QUOTIENT = 5


@dataclass(frozen=True)
class _TxShape:
    to: bytes
    data: bytes


def intrinsic_gas(data: bytes, *, create: bool = False) -> int:
    """Gas a transaction pays before execution for its base cost and calldata."""
    shape = _TxShape(CREATE_CONTRACT_ADDRESS if create else b"\x01" * 20, data)
    gas: int = calculate_intrinsic_gas(ISTANBUL_TX_GAS_SCHEDULE, shape)  # type: ignore[arg-type]
    if create:
        gas += INITCODE_WORD_COST * ((len(data) + 31) // 32)
    return gas


def floor_gas(data: bytes) -> int:
    """The EIP-7623 minimum a transaction with this calldata pays."""
    zeros = data.count(0)
    tokens = zeros + (len(data) - zeros) * STANDARD_TOKEN_COST
    return ISTANBUL_TX_GAS_SCHEDULE.gas_tx + TOTAL_COST_FLOOR_PER_TOKEN * tokens


def transaction_gas(data: bytes, execution_gas: int, refund: int, *, create: bool = False) -> int:
    """Whole-transaction gas: intrinsic + execution - capped refund, at least the floor."""
    used = intrinsic_gas(data, create=create) + execution_gas
    used -= min(refund, used // REFUND_QUOTIENT)
    return max(used, floor_gas(data))
