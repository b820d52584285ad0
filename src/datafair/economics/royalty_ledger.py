"""The royalty accounting of DatasetMarket in integers: a sale's split and one release's ledger.

A sale of ``price`` splits into ``fee = price * fee_bps // 10_000``, the contributors' pool
``price * royalty_bps // 10_000`` and the rest to the release's owner (:func:`sale_split`).

Per release, :class:`RoyaltyLedger` keeps what the contract keeps: a cumulative accumulator
``acc`` (royalty per unit of weight, scaled by ``ACC_SCALE = 10**18``), grown by each pool as
``acc += (pool * ACC_SCALE + carry) // total_weight`` with the remainder ``carry`` kept for the
next pool; pools that arrive before the weights are committed are ``held`` and enter the
accumulator at the commitment. An account with weight ``w`` is entitled to
``w * acc // ACC_SCALE`` in all, and a claim pays that less what it was already paid.

Invariant (exact, in base units scaled by ``ACC_SCALE``):
``acc * total_weight + carry == (received - held) * ACC_SCALE``. Hence the entitlements of all
accounts sum to at most ``received - held``, and what nobody can claim yet (the *dust*) is below
``carry / ACC_SCALE + n_accounts``, i.e. below ``total_weight / 10**18 + n_accounts`` base
units; it stays in the accounting, and the carry part is paid out with later sales.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACC_SCALE = 10**18
"""Scale of the accumulator (DatasetMarket's ``ACC_SCALE``)."""
BPS = 10_000


def sale_split(price: int, fee_bps: int, royalty_bps: int) -> tuple[int, int, int]:
    """``(fee, royalty_pool, to_owner)`` of one sale at ``price``, as DatasetMarket pays it."""
    if price < 0 or not 0 <= fee_bps <= BPS or not 0 <= royalty_bps <= BPS - fee_bps:
        raise ValueError("price must be >= 0 and fee_bps + royalty_bps at most 10,000")
    fee = price * fee_bps // BPS
    pool = price * royalty_bps // BPS
    return fee, pool, price - fee - pool


def dust_bound(total_weight: int, n_accounts: int) -> int:
    """The largest dust a release with these weights can hold: ``ceil(total / 1e18) + n``."""
    return -(-total_weight // ACC_SCALE) + n_accounts


@dataclass
class RoyaltyLedger:
    """One release's royalty accounting (what DatasetMarket stores for it)."""

    total_weight: int = 0
    acc: int = 0
    carry: int = 0
    held: int = 0
    received: int = 0
    paid: dict[str, int] = field(default_factory=dict)

    def commit(self, total_weight: int) -> None:
        """Commit the weights' total; royalties held until now enter the accumulator."""
        if self.total_weight or total_weight <= 0:
            raise ValueError("weights are committed once, with a positive total")
        self.total_weight = total_weight
        if self.held:
            scaled = self.held * ACC_SCALE
            self.acc, self.carry = divmod(scaled, total_weight)
            self.held = 0

    def credit(self, pool: int) -> None:
        """Add one sale's royalty pool."""
        if pool < 0:
            raise ValueError("a pool is not negative")
        self.received += pool
        if not self.total_weight:
            self.held += pool
            return
        step, self.carry = divmod(pool * ACC_SCALE + self.carry, self.total_weight)
        self.acc += step

    def entitled(self, weight: int) -> int:
        """Everything ``weight`` has earned so far."""
        return weight * self.acc // ACC_SCALE

    def claimable(self, account: str, weight: int) -> int:
        """What a claim by ``account`` with ``weight`` pays now."""
        return max(0, self.entitled(weight) - self.paid.get(account, 0))

    def claim(self, account: str, weight: int) -> int:
        """Pay ``account`` what it is owed; returns the amount."""
        amount = self.claimable(account, weight)
        if amount:
            self.paid[account] = self.entitled(weight)
        return amount

    @property
    def claimed(self) -> int:
        """Everything paid to contributors."""
        return sum(self.paid.values())

    def dust(self, weights: dict[str, int]) -> int:
        """What nobody can claim yet: received − held − every account's entitlement."""
        return self.received - self.held - sum(self.entitled(w) for w in weights.values())
