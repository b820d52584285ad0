"""Signed submissions: accepted answers are stored for audit; every refusal stores nothing."""

from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import func, select

from datafair.core.canonical import canonical_json, keccak256
from datafair.core.errors import Conflict, InvalidInput, NotFound, SignatureError
from datafair.core.schemas import TaskType
from datafair.crypto.cid import compute_cid
from datafair.crypto.eip712 import SubmissionDomain, SubmissionMessage, verify_submission
from datafair.services.submissions import (
    SubmissionInput,
    list_submissions,
    submit,
    submit_many,
    task_answers,
)
from datafair.services.tasks import close_task, task_progress
from datafair.store.db import Database, make_engine, make_session_factory
from datafair.store.models import Submission


def _stored(session) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(Submission)) or 0)


def test_an_accepted_submission_is_stored_with_its_canonical_answer_and_signature(
    session, make_task, contributors, clock
):
    task = make_task(n=2)
    alice = contributors[0]
    entry = alice.sign(task.info, task.items[0], "pos", 7, duration_ms=2300)
    submission_id = submit(session, entry, clock=clock)
    columns = list_submissions(session, task.task_id)
    assert columns.ids == [submission_id]
    assert columns.item_cids == [task.items[0]]
    assert columns.contributors == [alice.address]
    assert columns.answers == ['"pos"']
    assert columns.answer_hashes == [keccak256(b'"pos"')]
    assert columns.signatures == [entry.signature]
    assert (columns.nonces, columns.durations_ms) == ([7], [2300])
    assert columns.accepted_at == [int(clock() * 1000)]
    # anyone can re-verify a stored submission from the listing alone
    message = SubmissionMessage(
        task.task_id, columns.item_cids[0], columns.answer_hashes[0], alice.address, 7, 2300
    )
    verify_submission(SubmissionDomain(task.info.spec.chain_id), message, columns.signatures[0])
    assert task_progress(session, task.task_id).answers == 1


def test_answers_are_canonicalised_before_hashing(session, make_task, contributors, clock):
    task = make_task(n=1, task_type=TaskType.MULTILABEL, classes=("a", "b", "c"))
    alice = contributors[0]
    signed = alice.sign(task.info, task.items[0], ["a", "c"], 1)  # the canonical order
    shuffled = dataclasses.replace(signed, answer=["c", "a"], answer_hash=None)
    submit(session, shuffled, clock=clock)
    assert list_submissions(session, task.task_id).decoded_answers() == [["a", "c"]]


def test_span_answers_are_checked_against_the_text(session, make_task, contributors, clock):
    task = make_task(texts=["Ada Lovelace wrote"], task_type=TaskType.SPANS, classes=("PER",))
    alice = contributors[0]
    span = [{"start": 0, "end": 12, "label": "PER"}]
    submit(session, alice.sign(task.info, task.items[0], span, 1), clock=clock)
    bob = contributors[1]
    too_long = [{"start": 0, "end": 99, "label": "PER"}]
    with pytest.raises(InvalidInput, match="out of range"):
        submit(session, bob.sign(task.info, task.items[0], too_long, 1), clock=clock)
    assert _stored(session) == 1


def test_the_whole_uint64_nonce_range_is_accepted(session, make_task, contributors, clock):
    task = make_task(n=2)
    alice = contributors[0]
    submit(session, alice.sign(task.info, task.items[0], "pos", 0), clock=clock)
    submit(session, alice.sign(task.info, task.items[1], "neg", 2**64 - 1), clock=clock)
    assert sorted(list_submissions(session, task.task_id).nonces) == [0, 2**64 - 1]


def test_hex_task_ids_hashes_and_signatures_are_accepted(session, make_task, contributors, clock):
    task = make_task(n=1)
    signed = contributors[0].sign(task.info, task.items[0], "neg", 3)
    as_hex = dataclasses.replace(
        signed,
        task_id="0x" + task.task_id.hex(),
        signature="0x" + bytes(signed.signature).hex(),
        answer_hash="0x" + bytes(signed.answer_hash).hex(),  # type: ignore[arg-type]
    )
    assert submit(session, as_hex, clock=clock) > 0


