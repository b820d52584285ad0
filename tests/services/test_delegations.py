"""Session-key delegations: a key the wallet delegated answers for it, within the delegation's
tasks, expiry, answer limit and until revoked; every refusal stores nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from datafair.core.canonical import canonical_json, keccak256
from datafair.core.errors import Conflict, InvalidInput, NotFound, SignatureError
from datafair.crypto.delegation import DelegationMessage, sign_delegation
from datafair.crypto.eip712 import SubmissionDomain, SubmissionMessage, sign_submission
from datafair.services.delegations import (
    list_delegations,
    register_delegation,
    revoke_delegation,
)
from datafair.services.submissions import SubmissionInput, list_submissions, submit, submit_many
from datafair.store.delegation_models import DelegatedSubmission, SessionDelegation
from datafair.store.models import Submission


def _delegate(
    wallet: Any,
    session_key: Any,
    task_ids: list[bytes],
    *,
    expires_at: float,
    max_answers: int = 10,
    nonce: int = 1,
    chain_id: int = 31337,
    signer: Any = None,
) -> tuple[dict[str, Any], bytes]:
    message = DelegationMessage(
        wallet=wallet.address,
        session_key=session_key.address,
        task_ids=tuple(task_ids),
        expires_at=int(expires_at),
        max_answers=max_answers,
        nonce=nonce,
    )
    key = (signer or wallet).key
    return message.as_dict(), sign_delegation(key, SubmissionDomain(chain_id), message)


def _by_session_key(
    session_key: Any, wallet: Any, task: Any, item: str, answer: Any, nonce: int
) -> SubmissionInput:
    answer_hash = keccak256(canonical_json(answer))
    message = SubmissionMessage(task.task_id, item, answer_hash, wallet.address, nonce, 1200)
    signature = sign_submission(session_key.key, SubmissionDomain(task.info.spec.chain_id), message)
    return SubmissionInput(
        task.task_id, item, wallet.address, answer, nonce, 1200, signature, answer_hash
    )


def _count(session: Any, model: Any) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_session_key_answers_for_its_wallet(session, make_task, contributors, clock):
    task = make_task(n=3)
    wallet, key = contributors[0], contributors[1]
    message, signature = _delegate(wallet, key, [task.task_id], expires_at=clock() + 600)
    info = register_delegation(session, message, signature, clock=clock)
    assert (info.wallet, info.session_key, info.used) == (wallet.address, key.address, 0)
    submission_id = submit(
        session, _by_session_key(key, wallet, task, task.items[0], "pos", 1), clock=clock
    )
    columns = list_submissions(session, task.task_id)
    assert columns.contributors == [wallet.address]  # paid to the wallet
    assert _count(session, DelegatedSubmission) == 1
    link = session.get(DelegatedSubmission, submission_id)
    assert link is not None and link.delegation_id == info.id
    assert list_delegations(session, wallet.address)[0].used == 1


def test_registering_twice_returns_the_first_row(session, make_task, contributors, clock):
    task = make_task(n=1)
    message, signature = _delegate(
        contributors[0], contributors[1], [task.task_id], expires_at=clock() + 60
    )
    first = register_delegation(session, message, signature, clock=clock)
    again = register_delegation(session, message, "0x" + signature.hex(), clock=clock)
    assert first.id == again.id and _count(session, SessionDelegation) == 1
    other, other_signature = _delegate(
        contributors[0], contributors[1], [task.task_id], expires_at=clock() + 120
    )
    with pytest.raises(Conflict, match="fresh nonce"):
        register_delegation(session, other, other_signature, clock=clock)


@pytest.mark.parametrize(
    ("problem", "error", "match"),
    [
        ("expired", InvalidInput, "expiresAt"),
        ("not the wallet", SignatureError, "not by the wallet"),
        ("unknown task", NotFound, "taskIds"),
        ("other chain", SignatureError, "not by the wallet"),
    ],
)
def test_bad_delegations_are_refused_and_nothing_is_stored(
    session, make_task, contributors, clock, problem, error, match
):
    task = make_task(n=1)
    wallet, key = contributors[0], contributors[1]
    kwargs: dict[str, Any] = {"expires_at": clock() + 60}
    task_ids = [task.task_id]
    if problem == "expired":
        kwargs["expires_at"] = clock() - 1
    elif problem == "not the wallet":
        kwargs["signer"] = contributors[2]
    elif problem == "unknown task":
        task_ids = [bytes(32)]
    elif problem == "other chain":
        kwargs["chain_id"] = 1
    message, signature = _delegate(wallet, key, task_ids, **kwargs)
    with pytest.raises(error, match=match):
        register_delegation(session, message, signature, clock=clock)
    assert _count(session, SessionDelegation) == 0


def test_refused_after_expiry_past_limit_for_another_task_and_after_revocation(
    session, make_task, contributors, clock
):
    task, other = make_task(n=4), make_task(n=2)
    wallet, key = contributors[0], contributors[1]
    message, signature = _delegate(
        wallet, key, [task.task_id], expires_at=clock() + 600, max_answers=2
    )
    info = register_delegation(session, message, signature, clock=clock)

    # another task
    with pytest.raises(SignatureError, match="does not cover this task"):
        submit(session, _by_session_key(key, wallet, other, other.items[0], "pos", 1), clock=clock)
    # a key nobody delegated
    stranger = contributors[3]
    with pytest.raises(SignatureError, match="nor by a session key it delegated"):
        submit(
            session, _by_session_key(stranger, wallet, task, task.items[0], "pos", 9), clock=clock
        )
    # the limit: a batch of three takes two, the third is refused on its own
    results = submit_many(
        session,
        [_by_session_key(key, wallet, task, task.items[i], "pos", 10 + i) for i in range(3)],
        clock=clock,
    )
    assert [r.ok for r in results] == [True, True, False]
    assert "no answers left" in str(results[2].error)
    assert _count(session, Submission) == 2

    # expiry and revocation, on a fresh delegation
    message, signature = _delegate(wallet, key, [task.task_id], expires_at=clock() + 60, nonce=2)
    second = register_delegation(session, message, signature, clock=clock)
    clock.advance(61)
    with pytest.raises(SignatureError, match="has expired"):
        submit(session, _by_session_key(key, wallet, task, task.items[3], "pos", 20), clock=clock)
    message, signature = _delegate(wallet, key, [task.task_id], expires_at=clock() + 60, nonce=3)
    third = register_delegation(session, message, signature, clock=clock)
    revoked = revoke_delegation(session, third.id, wallet.address, clock=clock)
    assert revoked.revoked
    with pytest.raises(SignatureError, match="was revoked"):
        submit(session, _by_session_key(key, wallet, task, task.items[3], "pos", 21), clock=clock)
    assert _count(session, Submission) == 2
    assert {d.id for d in list_delegations(session, wallet.address)} == {
        info.id,
        second.id,
        third.id,
    }


def test_only_the_wallet_revokes(session, make_task, contributors, clock):
    task = make_task(n=1)
    message, signature = _delegate(
        contributors[0], contributors[1], [task.task_id], expires_at=clock() + 60
    )
    info = register_delegation(session, message, signature, clock=clock)
    with pytest.raises(NotFound):
        revoke_delegation(session, info.id, contributors[2].address, clock=clock)
    assert not list_delegations(session, contributors[0].address)[0].revoked
