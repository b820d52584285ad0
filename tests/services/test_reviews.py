"""Review service: which submission a reviewer gets, signed reviews, every refusal stores nothing,
and reviews as evidence and pay columns."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from datafair.core.errors import Conflict, InvalidInput, NotFound, SignatureError
from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.task import TaskSpec
from datafair.crypto.eip712 import SubmissionDomain, sign_review
from datafair.services.inference import infer_task
from datafair.services.reviews import (
    infer_with_reviews,
    next_review,
    review_message,
    review_pay_columns,
    reviews_per_submission,
    signed_review,
    submit_review,
    submit_reviews,
    task_reviews,
)
from datafair.services.submissions import submit
from datafair.services.tasks import close_task, create_task
from datafair.store.models import Review, Submission


def _reviews(session) -> int:
    return int(session.scalar(select(func.count()).select_from(Review)) or 0)


def _answer(session, task, contributors, labels, clock, *, item=0):
    """Submit ``labels[j]`` by contributor ``j`` on item ``item``; the submission ids."""
    return [
        submit(
            session,
            contributors[j].sign(task.info, task.items[item], label, 100 + item),
            clock=clock,
        )
        for j, label in enumerate(labels)
    ]


def _review(session, task, submission_id, contributor, verdict="accept", rating=None):
    return signed_review(
        session, task.task_id, submission_id, contributor.key, verdict=verdict, rating=rating
    )


def test_next_review_skips_own_answered_and_reviewed_submissions(
    session, make_task, contributors, clock
):
    task = make_task(2, overlap=2)
    first = _answer(session, task, contributors, ["pos", "neg"], clock)
    second = _answer(session, task, contributors[2:], ["pos"], clock, item=1)
    # contributors 0 and 1 answered item 0: only item 1's submission is theirs to review
    for reviewer in contributors[:2]:
        target = next_review(session, task.task_id, reviewer.address)
        assert target is not None and target.submission_id == second[0]
    # contributor 2 answered item 1: gets item 0's submissions
    target = next_review(session, task.task_id, contributors[2].address)
    assert target is not None and target.submission_id == first[0]
    assert target.answer == "pos" and target.text == "text 0-0" and target.reviews == 0
    submit_review(session, _review(session, task, first[0], contributors[5]), clock=clock)
    # the started submission comes first for others, the next one for its reviewer
    started = next_review(session, task.task_id, contributors[6].address)
    assert started is not None and (started.submission_id, started.reviews) == (first[0], 1)
    mine = next_review(session, task.task_id, contributors[5].address)
    assert mine is not None and mine.submission_id == first[1]


def test_each_submission_takes_the_configured_number_of_reviews(
    session, make_task, contributors, clock
):
    task = make_task(1, overlap=1)
    (only,) = _answer(session, task, contributors, ["pos"], clock)
    for reviewer in contributors[1:4]:
        target = next_review(session, task.task_id, reviewer.address)
        assert target is not None and target.submission_id == only
        submit_review(session, _review(session, task, only, reviewer), clock=clock)
    assert next_review(session, task.task_id, contributors[4].address) is None
    assert next_review(session, task.task_id, contributors[4].address, per_submission=4)
    with pytest.raises(Conflict, match="already has its 3 reviews"):
        submit_review(session, _review(session, task, only, contributors[4]), clock=clock)
    assert _reviews(session) == 3


def test_a_stored_review_keeps_its_verdict_rating_and_signature(
    session, make_task, contributors, clock
):
    task = make_task(1, overlap=1)
    (only,) = _answer(session, task, contributors, ["pos"], clock)
    entry = _review(session, task, only, contributors[3], verdict="reject", rating=2)
    review_id = submit_review(session, entry, clock=clock)
    review = session.get(Review, review_id)
    assert (review.reviewer, review.verdict, review.rating) == (
        contributors[3].address,
        "reject",
        2,
    )
    assert review.signature == entry.signature and review.created_at == int(clock.now * 1000)
    rated = _review(session, task, only, contributors[4], verdict=None, rating=5)
    assert session.get(Review, submit_review(session, rated, clock=clock)).verdict is None


def _bad_entries(task, other_task, only, contributors, session):
    good = _review(session, task, only, contributors[5])
    signature = bytes(good.signature)  # type: ignore[arg-type]
    wrong_chain = sign_review(
        contributors[5].key,
        SubmissionDomain(530),
        review_message(
            task.task_id,
            session.get(Submission, only).signature,
            contributors[5].address,
            "accept",
            None,
        ),
    )
    return [
        (dataclasses.replace(good, task_id=b"\x01" * 32), NotFound, "no task"),
        (dataclasses.replace(good, task_id="0x12"), InvalidInput, "^task_id:"),
        (dataclasses.replace(good, reviewer="0x1234"), InvalidInput, "^reviewer:"),
        (dataclasses.replace(good, verdict="maybe"), InvalidInput, "^verdict:"),
        (dataclasses.replace(good, verdict=None, rating=None), InvalidInput, "^verdict:"),
        (dataclasses.replace(good, rating=6), InvalidInput, "^rating:"),
        (dataclasses.replace(good, rating=True), InvalidInput, "^rating:"),
        (dataclasses.replace(good, signature="0xzz"), InvalidInput, "^signature:"),
        (dataclasses.replace(good, signature=signature[:64]), InvalidInput, "^signature:"),
        (dataclasses.replace(good, submission_id="1"), InvalidInput, "^submission_id:"),
        (dataclasses.replace(good, submission_id=10**9), NotFound, "no submission"),
        (dataclasses.replace(good, task_id=other_task.task_id), NotFound, "no submission"),
        (dataclasses.replace(good, verdict="reject"), SignatureError, "not by the reviewer"),
        (dataclasses.replace(good, reviewer=contributors[6].address), SignatureError, "not by"),
        (dataclasses.replace(good, signature=wrong_chain), SignatureError, "not by the reviewer"),
        (_review(session, task, only, contributors[0]), Conflict, "their own submission"),
        (_review(session, task, only, contributors[1]), Conflict, "answered item"),
    ]


def test_every_refusal_stores_nothing(session, make_task, contributors, clock):
    task = make_task(1, overlap=2)
    other = make_task(1, overlap=1)
    _answer(session, other, contributors[2:], ["neg"], clock)
    only, _ = _answer(session, task, contributors, ["pos", "neg"], clock)
    for entry, error, message in _bad_entries(task, other, only, contributors, session):
        with pytest.raises(error, match=message):
            submit_review(session, entry, clock=clock)
        assert _reviews(session) == 0
    results = submit_reviews(
        session, [entry for entry, _, _ in _bad_entries(task, other, only, contributors, session)]
    )
    assert not any(result.ok for result in results) and _reviews(session) == 0


def test_a_replayed_review_is_refused(session, make_task, contributors, clock):
    task = make_task(1, overlap=1)
    (only,) = _answer(session, task, contributors, ["pos"], clock)
    entry = _review(session, task, only, contributors[5])
    results = submit_reviews(session, [entry, entry], clock=clock)
    assert results[0].ok and results[0].review_id is not None
    assert isinstance(results[1].error, Conflict) and "a replay" in str(results[1].error)
    assert _reviews(session) == 1


def test_a_closed_task_takes_no_reviews(session, make_task, contributors, clock):
    task = make_task(1, overlap=1)
    (only,) = _answer(session, task, contributors, ["pos"], clock)
    entry = _review(session, task, only, contributors[5])
    close_task(session, task.task_id, clock=clock)
    with pytest.raises(Conflict, match="closed"):
        submit_review(session, entry, clock=clock)
    with pytest.raises(Conflict, match="closed"):
        next_review(session, task.task_id, contributors[5].address)
    assert _reviews(session) == 0


@pytest.mark.parametrize("value", [0, 21, "3", True])
def test_the_number_of_reviews_per_submission_is_checked(value: object) -> None:
    spec = TaskSpec(
        dataset_cid="bafk",
        title="t",
        schema=LabelSchema(TaskType.CLASSIFICATION, ("a", "b")),
        extra={"reviews_per_submission": value},
    )
    with pytest.raises(InvalidInput, match=r"^extra.reviews_per_submission:"):
        reviews_per_submission(spec)


def test_next_review_refuses_a_task_whose_spec_asks_an_impossible_count(
    session, text_dataset, contributors, clock
):
    spec = TaskSpec(
        dataset_cid=text_dataset(["x"]),
        title="t",
        schema=LabelSchema(TaskType.CLASSIFICATION, ("a", "b")),
        extra={"reviews_per_submission": 0},
    )
    info = create_task(session, spec, clock=clock)
    with pytest.raises(InvalidInput, match="reviews_per_submission"):
        next_review(session, info.task_id, contributors[0].address)


def test_reviews_are_evidence_for_inference_and_columns_for_pay(
    session, make_task, contributors, clock
):
    task = make_task(1, overlap=3)
    pos_a, pos_b, neg = _answer(session, task, contributors, ["pos", "pos", "neg"], clock)
    plain = infer_task(session, task.task_id, method="mv")
    assert plain.label_of() == {task.items[0]: "pos"}
    assert infer_with_reviews(session, task.task_id, method="mv").label_of() == plain.label_of()
    for reviewer in contributors[5:8]:
        for submission_id, verdict in ((pos_a, "reject"), (pos_b, "reject"), (neg, "accept")):
            submit_review(
                session, _review(session, task, submission_id, reviewer, verdict), clock=clock
            )
    result = infer_with_reviews(session, task.task_id, method="mv")
    assert result.label_of() == {task.items[0]: "neg"}
    assert {skill.worker for skill in result.skills} == {c.address for c in contributors[:3]}
    assert result.items[0].contributors == plain.items[0].contributors
    reviews = task_reviews(session, task.task_id)
    assert len(reviews) == 9 and reviews.verdicts.count(False) == 6
    accounts = {c.address: i for i, c in enumerate(contributors)}
    columns = review_pay_columns(
        reviews, result, item_index={task.items[0]: 0}, account_index=accounts
    )
    assert list(columns.agreement) == [1.0] * 9  # every verdict agrees with "neg"
    assert list(columns.reviewer) == [5, 5, 5, 6, 6, 6, 7, 7, 7]
    against_plain = review_pay_columns(
        reviews, plain, item_index={task.items[0]: 0}, account_index=accounts
    )
    assert list(against_plain.agreement) == [0.0] * 9
    with pytest.raises(InvalidInput, match=r"^reviews:"):
        review_pay_columns(reviews, result, item_index={}, account_index=accounts)


def test_a_batch_decides_each_entry_against_the_ones_before_it(
    session, make_task, contributors, clock
):
    task = make_task(2, overlap=1)
    (first,) = _answer(session, task, contributors, ["pos"], clock)
    (second,) = _answer(session, task, contributors, ["neg"], clock, item=1)
    entries = [_review(session, task, first, reviewer) for reviewer in contributors[1:5]]
    entries.insert(2, _review(session, task, second, contributors[1], "reject"))
    entries.append(entries[0])
    results = submit_reviews(session, entries, clock=clock)
    assert [result.ok for result in results] == [True, True, True, True, False, False]
    assert "already has its 3 reviews" in str(results[4].error)
    assert "a replay" in str(results[5].error)
    stored = {
        review.id: (review.submission_id, review.reviewer, review.verdict)
        for review in session.scalars(select(Review))
    }
    assert [stored[result.review_id] for result in results[:4]] == [
        (first, contributors[1].address, "accept"),
        (first, contributors[2].address, "accept"),
        (second, contributors[1].address, "reject"),
        (first, contributors[3].address, "accept"),
    ]


def test_a_simulated_crowd_reviews_through_the_service(session, make_task, clock):
    from datafair.services.reviews import sign_and_submit_reviews
    from datafair.services.signing import signed_submission
    from datafair.services.submissions import list_submissions, submit_many
    from datafair.sim import ContributorKind, make_population
    from datafair.sim.reviewers import plan_reviews

    population = make_population(
        2, {ContributorKind.SKILLED: 5, ContributorKind.SPAMMER: 1}, seed=4
    )
    task = make_task(6, overlap=2)
    truth = {cid: ("pos" if i % 2 else "neg") for i, cid in enumerate(task.items)}
    entries = [
        signed_submission(
            session, task.task_id, cid, truth[cid], who.private_key, nonce=i, duration_ms=1000
        )
        for i, cid in enumerate(task.items)
        for who in population.contributors[i % 3 : i % 3 + 2]
    ]
    assert all(result.ok for result in submit_many(session, entries, clock=clock))
    columns = list_submissions(session, task.task_id)
    plan = plan_reviews(
        population,
        columns.contributors,
        columns.item_cids,
        columns.decoded_answers(),
        truth,
        per_submission=2,
    )
    requests = [
        (columns.ids[review.row], review.reviewer.private_key, review.verdict, None)
        for review in plan
    ]
    requests.append((10**9, population.contributors[0].private_key, "accept", None))
    requests.append((columns.ids[0], population.contributors[5].private_key, "maybe", None))
    results = sign_and_submit_reviews(session, task.task_id, requests, clock=clock)
    assert [result.ok for result in results] == [True] * len(plan) + [False, False], [
        str(r.error) for r in results if r.error
    ]
    assert isinstance(results[-2].error, NotFound) and isinstance(results[-1].error, InvalidInput)
    assert _reviews(session) == len(plan) == 2 * len(columns)


def test_a_reviewer_handed_an_answer_may_no_longer_answer_its_item(
    session, make_task, contributors, clock
):
    """No peeking: c2 sees c1's answer to item 0 in the review queue, then cannot answer item 0
    (one-line refusal, nothing stored), is never assigned it, and still answers item 1."""
    from datafair.services.assignment import next_item

    task = make_task(2, overlap=3)
    (first,) = _answer(session, task, contributors, ["pos"], clock)
    target = next_review(session, task.task_id, contributors[2].address)
    assert target is not None and target.submission_id == first and target.answer == "pos"
    with pytest.raises(Conflict, match="for review, so may no longer answer it") as refused:
        submit(session, contributors[2].sign(task.info, task.items[0], "pos", 7), clock=clock)
    assert "\n" not in str(refused.value)
    assert session.scalar(select(func.count()).select_from(Submission)) == 1
    offered = next_item(session, task.task_id, contributors[2].address, clock=clock)
    assert offered is not None and offered.item_cid == task.items[1]
    assert next_item(session, task.task_id, contributors[2].address, clock=clock) is None
    submit(session, contributors[2].sign(task.info, task.items[1], "neg", 8), clock=clock)


def test_an_accepted_review_excludes_its_reviewer_from_the_item(
    session, make_task, contributors, clock
):
    task = make_task(1, overlap=3)
    (first,) = _answer(session, task, contributors, ["pos"], clock)
    submit_review(session, _review(session, task, first, contributors[3]), clock=clock)
    with pytest.raises(Conflict, match="may no longer answer it"):
        submit(session, contributors[3].sign(task.info, task.items[0], "neg", 9), clock=clock)


def test_an_item_the_reviewer_holds_is_not_handed_to_them_for_review(
    session, make_task, contributors, clock
):
    from datafair.services.assignment import next_item

    task = make_task(1, overlap=3)
    _answer(session, task, contributors, ["pos"], clock)
    held = next_item(session, task.task_id, contributors[4].address, clock=clock)
    assert held is not None and held.item_cid == task.items[0]
    assert next_review(session, task.task_id, contributors[4].address) is None
    submit(session, contributors[4].sign(task.info, task.items[0], "neg", 10), clock=clock)