def test_task_answers_gives_items_submissions_and_gold(session, make_task, contributors, clock):
    task = make_task(n=3, gold={0: "neg"}, gold_ratio=0.2)
    for number, cid in enumerate(task.items):
        submit(session, contributors[number].sign(task.info, cid, "pos", 1), clock=clock)
    answers = task_answers(session, task.task_id)
    assert answers.task == task.info
    assert answers.item_cids == task.items
    assert answers.gold == {task.items[0]: "neg"}
    assert answers.submissions.item_cids == task.items


def test_an_acknowledged_submission_survives_losing_the_process_state(
    db: Database, make_task, contributors, clock, session
):
    task = make_task(n=1)
    submit(session, contributors[0].sign(task.info, task.items[0], "pos", 1), clock=clock)
    session.close()
    db.engine.dispose()  # every connection of this "process" is gone
    if db.dialect == "sqlite":
        fresh = make_engine(db.engine.url.render_as_string(hide_password=False))
    else:
        fresh = db.engine
    with make_session_factory(fresh)() as other:
        assert len(list_submissions(other, task.task_id)) == 1
    if fresh is not db.engine:
        fresh.dispose()


# --------------------------------------------------------------------------- refusals


def test_an_unknown_task_is_not_found(session, make_task, contributors, clock):
    task = make_task(n=1)
    entry = dataclasses.replace(
        contributors[0].sign(task.info, task.items[0], "pos", 1), task_id=bytes(32)
    )
    with pytest.raises(NotFound, match="task_id: no task"):
        submit(session, entry, clock=clock)
    with pytest.raises(InvalidInput, match="task_id"):
        submit(session, dataclasses.replace(entry, task_id="0x12"), clock=clock)
    assert _stored(session) == 0


def test_an_unknown_item_is_not_found(session, make_task, contributors, clock):
    task = make_task(n=1)
    entry = contributors[0].sign(task.info, compute_cid(b"never stored"), "pos", 1)
    with pytest.raises(NotFound, match="item_cid: no item"):
        submit(session, entry, clock=clock)
    assert _stored(session) == 0


def test_an_item_of_another_task_is_refused(session, make_task, contributors, clock):
    task, other = make_task(n=1), make_task(n=1)
    entry = contributors[0].sign(task.info, other.items[0], "pos", 1)
    with pytest.raises(InvalidInput, match="not part of task"):
        submit(session, entry, clock=clock)
    assert _stored(session) == 0


def test_a_malformed_item_cid_is_refused(session, make_task, contributors, clock):
    task = make_task(n=1)
    entry = dataclasses.replace(
        contributors[0].sign(task.info, task.items[0], "pos", 1), item_cid="../etc/passwd"
    )
    with pytest.raises(InvalidInput, match="item_cid"):
        submit(session, entry, clock=clock)
    assert _stored(session) == 0


def test_an_unknown_class_is_refused(session, make_task, contributors, clock):
    task = make_task(n=1)
    with pytest.raises(InvalidInput, match="unknown class 'meh'"):
        submit(session, contributors[0].sign(task.info, task.items[0], "meh", 1), clock=clock)
    assert _stored(session) == 0


def test_a_mismatched_answer_hash_is_refused(session, make_task, contributors, clock):
    task = make_task(n=1)
    signed = contributors[0].sign(task.info, task.items[0], "pos", 1)
    entry = dataclasses.replace(signed, answer="neg")  # hash and signature are for "pos"
    with pytest.raises(InvalidInput, match="answer_hash"):
        submit(session, entry, clock=clock)
    assert _stored(session) == 0


