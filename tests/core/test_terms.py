"""Task terms: deadlines within ten years, token amounts and budgets within uint256."""

from __future__ import annotations

import pytest

from datafair.core.errors import InvalidInput
from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import TaskSpec
from datafair.core.terms import (
    MAX_TASK_SECONDS,
    MAX_UINT256,
    task_budget,
    task_deadline,
    token_amount,
)

NOW = 1_800_000_000.0


def test_deadlines_in_the_next_ten_years_pass_and_zero_means_none() -> None:
    assert task_deadline(0, NOW) == 0
    assert task_deadline(int(NOW) + 1, NOW) == int(NOW) + 1
    assert task_deadline(int(NOW) + MAX_TASK_SECONDS, NOW) == int(NOW) + MAX_TASK_SECONDS


@pytest.mark.parametrize(
    ("deadline", "problem"),
    [
        (int(NOW), "is not in the future"),  # +0d
        (int(NOW) - 86_400, "is not in the future"),
        (int(NOW) + MAX_TASK_SECONDS + 1, "more than ten years away"),
        (10**20, "is not a Unix time"),
        (-1, "is not a Unix time"),
    ],
)
def test_bad_deadlines_name_the_field_and_the_fix(deadline: int, problem: str) -> None:
    with pytest.raises(InvalidInput, match=rf"^deadline: .*{problem}.*\(give a"):
        task_deadline(deadline, NOW)


def test_token_amounts_fit_uint256() -> None:
    assert token_amount(MAX_UINT256, "amount") == MAX_UINT256
    with pytest.raises(InvalidInput, match=r"^amount: .* above 2\*\*256-1.*\(give a smaller"):
        token_amount(MAX_UINT256 + 1, "amount")
    with pytest.raises(InvalidInput, match=r"^amount: must be a positive integer"):
        token_amount(0, "amount", positive=True)
    with pytest.raises(InvalidInput, match="integer"):
        token_amount(True, "amount")


def test_a_budget_above_uint256_names_the_largest_price() -> None:
    assert task_budget(10, 4, 3) == 120
    price = MAX_UINT256 // 12 + 1
    with pytest.raises(InvalidInput, match=rf"at most {MAX_UINT256 // 12}\)$"):
        task_budget(price, 4, 3)


def test_task_spec_refuses_a_price_above_uint256_and_an_unstorable_deadline() -> None:
    spec = {
        "dataset_cid": "bafk",
        "title": "t",
        "schema": LabelSchema(TaskType.CLASSIFICATION, ("a", "b")),
    }
    with pytest.raises(InvalidInput, match=r"^price_per_answer: .* above 2\*\*256-1"):
        TaskSpec(**spec, price_per_answer=2**256)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=r"^deadline: .* is not a Unix time"):
        TaskSpec(**spec, deadline=2**63)  # type: ignore[arg-type]
