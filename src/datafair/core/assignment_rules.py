"""A task's assignment rules: share cap, skip bound and onboarding quota, from its spec.

The rules live in the spec's ``extra`` (so they are part of what the task id binds and what a
contributor agrees to) and are checked when the task is created; a bad value is an
``InvalidInput`` naming the field, e.g. ``extra.max_share_bps: must be an integer 1..10000``.

* ``max_share_bps`` (default :data:`DEFAULT_MAX_SHARE_BPS`): the largest share of the task's
  ordinary answer slots (items × k) one contributor may take. The cap is never below
  :data:`SHARE_CAP_FLOOR` answers, so small tasks and trial runs are not blocked. It bounds
  what a single wallet (or a fast scripted one) can take of a task, so that no one wallet's
  answers dominate the inference of an item set.
* ``max_skips`` (default :data:`DEFAULT_MAX_SKIPS`): how many held items one contributor may
  give back unanswered in the task. A skipped item is never offered to the same contributor
  again, so an unbounded skip would let a contributor pick only easy items or steer
  towards the items a partner answered.
* ``onboarding_items`` N and ``onboarding_gold`` M (defaults :data:`DEFAULT_ONBOARDING_ITEMS`
  and :data:`DEFAULT_ONBOARDING_GOLD` when the task has gold items, else 0): among a
  contributor's first N assignments in the task, M are gold items, placed at random among the
  N, as qualification works on Toloka and Mechanical Turk; a new wallet is measured on known
  answers before it has earned much.
* ``assigned_only`` (default false): the task takes an answer only on an item the contributor
  holds through an assignment (:func:`datafair.services.assignment.next_item`). Otherwise an
  answer is also taken on any item with a free slot, so a wallet may choose its items: only
  easy ones, or the items a partner answered (copies then share many items, and a cluster of
  them can be the majority of their items). Holding the item makes the seeded random choice,
  the share cap and the skip bound the only way onto an item.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from datafair.core.errors import InvalidInput

DEFAULT_MAX_SHARE_BPS = 2_000
SHARE_CAP_FLOOR = 100
DEFAULT_MAX_SKIPS = 20
MAX_SKIPS_LIMIT = 100_000
DEFAULT_ONBOARDING_ITEMS = 10
DEFAULT_ONBOARDING_GOLD = 3
MAX_ONBOARDING_ITEMS = 1_000


@dataclass(frozen=True)
class AssignmentRules:
    """The assignment settings of one task (see the module docstring)."""

    max_share_bps: int = DEFAULT_MAX_SHARE_BPS
    max_skips: int = DEFAULT_MAX_SKIPS
    onboarding_items: int = 0
    onboarding_gold: int = 0
    assigned_only: bool = False

    def share_cap(self, items: int, overlap: int) -> int:
        """Most ordinary answers (and holds) one contributor may have in a task of ``items``
        ordinary items with overlap ``overlap``: ``max(⌈bps·items·k/10⁴⌉, floor)``."""
        slots = items * overlap
        return max(math.ceil(self.max_share_bps * slots / 10_000), SHARE_CAP_FLOOR)

    def onboarding_wants_gold(self, n: int, gold_so_far: int, draw: float) -> bool | None:
        """Whether assignment ``n`` (0-based) must be gold under the onboarding quota.

        ``gold_so_far`` gold assignments among the first ``n``; ``draw`` a number in [0, 1)
        from the task's seeded draw. ``None`` past the onboarding window (the task's gold
        ratio decides). Inside it, the next assignment is gold with probability
        (gold still due) / (window left), so exactly M of the first N are gold whatever the
        draws (sampling without replacement).
        """
        if n >= self.onboarding_items:
            return None
        due = self.onboarding_gold - gold_so_far
        if due <= 0:
            return False
        return draw < due / (self.onboarding_items - n)


def _integer(extra: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = extra.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"extra.{key}", f"must be an integer {low}..{high}, got {value!r}")
    return value


def _boolean(extra: dict[str, Any], key: str, default: bool) -> bool:
    value = extra.get(key, default)
    if not isinstance(value, bool):
        raise InvalidInput(f"extra.{key}", f"must be true or false, got {value!r}")
    return value


def assignment_rules(extra: dict[str, Any], *, has_gold: bool) -> AssignmentRules:
    """The rules in a spec's ``extra``; ``has_gold``: whether the task has gold items.

    ``InvalidInput`` naming the field for a value out of range, an onboarding quota larger than
    its window, or an onboarding quota on a task without gold.
    """
    share = _integer(extra, "max_share_bps", DEFAULT_MAX_SHARE_BPS, 1, 10_000)
    skips = _integer(extra, "max_skips", DEFAULT_MAX_SKIPS, 0, MAX_SKIPS_LIMIT)
    default_items = DEFAULT_ONBOARDING_ITEMS if has_gold else 0
    default_gold = DEFAULT_ONBOARDING_GOLD if has_gold else 0
    items = _integer(extra, "onboarding_items", default_items, 0, MAX_ONBOARDING_ITEMS)
    gold = _integer(extra, "onboarding_gold", default_gold, 0, MAX_ONBOARDING_ITEMS)
    if gold > items:
        raise InvalidInput(
            "extra.onboarding_gold",
            f"{gold} gold items do not fit in the first {items} (extra.onboarding_items)",
            "make onboarding_gold at most onboarding_items",
        )
    if gold and not has_gold:
        raise InvalidInput(
            "extra.onboarding_gold",
            "the task has no gold items to onboard with",
            "give gold answers and a gold_ratio, or set onboarding_gold to 0",
        )
    return AssignmentRules(share, skips, items, gold, _boolean(extra, "assigned_only", False))
