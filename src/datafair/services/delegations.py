"""Session-key delegations: register, revoke, list, and resolve the key behind a submission.

Inputs: an open ``Session``; a delegation as its EIP-712 JSON message (:mod:`datafair.crypto.
delegation`) with the wallet's 65-byte signature; a clock (Unix seconds).

A delegation is accepted only if its fields fit their types, every task it names exists and
lives on one chain (the signature's domain is that chain id), its expiry is in the future, and
the signature recovers to the wallet. Registering the same signed delegation twice returns the
first row (a client may retry). A submission signed by a session key is accepted for the wallet
(its ``contributor``) only while a registered delegation of that wallet to that key covers the
task, has not expired and has not been revoked, and has answers left; each accepted submission
uses one answer of the limit, taken by a conditional ``UPDATE`` inside the submission's
transaction, so the limit holds whatever the concurrency.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from datafair.core.errors import Conflict, InvalidInput, NotFound, SignatureError
from datafair.crypto.delegation import DelegationMessage, verify_delegation
from datafair.crypto.eip712 import SubmissionDomain
from datafair.services.tasks import Clock, checksum_address, now_ms
from datafair.store.delegation_models import DelegatedSubmission, SessionDelegation
from datafair.store.models import Submission, Task


@dataclass(frozen=True)
class DelegationInfo:
    """A registered delegation, as the API and pages show it."""

    id: int
    wallet: str
    session_key: str
    task_ids: list[str]
    expires_at: int
    max_answers: int
    used: int
    nonce: int
    revoked: bool
    chain_id: int

    def active(self, unix_seconds: float) -> bool:
        """Not revoked, not expired, answers left."""
        return not self.revoked and unix_seconds < self.expires_at and self.used < self.max_answers


def _info(row: SessionDelegation, chain_id: int) -> DelegationInfo:
    return DelegationInfo(
        id=row.id,
        wallet=row.wallet,
        session_key=row.session_key,
        task_ids=list(row.task_ids),
        expires_at=row.expires_at,
        max_answers=row.max_answers,
        used=row.used,
        nonce=row.nonce,
        revoked=row.revoked_at is not None,
        chain_id=chain_id,
    )


def message_of(row: SessionDelegation) -> DelegationMessage:
    """The signed message a stored delegation row holds."""
    return DelegationMessage(
        wallet=row.wallet,
        session_key=row.session_key,
        task_ids=tuple(bytes.fromhex(task_id[2:]) for task_id in row.task_ids),
        expires_at=row.expires_at,
        max_answers=row.max_answers,
        nonce=row.nonce,
    )


def _signature(value: bytes | str) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    text = value[2:] if value[:2] in ("0x", "0X") else value
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise InvalidInput("signature", "must be 65 bytes of 0x-hex") from None


def _chain_of(session: Session, task_ids: Sequence[bytes]) -> int:
    rows = session.execute(select(Task.task_id, Task.chain_id).where(Task.task_id.in_(task_ids)))
    chains = {task_id: chain_id for task_id, chain_id in rows}
    for task_id in task_ids:
        if task_id not in chains:
            raise NotFound(f"taskIds: no task 0x{task_id.hex()} (list tasks first)")
    if len(set(chains.values())) != 1:
        raise InvalidInput("taskIds", "name tasks of different chains", "delegate per chain")
    return next(iter(chains.values()))


def register_delegation(
    session: Session,
    message: Mapping[str, Any],
    signature: bytes | str,
    *,
    clock: Clock = time.time,
) -> DelegationInfo:
    """Verify and store a wallet's delegation, committed; the stored row (or the earlier one)."""
    parsed = DelegationMessage.from_dict(dict(message))
    raw = _signature(signature)
    chain_id = _chain_of(session, parsed.task_ids)
    if parsed.expires_at <= clock():
        raise InvalidInput("expiresAt", "is in the past", "sign a delegation that expires later")
    verify_delegation(SubmissionDomain(chain_id), parsed, raw)
    wallet = checksum_address(parsed.wallet)
    session_key = checksum_address(parsed.session_key)
    existing = session.scalars(
        select(SessionDelegation).where(
            SessionDelegation.wallet == wallet,
            SessionDelegation.session_key == session_key,
            SessionDelegation.nonce == parsed.nonce,
        )
    ).first()
    if existing is not None:
        if existing.signature != raw:
            raise Conflict(
                f"nonce: {parsed.nonce} already delegated {session_key} with other terms "
                "(sign with a fresh nonce)"
            )
        info = _info(existing, chain_id)
        session.rollback()
        return info
    row = SessionDelegation(
        wallet=wallet,
        session_key=session_key,
        task_ids=["0x" + task_id.hex() for task_id in parsed.task_ids],
        expires_at=parsed.expires_at,
        max_answers=parsed.max_answers,
        nonce=parsed.nonce,
        signature=raw,
        used=0,
        created_at=now_ms(clock),
    )
    session.add(row)
    session.commit()
    return _info(row, chain_id)


