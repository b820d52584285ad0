"""Thin evidence is paid later, not never: hold the uncertain part of a contributor's pay.

Rule, per account of one epoch (integers in token base units, certainties in basis points):

* ``pool = gross + carried``: what the epoch's rewards give the account plus what earlier
  epochs held for it and did not release;
* a spam-flagged account's pool is forfeited (it stays in escrow for the requester's refund,
  as all unearned money does; its gross is already 0 in settlement);
* otherwise ``paid = pool * certainty // 10_000`` is paid now and ``held = pool - paid`` stays
  in escrow, reserved for the account, and carried into the next epoch.

``certainty`` is 10 000 once the evidence about the account suffices, and otherwise the share of
their pay the lower bound of their skill interval supports (:func:`certainty_bps`). As the
evidence grows, a later epoch's certainty rises and the held money is paid with that epoch's
leaves. Conservation: ``Σ gross + Σ carried = Σ paid + Σ held + forfeited``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from datafair.economics._checks import BPS, amount


@dataclass(frozen=True)
class HeldPay:
    """Per account: ``paid`` now (gross, before the fee), ``held`` for later, what was
    ``carried`` in and how much of it was ``released``; ``forfeited`` is the pool of
    spam-flagged accounts."""

    paid: dict[str, int]
    held: dict[str, int]
    carried: dict[str, int]
    released: dict[str, int]
    forfeited: int

    @property
    def held_total(self) -> int:
        return sum(self.held.values())

    @property
    def carried_total(self) -> int:
        return sum(self.carried.values())


def certainty_bps(
    n_answers: int, accuracy: float, low: float, chance: float, *, min_answers: int
) -> int:
    """Basis points of an account's pay that its evidence supports now.

    10 000 with at least ``min_answers`` answers; otherwise the lower bound of the skill
    interval's margin over ``chance`` relative to the estimate's, ``(low − chance) /
    (accuracy − chance)``, clipped to ``[0, 1]`` and rounded down."""
    if n_answers >= min_answers:
        return BPS
    margin = accuracy - chance
    if margin <= 0.0:
        return 0
    share = min(max((low - chance) / margin, 0.0), 1.0)
    return int(share * BPS)


def hold_uncertain_pay(
    gross: Mapping[str, int],
    carried: Mapping[str, int],
    certainty: Mapping[str, int],
    spam: frozenset[str],
) -> HeldPay:
    """Apply the module rule. ``certainty`` defaults to 10 000 for accounts it omits."""
    paid: dict[str, int] = {}
    held: dict[str, int] = {}
    released: dict[str, int] = {}
    forfeited = 0
    for account in sorted(set(gross) | set(carried)):
        new = amount(gross.get(account, 0), f"gross[{account}]")
        before = amount(carried.get(account, 0), f"held[{account}]")
        if account in spam:
            forfeited += new + before
            paid[account] = 0
            continue
        bps = certainty.get(account, BPS)
        if not 0 <= bps <= BPS:
            raise ValueError(f"certainty of {account} is {bps}, not in 0..{BPS}")
        pool = new + before
        now = pool * bps // BPS
        paid[account] = now
        if pool - now:
            held[account] = pool - now
        if before and now > new:
            released[account] = min(before, now - new)
    return HeldPay(
        paid=paid,
        held=held,
        carried={a: v for a, v in sorted(carried.items()) if v},
        released=released,
        forfeited=forfeited,
    )


__all__ = ["HeldPay", "certainty_bps", "hold_uncertain_pay"]