def test_an_answer_swapped_after_signing_fails_the_signature(
    session, make_task, contributors, clock
):
    task = make_task(n=1)
    signed = contributors[0].sign(task.info, task.items[0], "pos", 1)
    entry = dataclasses.replace(signed, answer="neg", answer_hash=None)
    with pytest.raises(SignatureError):
        submit(session, entry, clock=clock)
    assert _stored(session) == 0


def test_a_signature_by_another_key_is_refused(session, make_task, contributors, clock):
    task = make_task(n=1)
    mallory_signed = contributors[1].sign(task.info, task.items[0], "pos", 1)
    entry = dataclasses.replace(mallory_signed, contributor=contributors[0].address)
    with pytest.raises(SignatureError, match="not by the contributor"):
        submit(session, entry, clock=clock)
    assert _stored(session) == 0


def test_a_signature_for_another_task_is_refused(session, make_task, contributors, clock):
    task, other = make_task(n=1), make_task(n=1)
    entry = contributors[0].sign(task.info, task.items[0], "pos", 1, task_id=other.task_id)
    with pytest.raises(SignatureError):
        submit(session, entry, clock=clock)
    assert _stored(session) == 0


def test_a_signature_for_another_chain_is_refused(session, make_task, contributors, clock):
    task = make_task(n=1, chain_id=530)
    entry = contributors[0].sign(task.info, task.items[0], "pos", 1, chain_id=1)
    with pytest.raises(SignatureError):
        submit(session, entry, clock=clock)
    assert _stored(session) == 0


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        ({"signature": b"\x01" * 64}, SignatureError, "65 bytes"),
        ({"signature": "0xnothex"}, InvalidInput, "signature"),
        ({"signature": 12}, InvalidInput, "signature"),
        ({"contributor": "0x1234"}, InvalidInput, "contributor"),
        ({"nonce": -1}, InvalidInput, "nonce"),
        ({"nonce": 2**64}, InvalidInput, "nonce"),
        ({"nonce": "1"}, InvalidInput, "nonce"),
        ({"duration_ms": 2**32}, InvalidInput, "duration_ms"),
        ({"duration_ms": True}, InvalidInput, "duration_ms"),
        ({"answer_hash": "0xzz"}, InvalidInput, "answer_hash"),
        ({"answer_hash": 5}, InvalidInput, "answer_hash"),
    ],
)
def test_malformed_fields_are_refused(
    session, make_task, contributors, clock, change, error, field
):
    task = make_task(n=1)
    entry = dataclasses.replace(contributors[0].sign(task.info, task.items[0], "pos", 1), **change)
    with pytest.raises(error, match=field):
        submit(session, entry, clock=clock)
    assert _stored(session) == 0


def test_a_replayed_nonce_is_refused(session, make_task, contributors, clock):
    task = make_task(n=2)
    alice = contributors[0]
    submit(session, alice.sign(task.info, task.items[0], "pos", 5), clock=clock)
    with pytest.raises(Conflict, match="nonce: 5 was already used"):
        submit(session, alice.sign(task.info, task.items[1], "pos", 5), clock=clock)
    with pytest.raises(Conflict, match="already used"):  # the very same signed message again
        submit(session, alice.sign(task.info, task.items[0], "pos", 5), clock=clock)
    assert _stored(session) == 1


def test_answering_the_same_item_twice_is_refused(session, make_task, contributors, clock):
    task = make_task(n=1)
    alice = contributors[0]
    submit(session, alice.sign(task.info, task.items[0], "pos", 1), clock=clock)
    with pytest.raises(Conflict, match="already answered"):
        submit(session, alice.sign(task.info, task.items[0], "neg", 2), clock=clock)
    assert _stored(session) == 1


def test_a_closed_task_takes_no_answers(session, make_task, contributors, clock):
    task = make_task(n=1)
    close_task(session, task.task_id, clock=clock)
    with pytest.raises(Conflict, match="closed"):
        submit(session, contributors[0].sign(task.info, task.items[0], "pos", 1), clock=clock)
    assert _stored(session) == 0


