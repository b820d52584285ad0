"""Who may do what: one small rule per permission, and ``authorize`` that enforces one.

A rule is a function of the resource that returns a predicate over the ``Actor`` (the signed-in
wallet, or an anonymous caller). A handler loads the resource, calls
``authorize(actor, rule(resource))`` and then one service; a refused anonymous caller gets
``Unauthenticated`` (401), a refused signed-in one ``Forbidden`` (403).

The rules (tested as a matrix, role × resource × action, in ``tests/api/test_policies.py``):

* anyone reads public things: open tasks, dataset cards, published payout bundles and their
  audit, chain addresses, the fee;
* a signed-in wallet uploads datasets, creates tasks (it becomes their requester), takes items
  and reviews, and submits answers and reviews signed by itself only;
* only a task's requester funds it, closes it, and reads its answers, quality report and
  exports (the operator too, for support and settlement);
* a contributor sees their own answers, and others' only once the epoch's bundle that pays
  them is published;
* gold answers never leave the server before settlement publishes them (in the bundle): no rule
  grants them, whoever asks;
* only an operator (``DATAFAIR_OPERATORS``) settles;
* relayed claims pay the signed-in wallet's own leaves only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from datafair.core.errors import Forbidden, Unauthenticated


@dataclass(frozen=True)
class Actor:
    """Who is calling: a checksummed address (``None`` when not signed in), and whether that
    address is one of the market's operators."""

    address: str | None = None
    operator: bool = False

    @property
    def signed_in(self) -> bool:
        return self.address is not None

    def is_address(self, other: str | None) -> bool:
        return (
            self.address is not None and other is not None and self.address.lower() == other.lower()
        )


ANONYMOUS = Actor()
Predicate = Callable[[Actor], bool]


def anyone() -> Predicate:
    """Public reads."""
    return lambda actor: True


def signed_in() -> Predicate:
    """Any wallet that signed in."""
    return lambda actor: actor.signed_in


def acting_as(address: str) -> Predicate:
    """The caller is ``address`` (a signed message's contributor, reviewer or claimant)."""
    return lambda actor: actor.is_address(address)


def requester_of(requester: str | None) -> Predicate:
    """The task's requester (a task created from the CLI has none: only operators)."""
    return lambda actor: actor.is_address(requester)


def requester_or_operator(requester: str | None) -> Predicate:
    """The task's requester, or an operator."""
    return lambda actor: actor.operator or actor.is_address(requester)


def operator() -> Predicate:
    """A market operator."""
    return lambda actor: actor.signed_in and actor.operator


def answers_of(contributor: str, requester: str | None, published: bool) -> Predicate:
    """One contributor's answers on a task: theirs to see, the requester's and operators', and
    everyone's once the bundle paying them is published."""
    return lambda actor: (
        published or actor.is_address(contributor) or requester_or_operator(requester)(actor)
    )


def gold_answers(published: bool) -> Predicate:
    """Gold answers: public once a published bundle reveals them; before that, nobody's."""
    return lambda actor: published


# The rule each action uses, by name: what the matrix test walks and the docs list.
RULES: dict[str, Callable[..., Predicate]] = {
    "read public": anyone,
    "upload dataset": signed_in,
    "create task": signed_in,
    "take item": signed_in,
    "submit as": acting_as,
    "review as": acting_as,
    "claim for": acting_as,
    "fund task": requester_of,
    "close task": requester_of,
    "read task answers": requester_or_operator,
    "read quality report": requester_or_operator,
    "export task": requester_or_operator,
    "read answers of": answers_of,
    "read gold": gold_answers,
    "settle": operator,
}


def authorize(actor: Actor, rule: Predicate, action: str) -> None:
    """Raise unless ``rule`` allows ``actor``; ``action`` words the error."""
    if rule(actor):
        return
    if not actor.signed_in:
        raise Unauthenticated(
            f"session: sign in to {action} (POST /api/v1/auth/sign-in with a SIWE message)"
        )
    raise Forbidden(f"account: {actor.address} may not {action}")