def revoke_delegation(
    session: Session, delegation_id: int, wallet: str, *, clock: Clock = time.time
) -> DelegationInfo:
    """Revoke one of ``wallet``'s delegations, committed: its key signs nothing more."""
    row = session.get(SessionDelegation, delegation_id)
    if row is None or row.wallet != checksum_address(wallet):
        raise NotFound(f"delegation: no delegation {delegation_id} of {wallet}")
    if row.revoked_at is None:
        row.revoked_at = now_ms(clock)
    chain_id = _chain_of(session, message_of(row).task_ids[:1])
    info = _info(row, chain_id)
    session.commit()
    return info


def list_delegations(session: Session, wallet: str) -> list[DelegationInfo]:
    """``wallet``'s delegations, newest first."""
    rows = session.scalars(
        select(SessionDelegation)
        .where(SessionDelegation.wallet == checksum_address(wallet))
        .order_by(SessionDelegation.id.desc())
    ).all()
    infos = []
    for row in rows:
        chain_id = _chain_of(session, message_of(row).task_ids[:1])
        infos.append(_info(row, chain_id))
    return infos


def resolve_session_keys(
    session: Session,
    requests: Iterable[tuple[int, str, str, bytes]],
    unix_seconds: float,
) -> tuple[dict[int, int], dict[int, SignatureError]]:
    """Which delegation lets each session key sign for each wallet on each task.

    ``requests`` holds ``(index, wallet, session_key, task_id)`` for every submission whose
    signer is not its contributor. Returns the delegation id per index, and an error per index
    no live delegation covers (none registered, another task, expired, revoked or used up).
    """
    wanted = list(requests)
    if not wanted:
        return {}, {}
    keys = sorted({key for _, _, key, _ in wanted})
    rows = session.scalars(
        select(SessionDelegation)
        .where(SessionDelegation.session_key.in_(keys))
        .order_by(SessionDelegation.id)
    ).all()
    by_pair: dict[tuple[str, str], list[SessionDelegation]] = {}
    for row in rows:
        by_pair.setdefault((row.wallet, row.session_key), []).append(row)
    found: dict[int, int] = {}
    errors: dict[int, SignatureError] = {}
    for index, wallet, key, task_id in wanted:
        candidates = by_pair.get((wallet, key), [])
        if not candidates:
            errors[index] = SignatureError(
                f"signature: signed by {key}, not by the contributor {wallet} nor by a session "
                "key it delegated (wrong key, task, answer or chain; or register a delegation)"
            )
            continue
        task_hex = "0x" + task_id.hex()
        reason = "does not cover this task"
        for row in candidates:
            if task_hex not in row.task_ids:
                continue
            if row.revoked_at is not None:
                reason = "was revoked"
            elif unix_seconds >= row.expires_at:
                reason = "has expired"
            elif row.used >= row.max_answers:
                reason = f"has used all its {row.max_answers} answers"
            else:
                found[index] = row.id
                break
        else:
            errors[index] = SignatureError(
                f"signature: the delegation of {wallet} to session key {key} {reason} "
                "(ask the wallet for a new delegation)"
            )
    return found, errors


def answers_left(session: Session, delegation_ids: Iterable[int]) -> dict[int, int]:
    """How many answers each delegation may still sign (0 once revoked)."""
    ids = sorted(set(delegation_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(
            SessionDelegation.id,
            SessionDelegation.max_answers - SessionDelegation.used,
            SessionDelegation.revoked_at,
        ).where(SessionDelegation.id.in_(ids))
    )
    return {row_id: (0 if revoked is not None else left) for row_id, left, revoked in rows}


def use_answers(session: Session, counts: Mapping[int, int]) -> None:
    """Add ``counts[id]`` to each delegation's used answers.

    The CHECK constraint ``used <= max_answers`` fails the transaction (an ``IntegrityError``,
    retried by the caller on fresh state) if a concurrent writer used the same answers first.
    """
    for delegation_id in sorted(counts):
        session.execute(
            update(SessionDelegation)
            .where(SessionDelegation.id == delegation_id)
            .values(used=SessionDelegation.used + counts[delegation_id])
        )


def link_submissions(session: Session, links: Sequence[tuple[int, int]]) -> None:
    """Record ``(submission_id, delegation_id)`` for submissions signed by session keys."""
    if links:
        session.execute(
            insert(DelegatedSubmission),
            [{"submission_id": sid, "delegation_id": did} for sid, did in links],
        )


def delegations_for_task(session: Session, task_pk: int) -> dict[int, SessionDelegation]:
    """The delegation row behind each of the task's submissions signed by a session key."""
    rows = session.execute(
        select(DelegatedSubmission.submission_id, SessionDelegation)
        .join(SessionDelegation, SessionDelegation.id == DelegatedSubmission.delegation_id)
        .join(Submission, Submission.id == DelegatedSubmission.submission_id)
        .where(Submission.task_pk == task_pk)
    )
    return {submission_id: row for submission_id, row in rows}
