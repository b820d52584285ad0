"""Reputation service: evidence per task replaces the task's earlier share, pools by task type,
spam pauses, minimum reputation enforced in next_item, and every refusal changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from datafair.core.errors import Conflict, InvalidInput, NotFound
from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import TaskSpec
from datafair.economics import Evidence, Reputation, evidence_from_skill
from datafair.services.assignment import next_item
from datafair.services.inference import infer_task
from datafair.services.reputation import (
    epoch_evidence,
    evidence_from_labels,
    is_paused,
    lift_pause,
    pause_spammers,
    paused_on,
    record_evidence,
    reputation_of,
    reputations,
    require_eligible_for,
    update_reputations,
    update_reputations_from_bundle,
    update_reputations_from_epoch,
)
from datafair.services.submissions import submit
from datafair.services.tasks import create_task
from datafair.store.models import Assignment
from datafair.store.reputation_models import ContributorReputation, TaskStanding


def _rows(session) -> tuple[int, int, int]:
    count = lambda model: int(session.scalar(select(func.count()).select_from(model)) or 0)  # noqa: E731
    return count(ContributorReputation), count(TaskStanding), count(Assignment)


def _task_with_extra(session, text_dataset, clock, extra, *, n=3, name="t"):
    spec = TaskSpec(
        dataset_cid=text_dataset([f"{name} {i}" for i in range(n)]),
        title=name,
        schema=LabelSchema(TaskType.CLASSIFICATION, ("pos", "neg")),
        overlap=3,
        price_per_answer=10,
        extra=extra,
    )
    return create_task(session, spec, clock=clock)


def test_an_inference_result_becomes_pooled_evidence_once(session, make_task, contributors, clock):
    task = make_task(4, overlap=3)
    for i, cid in enumerate(task.items):
        for j, contributor in enumerate(contributors[:3]):
            label = "neg" if j == 2 and i % 2 else "pos"
            submit(session, contributor.sign(task.info, cid, label, i), clock=clock)
    result = infer_task(session, task.task_id)
    changed = update_reputations(session, task.task_id, result, clock=clock)
    assert set(changed) == {c.address for c in contributors[:3]}
    for skill in result.skills:
        expected = evidence_from_skill(skill.accuracy, skill.n_answers)
        record = reputation_of(session, skill.worker, "classification")
        assert (record.correct_units, record.answers, record.settlements) == (
            expected.correct_units,
            expected.answers,
            1,
        )
        assert 0.0 < record.low < record.mean
    # recording the same result again changes nothing
    assert update_reputations(session, task.task_id, result, clock=clock) == {}
    assert reputation_of(session, contributors[0].address, TaskType.CLASSIFICATION).settlements == 1
    assert reputations(session, "preference") == {}


def test_a_later_settlement_of_a_task_replaces_its_share_and_other_tasks_add(
    session, make_task, contributors, clock
):
    first, second = make_task(1), make_task(1)
    who = contributors[0].address
    record_evidence(session, first.task_id, {who: Evidence(8_000_000, 10)}, clock=clock)
    record_evidence(session, first.task_id, {who: Evidence(12_000_000, 15)}, clock=clock)
    assert reputation_of(session, who, "classification") == Reputation(12_000_000, 15, 2)
    record_evidence(session, second.task_id, {who.lower(): Evidence(5_000_000, 5)}, clock=clock)
    assert reputation_of(session, who, "classification") == Reputation(17_000_000, 20, 3)
    # accuracy can also fall: the share is replaced, not added
    record_evidence(session, first.task_id, {who: Evidence(3_000_000, 15)}, clock=clock)
    assert reputation_of(session, who, "classification") == Reputation(8_000_000, 20, 4)
    assert reputation_of(session, contributors[1].address, "classification") == Reputation()


def test_spammers_are_paused_on_their_task_and_next_item_names_why(
    session, make_task, contributors, clock
):
    task, other = make_task(3), make_task(3)
    spammer, honest = contributors[0].address, contributors[1].address
    record_evidence(
        session,
        task.task_id,
        {spammer: Evidence(0, 4), honest: Evidence(4_000_000, 4)},
        spammers=[spammer],
        clock=clock,
    )
    assert is_paused(session, task.task_id, spammer) and not is_paused(
        session, task.task_id, honest
    )
    assert paused_on(session, task.task_id) == {
        spammer: "flagged as a spammer by the quality engine"
    }
    with pytest.raises(Conflict, match="paused on this task") as refused:
        next_item(session, task.task_id, spammer, clock=clock)
    assert str(refused.value).count("\n") == 0 and spammer in str(refused.value)
    assert _rows(session)[2] == 0
    assert next_item(session, task.task_id, honest, clock=clock) is not None
    assert next_item(session, other.task_id, spammer, clock=clock) is not None  # only that task
    # a later settlement does not lift the pause; the operator does
    record_evidence(session, task.task_id, {spammer: Evidence(4_000_000, 4)}, clock=clock)
    assert is_paused(session, task.task_id, spammer)
    assert lift_pause(session, task.task_id, spammer, clock=clock)
    assert not lift_pause(session, task.task_id, spammer, clock=clock)
    assert next_item(session, task.task_id, spammer, clock=clock) is not None


def test_pause_spammers_counts_new_pauses(session, make_task, contributors, clock):
    task = make_task(2)
    addresses = [c.address for c in contributors[:2]]
    assert pause_spammers(session, task.task_id, addresses, clock=clock) == 2
    assert pause_spammers(session, task.task_id, [addresses[0].lower()], clock=clock) == 0
    assert set(paused_on(session, task.task_id)) == set(addresses)


def test_a_task_minimum_reputation_admits_only_contributors_above_it(
    session, text_dataset, make_task, contributors, clock
):
    strict = _task_with_extra(session, text_dataset, clock, {"min_reputation_bps": 5000})
    proven, newcomer = contributors[0].address, contributors[1].address
    with pytest.raises(Conflict, match="reputation 250 bps is below the task's minimum of 5000"):
        next_item(session, strict.task_id, newcomer, clock=clock)
    earlier = make_task(1)
    record_evidence(session, earlier.task_id, {proven: Evidence(95_000_000, 100)}, clock=clock)
    assert reputation_of(session, proven, "classification").score_bps >= 5000
    assert next_item(session, strict.task_id, proven, clock=clock) is not None
    require_eligible_for(session, strict.task_id, proven.lower())
    with pytest.raises(Conflict, match="below the task's minimum"):
        require_eligible_for(session, strict.task_id, newcomer)


@pytest.mark.parametrize("value", [-1, 10_001, "5000", True, 0.5])
def test_a_malformed_minimum_is_named_and_nothing_is_held(
    session, text_dataset, contributors, clock, value
):
    task = _task_with_extra(session, text_dataset, clock, {"min_reputation_bps": value})
    with pytest.raises(InvalidInput, match=r"^extra\.min_reputation_bps:"):
        next_item(session, task.task_id, contributors[0].address, clock=clock)
    assert _rows(session) == (0, 0, 0)


def test_evidence_from_labels_counts_answers_equal_to_the_label() -> None:
    found = evidence_from_labels(["a", "a", "b", "a"], ["x", "y", "x", "x"], ["x", "x", "x", "z"])
    assert found == {"a": Evidence(1_000_000, 3), "b": Evidence(1_000_000, 1)}


def test_a_settlement_bundle_updates_reputations(session, make_task, contributors, clock):
    task = make_task(2)
    a, b = contributors[0].address, contributors[1].address
    document = {
        "task": {"task_id": "0x" + task.task_id.hex()},
        "submissions": {
            "accounts": [a, b],
            "contributor": [0, 1, 0, 1],
            "item": [0, 0, 1, 1],
            "answer": ['"pos"', '"neg"', '"neg"', '"pos"'],
        },
        "inferred": {"labels": ["pos", "neg"], "spammers": [b]},
    }
    update_reputations_from_bundle(session, document, clock=clock)
    assert reputation_of(session, a, "classification") == Reputation(2_000_000, 2, 1)
    assert reputation_of(session, b, "classification") == Reputation(0, 2, 1)
    assert is_paused(session, task.task_id, b) and not is_paused(session, task.task_id, a)


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"inferred": {"labels": ["pos"], "spammers": []}},  # item 1 has no label
        {"submissions": {"accounts": [], "contributor": [0], "item": [0], "answer": ["x"]}},
    ],
)
def test_a_garbled_bundle_is_refused_and_changes_nothing(
    session, make_task, contributors, clock, broken
):
    task = make_task(2)
    document = {
        "task": {"task_id": "0x" + task.task_id.hex()},
        "submissions": {
            "accounts": [contributors[0].address],
            "contributor": [0, 0],
            "item": [0, 1],
            "answer": ['"pos"', '"neg"'],
        },
        "inferred": {"labels": ["pos", "neg"], "spammers": []},
    }
    document.update(broken)
    if not broken:
        del document["inferred"]
    with pytest.raises(InvalidInput, match=r"^bundle:"):
        update_reputations_from_bundle(session, document, clock=clock)
    assert _rows(session) == (0, 0, 0)


def test_bad_input_is_named_and_changes_nothing(session, make_task, contributors, clock):
    task = make_task(1)
    good = contributors[0].address
    cases = [
        (
            lambda: record_evidence(session, b"\x01" * 32, {good: Evidence(0, 1)}),
            NotFound,
            "no task",
        ),
        (
            lambda: record_evidence(session, task.task_id, {"0x12": Evidence(0, 1)}),
            InvalidInput,
            "^contributor:",
        ),
        (
            lambda: record_evidence(session, task.task_id, {good: Evidence(0, 1)}, spammers=["zz"]),
            InvalidInput,
            "^contributor:",
        ),
        (
            lambda: pause_spammers(session, task.task_id, [good], reason=""),
            InvalidInput,
            "^reason:",
        ),
        (
            lambda: pause_spammers(session, task.task_id, [good, "0x1"]),
            InvalidInput,
            "^contributor:",
        ),
        (lambda: lift_pause(session, "0x00", good), InvalidInput, "^task_id:"),
        (lambda: reputation_of(session, good, "poetry"), InvalidInput, "^task_type:"),
        (lambda: is_paused(session, b"\x02" * 32, good), NotFound, "no task"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()
        assert _rows(session) == (0, 0, 0)


def test_epoch_evidence_compares_canonical_texts_like_decoded_answers() -> None:
    accounts = ["0xA", "0xB", "0xC"]
    contributor, item = [0, 1, 0, 1, 2], [0, 0, 1, 1, 1]
    answers = ['"pos"', '"neg"', '"neg"', '"neg"', '"pos"']
    labels = ["pos", "neg"]
    found = epoch_evidence(accounts, contributor, item, answers, labels)
    decoded = [a.strip('"') for a in answers]
    assert found == evidence_from_labels(
        [accounts[c] for c in contributor], decoded, [labels[i] for i in item]
    )
    assert found["0xA"] == Evidence(2_000_000, 2) and found["0xC"] == Evidence(0, 1)


@pytest.mark.parametrize(
    "columns",
    [
        (["0xA"], [0, 0], [0], ['"pos"'], ["pos"]),  # lengths differ
        (["0xA"], [0], [1], ['"pos"'], ["pos"]),  # item without a label
        (["0xA"], [1], [0], ['"pos"'], ["pos"]),  # contributor without an account
    ],
)
def test_epoch_evidence_refuses_misaligned_columns(columns) -> None:
    with pytest.raises(InvalidInput, match=r"^submissions:"):
        epoch_evidence(*columns)


def test_an_epoch_is_recorded_once(session, make_task, contributors, clock):
    task = make_task(2)
    a, b = contributors[0].address, contributors[1].address
    columns = ([a, b], [0, 1, 0], [0, 0, 1], ['"pos"', '"neg"', '"pos"'], ["pos", "neg"])
    first = update_reputations_from_epoch(session, task.task_id, columns, [b], clock=clock)
    assert first == {a: Reputation(1_000_000, 2, 1), b: Reputation(0, 1, 1)}
    assert update_reputations_from_epoch(session, task.task_id, columns, [b], clock=clock) == {}
    assert is_paused(session, task.task_id, b)


def test_direct_submissions_of_blocked_contributors_are_refused_and_not_stored(
    session, text_dataset, make_task, contributors, clock
):
    from datafair.services.submissions import submit_many
    from datafair.store.models import Submission

    task = make_task(2)
    spammer, honest = contributors[0], contributors[1]
    pause_spammers(session, task.task_id, [spammer.address], clock=clock)
    results = submit_many(
        session,
        [
            spammer.sign(task.info, task.items[0], "pos", 1),
            honest.sign(task.info, task.items[0], "pos", 1),
        ],
        clock=clock,
    )
    assert not results[0].ok and "paused on this task" in str(results[0].error)
    assert results[1].ok
    strict = _task_with_extra(session, text_dataset, clock, {"min_reputation_bps": 300})
    with pytest.raises(Conflict, match="below the task's minimum of 300 bps"):
        submit(session, honest.sign(strict, strict_item(session, strict), "pos", 1), clock=clock)
    assert session.scalar(select(func.count()).select_from(Submission)) == 1


def strict_item(session, info) -> str:
    from datafair.services.tasks import load_task
    from datafair.store.repositories import TaskRepository

    return TaskRepository(session).item_cids(load_task(session, info.task_id).id)[0]
