"""The authorization matrix: every role × resource × action, against the expected decision."""

from __future__ import annotations

import pytest

from datafair.api.policies import (
    ANONYMOUS,
    RULES,
    Actor,
    authorize,
)
from datafair.core.errors import Forbidden, Unauthenticated

REQUESTER = "0x1111111111111111111111111111111111111111"
CONTRIBUTOR = "0x2222222222222222222222222222222222222222"
OTHER = "0x3333333333333333333333333333333333333333"
OPERATOR = "0x4444444444444444444444444444444444444444"

ROLES = {
    "anonymous": ANONYMOUS,
    "requester": Actor(REQUESTER),
    "contributor": Actor(CONTRIBUTOR),
    "other": Actor(OTHER),
    "operator": Actor(OPERATOR, operator=True),
}

# action -> (arguments of its rule, the roles allowed)
MATRIX: list[tuple[str, tuple[object, ...], set[str]]] = [
    ("read public", (), {"anonymous", "requester", "contributor", "other", "operator"}),
    ("upload dataset", (), {"requester", "contributor", "other", "operator"}),
    ("create task", (), {"requester", "contributor", "other", "operator"}),
    ("take item", (), {"requester", "contributor", "other", "operator"}),
    ("submit as", (CONTRIBUTOR,), {"contributor"}),
    ("review as", (CONTRIBUTOR,), {"contributor"}),
    ("claim for", (CONTRIBUTOR,), {"contributor"}),
    ("fund task", (REQUESTER,), {"requester"}),
    ("close task", (REQUESTER,), {"requester"}),
    ("fund task", (None,), set()),  # a task made from the CLI has no requester
    ("read task answers", (REQUESTER,), {"requester", "operator"}),
    ("read quality report", (REQUESTER,), {"requester", "operator"}),
    ("export task", (REQUESTER,), {"requester", "operator"}),
    ("read answers of", (CONTRIBUTOR, REQUESTER, False), {"contributor", "requester", "operator"}),
    (
        "read answers of",
        (CONTRIBUTOR, REQUESTER, True),
        {"anonymous", "requester", "contributor", "other", "operator"},
    ),
    ("read gold", (False,), set()),  # before settlement: nobody, not even the requester
    ("read gold", (True,), {"anonymous", "requester", "contributor", "other", "operator"}),
    ("settle", (), {"operator"}),
]


@pytest.mark.parametrize(("action", "args", "allowed"), MATRIX)
@pytest.mark.parametrize("role", sorted(ROLES))
def test_matrix(role: str, action: str, args: tuple[object, ...], allowed: set[str]) -> None:
    actor = ROLES[role]
    rule = RULES[action](*args)
    if role in allowed:
        authorize(actor, rule, action)
        return
    expected = Unauthenticated if role == "anonymous" else Forbidden
    with pytest.raises(expected, match=r"^(session|account): "):
        authorize(actor, rule, action)


def test_every_rule_is_in_the_matrix() -> None:
    assert {action for action, _, _ in MATRIX} == set(RULES)


def test_addresses_compare_without_case() -> None:
    assert RULES["submit as"](CONTRIBUTOR.upper().replace("0X", "0x"))(Actor(CONTRIBUTOR))
    assert not Actor(None).is_address(None)
