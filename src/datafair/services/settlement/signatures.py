"""Check every submission signature of a bundle, on several processes for large bundles.

Each row must carry the EIP-712 signature (:mod:`datafair.crypto.eip712`) of its contributor
over ``Submission(taskId, itemCid, answerHash, contributor, nonce, durationMs)`` in the domain of
the bundle's chain id, with ``answerHash = keccak256(answer)`` of the canonical answer text the
bundle holds. The digest is the same fixed-layout EIP-712 encoding ``verify_submission`` uses,
with the hashes of repeated item CIDs and answers computed once; recovery runs in
libsecp256k1 (coincurve), about 10,000 rows per second per core, so bundles above
:data:`PARALLEL_ABOVE` rows are split over ``workers`` forked processes.

Items contributed to a collection task carry instead the contributor's ``Contribution(taskId,
itemCid, descriptorHash, contributor, nonce, durationMs)`` signature: the same layout under
another type hash (``typehash``), with ``descriptorHash = keccak256(answer)``.

Each review must carry its reviewer's EIP-712 ``Review(taskId, submissionHash, reviewer,
verdict, rating)`` signature, ``submissionHash`` being keccak-256 of the reviewed submission's
signature (:func:`datafair.crypto.eip712.verify_review`).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from datafair.core.canonical import keccak256
from datafair.core.errors import InvalidInput, SignatureError
from datafair.crypto.eip712 import (
    CONTRIBUTION_TYPEHASH,
    SUBMISSION_TYPEHASH,
    VERDICT_ACCEPT,
    VERDICT_NONE,
    VERDICT_REJECT,
    ReviewMessage,
    SubmissionDomain,
    contributor_bytes,
    recover_signer,
    submission_hash,
    verify_review,
)

PARALLEL_ABOVE = 20_000
_UINT64 = 2**64
_UINT32 = 2**32


@dataclass(frozen=True)
class _Job:
    typehash: bytes
    separator: bytes
    task_id: bytes
    item_hashes: list[bytes]
    accounts: list[bytes]
    item: list[int]
    contributor: list[int]
    answer: list[str]
    nonce: list[int]
    duration_ms: list[int]
    signature: list[bytes]
    signers: dict[int, bytes]


_JOB: _Job | None = None


def _check_range(start: int, stop: int) -> tuple[int, str] | None:
    job = _JOB
    assert job is not None
    answer_hashes: dict[str, bytes] = {}
    prefix = b"\x19\x01" + job.separator
    for row in range(start, stop):
        text = job.answer[row]
        answer_hash = answer_hashes.get(text)
        if answer_hash is None:
            answer_hash = keccak256(text.encode("utf-8"))
            answer_hashes[text] = answer_hash
        nonce, duration = job.nonce[row], job.duration_ms[row]
        if not (0 <= nonce < _UINT64 and 0 <= duration < _UINT32):
            return row, "nonce or duration outside its EIP-712 type"
        contributor = job.accounts[job.contributor[row]]
        struct = keccak256(
            job.typehash
            + job.task_id
            + job.item_hashes[job.item[row]]
            + answer_hash
            + contributor.rjust(32, b"\0")
            + nonce.to_bytes(32, "big")
            + duration.to_bytes(32, "big")
        )
        try:
            recovered = recover_signer(keccak256(prefix + struct), job.signature[row])
        except SignatureError as error:
            return row, str(error)
        if recovered != job.signers.get(row, contributor):
            return row, "signed by another key (or over another task, item, answer or chain)"
    return None


def first_bad_signature(
    task_id: bytes,
    chain_id: int,
    items: list[str],
    accounts: list[str],
    item: list[int],
    contributor: list[int],
    answer: list[str],
    nonce: list[int],
    duration_ms: list[int],
    signature: list[bytes],
    *,
    workers: int | None = None,
    signers: dict[int, bytes] | None = None,
    typehash: bytes = SUBMISSION_TYPEHASH,
) -> tuple[int, str] | None:
    """The first row whose signature fails, with the reason; ``None`` when all verify.

    ``signers`` gives the expected 20-byte signer of rows signed by a session key (default:
    every row is signed by its contributor). ``typehash`` is the signed type's hash:
    ``Submission`` (answers) by default,
    :data:`~datafair.crypto.eip712.CONTRIBUTION_TYPEHASH` for a collection task's items.
    """
    global _JOB
    _JOB = _Job(
        typehash=typehash,
        separator=SubmissionDomain(chain_id).separator,
        task_id=task_id,
        item_hashes=[keccak256(cid.encode()) for cid in items],
        accounts=[contributor_bytes(address) for address in accounts],
        item=item,
        contributor=contributor,
        answer=answer,
        nonce=nonce,
        duration_ms=duration_ms,
        signature=signature,
        signers=signers or {},
    )
    n = len(item)
    try:
        if workers is None:
            workers = min(2, os.cpu_count() or 1)
        if (
            n <= PARALLEL_ABOVE
            or workers <= 1
            or "fork" not in multiprocessing.get_all_start_methods()
        ):
            return _check_range(0, n)
        bounds = [n * k // (workers * 4) for k in range(workers * 4 + 1)]
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [
                pool.submit(_check_range, bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1)
            ]
            for future in futures:
                outcome = future.result()
                if outcome is not None:
                    for other in futures:
                        other.cancel()
                    return outcome
        return None
    finally:
        _JOB = None


def typehash_for(task_type: str) -> bytes:
    """The EIP-712 type hash a task's submissions are signed under."""
    return CONTRIBUTION_TYPEHASH if task_type == "collection" else SUBMISSION_TYPEHASH


_VERDICT_CODES = {None: VERDICT_NONE, "accept": VERDICT_ACCEPT, "reject": VERDICT_REJECT}


def first_bad_review(
    task_id: bytes,
    chain_id: int,
    accounts: list[str],
    submission_signatures: list[bytes],
    submission: list[int],
    reviewer: list[int],
    verdict: list[str | None],
    rating: list[int | None],
    signature: list[bytes | None],
) -> tuple[int, str] | None:
    """The first review whose signature fails, with the reason; ``None`` when all verify."""
    domain = SubmissionDomain(chain_id)
    for j, (row, who, side, stars, signed) in enumerate(
        zip(submission, reviewer, verdict, rating, signature, strict=True)
    ):
        if signed is None:
            return j, "it carries no signature"
        if side not in _VERDICT_CODES:
            return j, f"unknown verdict {side!r}"
        message = ReviewMessage(
            task_id=task_id,
            submission_hash=submission_hash(submission_signatures[row]),
            reviewer=accounts[who],
            verdict=_VERDICT_CODES[side],
            rating=0 if stars is None else stars,
        )
        try:
            verify_review(domain, message, signed)
        except (SignatureError, InvalidInput) as error:
            return j, str(error)
    return None