def test_a_task_past_its_deadline_takes_no_answers(session, make_task, contributors, clock):
    task = make_task(n=1, deadline=int(clock()) + 30)
    entry = contributors[0].sign(task.info, task.items[0], "pos", 1)
    clock.advance(30)
    with pytest.raises(Conflict, match="deadline"):
        submit(session, entry, clock=clock)
    assert _stored(session) == 0


def test_an_item_with_k_answers_takes_no_more(session, make_task, contributors, clock):
    task = make_task(n=1, overlap=2)
    for number in range(2):
        submit(session, contributors[number].sign(task.info, task.items[0], "pos", 1), clock=clock)
    with pytest.raises(Conflict, match="already has its 2 answers"):
        submit(session, contributors[2].sign(task.info, task.items[0], "pos", 1), clock=clock)
    assert _stored(session) == 2
    assert task_progress(session, task.task_id).answers == 2


def test_free_slots_exclude_those_held_by_others(session, make_task, contributors, clock):
    from datafair.services.assignment import next_item

    task = make_task(n=1, overlap=1)
    assert next_item(session, task.task_id, contributors[0].address, clock=clock) is not None
    with pytest.raises(Conflict, match="already has its 1 answers"):
        submit(session, contributors[1].sign(task.info, task.items[0], "pos", 1), clock=clock)
    assert _stored(session) == 0


def test_an_assigned_only_task_takes_answers_only_on_held_items(
    session, make_task, contributors, clock
):
    from datafair.services.assignment import next_item

    task = make_task(n=3, overlap=2, extra={"assigned_only": True})
    with pytest.raises(Conflict, match=r"does not hold item .*assigned to the contributor"):
        submit(session, contributors[0].sign(task.info, task.items[0], "pos", 1), clock=clock)
    assert _stored(session) == 0
    held = next_item(session, task.task_id, contributors[0].address, clock=clock)
    assert held is not None
    others = [cid for cid in task.items if cid != held.item_cid]
    with pytest.raises(Conflict, match="does not hold item"):
        submit(session, contributors[0].sign(task.info, others[0], "pos", 2), clock=clock)
    submit(session, contributors[0].sign(task.info, held.item_cid, "pos", 3), clock=clock)
    assert _stored(session) == 1
    # the same answers on a task without the rule are taken on any free slot
    open_task = make_task(n=3, overlap=2)
    submit(session, contributors[0].sign(open_task.info, open_task.items[0], "pos", 1), clock=clock)
    assert _stored(session) == 2


# --------------------------------------------------------------------------- batches


def test_a_batch_reports_each_entry_and_stores_only_the_good_ones(
    session, make_task, contributors, clock
):
    task = make_task(n=3, overlap=2)
    a, b, c = contributors[:3]
    entries = [
        a.sign(task.info, task.items[0], "pos", 1),  # ok
        a.sign(task.info, task.items[1], "bad-class", 2),  # invalid answer
        b.sign(task.info, task.items[0], "neg", 1),  # ok, item 0 now full
        c.sign(task.info, task.items[0], "pos", 1),  # item full
        a.sign(task.info, task.items[2], "pos", 1),  # nonce 1 replayed within the batch
        b.sign(task.info, task.items[0], "pos", 9),  # b answered item 0 within the batch
        dataclasses.replace(c.sign(task.info, task.items[1], "pos", 3), task_id=bytes(32)),
        c.sign(task.info, task.items[2], "neg", 4),  # ok
    ]
    results = submit_many(session, entries, clock=clock)
    assert [result.index for result in results] == list(range(8))
    assert [result.ok for result in results] == [
        True,
        False,
        True,
        False,
        False,
        False,
        False,
        True,
    ]
    kinds = [type(result.error).__name__ for result in results]
    assert kinds == [
        "NoneType",
        "InvalidInput",
        "NoneType",
        "Conflict",
        "Conflict",
        "Conflict",
        "NotFound",
        "NoneType",
    ]
    assert "already has its 2 answers" in str(results[3].error)
    assert "already used" in str(results[4].error)
    assert "already answered" in str(results[5].error)
    accepted = [result.submission_id for result in results if result.ok]
    assert sorted(list_submissions(session, task.task_id).ids) == sorted(accepted)
    assert _stored(session) == 3
    assert task_progress(session, task.task_id).answers == 3


