"""Thin evidence is paid later, not never: hold the uncertain part of a contributor's pay.

Rule, per account of one epoch (integers in token base units, certainties in basis points):

* ``pool = gross + carried``: what the epoch's rewards give the account plus what earlier
  epochs held for it and did not release;
* a spam-flagged account's pool is forfeited (it stays in escrow for the requester's refund,
  as all unearned money does; its gross is already 0 in settlement);
* otherwise ``paid = pool * certainty // 10_000`` is paid now and ``held = pool - paid`` stays
  in escrow, reserved for the account, and carried into the next epoch.

``certainty`` is 10 000 once the evidence about the account suffices, and otherwise the share of
their pay the lower bound of their skill interval supports (:func:`certainty_bps`); in either
case at most ``1 − doubt``, the account's spam score over the spam threshold, so pay falls
continuously to nothing as the evidence that the account ignores the items nears the line at
which it is flagged (no cliff for a guesser to sit just below), and what is held is released
once later answers clear the doubt. Evidence
suffices at ``min_answers`` answers: the task's setting, or by default
(:func:`default_min_answers`) 30 answers, capped at half the answers of the *typical*
contributor — the account that gave the median answer, so the typical contributor of any task,
however small, is paid in full, while a swarm of wallets with a few answers each (sybils)
cannot lower the bar: the median is taken over answers, not over wallets. As the
evidence grows, a later epoch's certainty rises and the held money is paid with that epoch's
leaves. Conservation: ``Σ gross + Σ carried = Σ paid + Σ held + forfeited``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import accumulate

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
    n_answers: int,
    accuracy: float,
    low: float,
    chance: float,
    *,
    min_answers: int,
    doubt: float = 0.0,
) -> int:
    """Basis points of an account's pay that its evidence supports now.

    10 000 with at least ``min_answers`` answers; otherwise the lower bound of the skill
    interval's margin over ``chance`` relative to the estimate's, ``(low − chance) /
    (accuracy − chance)``, clipped to ``[0, 1]``; in both cases at most ``1 − doubt``
    (``doubt``: the spam score over the spam threshold, clipped to ``[0, 1]``); rounded
    down."""
    cap = 1.0 - min(max(doubt, 0.0), 1.0)
    if n_answers >= min_answers:
        return int(cap * BPS)
    margin = accuracy - chance
    if margin <= 0.0:
        return 0
    share = min(max((low - chance) / margin, 0.0), cap)
    return int(share * BPS)


def default_min_answers(answers_per_account: list[int], ceiling: int) -> int:
    """``min(ceiling, m // 2)`` with ``m`` the answers of the account holding the median answer
    (accounts sorted by answers; the answer-weighted median), 0 when there are no answers."""
    counts = sorted(count for count in answers_per_account if count > 0)
    if not counts:
        return 0
    total = sum(counts)
    median = next(
        c for c, seen in zip(counts, accumulate(counts), strict=True) if 2 * seen >= total
    )
    return min(ceiling, median // 2)


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


__all__ = ["HeldPay", "certainty_bps", "default_min_answers", "hold_uncertain_pay"]
