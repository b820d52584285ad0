"""The platform fee and the split of one payout into contributor amounts and fee.

The fee is a share of the *gross* amount a payout takes from a task's escrow, in basis points
(1 bps = 0.01 %). The escrow contract (``TaskEscrow.vy``) accepts a payout of ``total`` to
contributors plus ``fee`` only when ``fee * 10_000 <= (total + fee) * fee_bps`` and its
``fee_bps`` can never exceed the constant ``MAX_FEE_BPS = 500`` (5 %); this module applies the
same rule so that every payout it builds is one the contract accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from datafair.core.errors import InvalidInput
from datafair.economics._checks import BPS, amount, basis_points
from datafair.economics.apportion import apportion

MAX_FEE_BPS = 500
"""Hard cap of the platform fee (5 % of a payout's gross); the escrow contract's constant."""

DEFAULT_FEE_BPS = 250
"""Default platform fee: 2.5 % of a payout's gross."""

Key = TypeVar("Key", int, str)


def check_fee_bps(fee_bps: object) -> int:
    """``fee_bps`` as an int, or ``InvalidInput`` unless ``0 <= fee_bps <= MAX_FEE_BPS``."""
    return basis_points(fee_bps, "fee_bps", MAX_FEE_BPS)


def fee_for(gross: int, fee_bps: int) -> int:
    """The fee on a payout taking ``gross`` base units: ``floor(gross * fee_bps / 10_000)``.

    Rounding down means the fee never exceeds its rate, so the contract's check holds.
    """
    return amount(gross, "gross") * check_fee_bps(fee_bps) // BPS


@dataclass(frozen=True)
class Payout(Generic[Key]):
    """One payout out of a task's escrow.

    ``gross`` is what the rewards took from the budget; ``fee`` goes to the fee recipient;
    ``total`` (= ``gross - fee``) is split among contributors as ``amounts`` (sorted by key,
    zero amounts kept so every contributor can see their line); ``unearned`` (= ``budget -
    gross``) stays in escrow for refund. Always ``total + fee + unearned == budget``.
    """

    budget: int
    gross: int
    fee: int
    total: int
    unearned: int
    fee_bps: int
    amounts: dict[Key, int]


def split_payout(budget: int, rewards: Mapping[Key, int], fee_bps: int) -> Payout[Key]:
    """Take the fee out of earned ``rewards`` and give each contributor the rest pro rata.

    ``budget`` is what the escrow holds for these rewards; ``rewards`` maps each contributor
    (address or index; keys must be of one sortable type) to the gross base units earned. The
    fee is :func:`fee_for` of the gross; the net ``gross - fee`` is apportioned by the gross
    rewards with the largest-remainder rule, ties going to the smaller key. Raises
    ``InvalidInput`` when the rewards exceed the budget or any amount is negative.
    """
    budget = amount(budget, "budget")
    fee_bps = check_fee_bps(fee_bps)
    keys = sorted(rewards)
    gross_rewards = [amount(rewards[key], f"rewards[{key!r}]") for key in keys]
    gross = sum(gross_rewards)
    if gross > budget:
        raise InvalidInput(
            "rewards",
            f"sum to {gross}, more than the budget of {budget}",
            "never promise more than the escrow holds",
        )
    fee = fee_for(gross, fee_bps)
    total = gross - fee
    net = apportion(total, gross_rewards)
    return Payout(
        budget=budget,
        gross=gross,
        fee=fee,
        total=total,
        unearned=budget - gross,
        fee_bps=fee_bps,
        amounts=dict(zip(keys, net, strict=True)),
    )