def test_batches_are_split_into_chunks_that_each_commit(session, make_task, contributors, clock):
    task = make_task(n=5, overlap=3)
    entries = [
        contributors[number].sign(task.info, cid, "pos", 10 + position)
        for position, cid in enumerate(task.items)
        for number in range(3)
    ]
    results = submit_many(session, entries, clock=clock, chunk_size=4)
    assert all(result.ok for result in results)
    assert len({result.submission_id for result in results}) == 15
    assert task_progress(session, task.task_id).full_items == 5


def test_a_batch_across_tasks_uses_each_task_own_domain(session, make_task, contributors, clock):
    first, second = make_task(n=1, chain_id=1), make_task(n=1, chain_id=530)
    alice = contributors[0]
    results = submit_many(
        session,
        [
            alice.sign(first.info, first.items[0], "pos", 1),
            alice.sign(second.info, second.items[0], "neg", 1),
            alice.sign(second.info, second.items[0], "neg", 2, chain_id=1),
        ],
        clock=clock,
    )
    assert [result.ok for result in results] == [True, True, False]
    assert isinstance(results[2].error, SignatureError)


def test_an_empty_batch_stores_nothing(session):
    assert submit_many(session, [], clock=lambda: 0.0) == []
    assert _stored(session) == 0


def test_listing_an_unknown_task_is_not_found(session):
    with pytest.raises(NotFound):
        list_submissions(session, bytes(32))
    with pytest.raises(NotFound):
        task_answers(session, bytes(32))


def test_submission_input_is_what_a_wallet_client_sends(make_task, contributors):
    task = make_task(n=1)
    entry = contributors[0].sign(task.info, task.items[0], "pos", 1)
    assert isinstance(entry, SubmissionInput)
    assert entry.answer_hash == keccak256(canonical_json("pos"))
    assert json.loads(canonical_json(entry.answer)) == "pos"


@pytest.mark.parametrize("text", ["bad\x00text", "esc\x1b[31m"])
def test_control_characters_in_a_transcription_are_refused_on_both_stores(
    session, make_task, contributors, clock, text
):
    task = make_task(n=1, overlap=1, task_type=TaskType.TRANSCRIPTION, classes=())
    entry = contributors[0].sign(task.info, task.items[0], text, 1)
    with pytest.raises(InvalidInput, match=r"^answer: contains the control character U\+00"):
        submit(session, entry, clock=clock)
    assert session.scalar(select(func.count()).select_from(Submission)) == 0
    fine = contributors[0].sign(task.info, task.items[0], "two\tcolumns\nand lines", 2)
    assert submit(session, fine, clock=clock) > 0


def test_task_contexts_are_cached_per_engine(
    session, make_task, contributors, clock, tmp_path, monkeypatch
):
    from datafair.services import submissions as service

    task = make_task(n=3)
    alice = contributors[0]
    submit(session, alice.sign(task.info, task.items[0], "pos", 1), clock=clock)
    parsed: list[object] = []
    parse = service.TaskSpec.from_dict
    monkeypatch.setattr(
        service.TaskSpec, "from_dict", lambda spec: parsed.append(spec) or parse(spec)
    )
    submit(session, alice.sign(task.info, task.items[1], "neg", 2), clock=clock)
    assert parsed == []  # the task's context came from the cache
    other = Database.from_url(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with other.session() as elsewhere:  # another database never sees this one's tasks
            assert service._task_contexts(elsewhere, {task.task_id}) == {}
            with pytest.raises(NotFound, match="no task"):
                submit(elsewhere, alice.sign(task.info, task.items[2], "pos", 3), clock=clock)
    finally:
        other.dispose()
