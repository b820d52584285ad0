"""Reviews of submissions: add one or many, pick the next one to review, list by task.

Inputs: an open ``Session``; callers own the transaction (repositories never commit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, and_, exists, func, insert, select, text
from sqlalchemy.orm import Session, aliased

from datafair.core.errors import Conflict, InvalidInput, NotFound
from datafair.store.models import (
    ASSIGNMENT_HELD,
    VERDICT_ACCEPT,
    VERDICT_REJECT,
    Assignment,
    Review,
    Submission,
    TaskItem,
)
from datafair.store.repositories._common import CHUNK, chunked, locks_rows

REVIEW_INSERT_CHUNK = 1000

ReviewedRow = tuple[int, int, int, str, str, bytes]
"""``(submission id, task pk, task item id, item CID, contributor, signature)``."""

TaskReviewRow = tuple[int, str, str, str, str | None, int | None]
"""``(submission id, item CID, answer JSON, reviewer, verdict, rating)``."""


_EXCLUDE = text(
    "INSERT INTO review_exclusions (task_item_id, contributor, task_pk, created_at) "
    "VALUES (:item, :who, :task, :now) ON CONFLICT (task_item_id, contributor) DO NOTHING"
)


def _eligible(task_pk: int, address: str, *, ordered_scan: bool = False) -> list[Any]:
    """Conditions on ``Submission`` rows ``address`` may review: of the task, not their own, of
    an item they did not answer and do not hold (a held item is work they were given to
    answer) and whose answers no settlement published (a sealed item), not reviewed by them
    yet.

    ``ordered_scan`` spells the task condition so that SQLite cannot use the task index for it
    (``task_pk + 0``) and walks the submissions in id order instead.
    """
    own = aliased(Submission)
    mine = aliased(Review)
    hold = aliased(Assignment)
    in_task = (Submission.task_pk + 0 if ordered_scan else Submission.task_pk) == task_pk
    return [
        in_task,
        Submission.contributor != address,
        ~exists().where(
            and_(own.task_item_id == Submission.task_item_id, own.contributor == address)
        ),
        ~exists().where(
            and_(
                hold.task_item_id == Submission.task_item_id,
                hold.contributor == address,
                hold.status == ASSIGNMENT_HELD,
            )
        ),
        ~exists().where(and_(mine.submission_id == Submission.id, mine.reviewer == address)),
        ~exists().where(
            and_(TaskItem.id == Submission.task_item_id, TaskItem.sealed_epoch.is_not(None))
        ),
    ]


class ReviewRepository:
    """Reviews of submissions: a verdict (accept/reject), a rating (1-5), or both."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        *,
        submission_id: int,
        reviewer: str,
        now_ms: int,
        verdict: str | None = None,
        rating: int | None = None,
        signature: bytes | None = None,
    ) -> Review:
        """Store one review. ``InvalidInput`` for a bad verdict/rating/signature,
        ``NotFound`` for an unknown submission, ``Conflict`` if the reviewer already reviewed it.
        """
        if verdict is None and rating is None:
            raise InvalidInput("verdict", "a review needs a verdict or a rating", "give one")
        if verdict is not None and verdict not in (VERDICT_ACCEPT, VERDICT_REJECT):
            raise InvalidInput("verdict", f"unknown verdict {verdict!r}", "use accept or reject")
        if rating is not None and (
            isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5
        ):
            raise InvalidInput("rating", f"must be an integer 1..5, got {rating!r}")
        if signature is not None and len(signature) != 65:
            raise InvalidInput("signature", "must be 65 bytes (r, s, v)")
        if self.session.get(Submission, submission_id) is None:
            raise NotFound(f"submission {submission_id}: no such submission")
        existing = self.session.scalar(
            select(Review.id).where(
                Review.submission_id == submission_id, Review.reviewer == reviewer
            )
        )
        if existing is not None:
            raise Conflict(f"review: {reviewer} already reviewed submission {submission_id}")
        review = Review(
            submission_id=submission_id,
            reviewer=reviewer,
            verdict=verdict,
            rating=rating,
            signature=signature,
            created_at=now_ms,
        )
        self.session.add(review)
        self.session.flush()
        return review

    def for_submission(self, submission_id: int) -> list[Review]:
        return list(
            self.session.scalars(
                select(Review).where(Review.submission_id == submission_id).order_by(Review.id)
            )
        )

    def for_task(self, task_pk: int) -> list[Review]:
        """Every review of the task's submissions, in order."""
        return list(
            self.session.scalars(
                select(Review)
                .join(Submission, Submission.id == Review.submission_id)
                .where(Submission.task_pk == task_pk)
                .order_by(Review.id)
            )
        )

    def next_for(self, task_pk: int, reviewer: str, limit: int) -> tuple[int, int] | None:
        """``(submission id, reviews so far)`` of the first submission of the task, in id
        order, that ``reviewer`` may review and that has fewer than ``limit`` reviews."""
        session = self.session
        reviews = (
            select(func.count(Review.id))
            .where(Review.submission_id == Submission.id)
            .scalar_subquery()
        )
        first = session.scalar(select(func.min(Submission.id)).where(Submission.task_pk == task_pk))
        if first is None:
            return None
        # Walk the task's submissions in id order and stop at the first eligible one; on SQLite
        # the task index would make it sort every submission of the task first.
        on_sqlite = not locks_rows(session)
        query = (
            select(Submission.id, reviews)
            .where(
                Submission.id >= first,
                *_eligible(task_pk, reviewer, ordered_scan=on_sqlite),
                reviews < limit,
            )
            .order_by(Submission.id)
            .limit(1)
        )
        row = session.execute(query).first()
        return None if row is None else (int(row[0]), int(row[1]))

    def sealed(self, task_item_ids: Sequence[int]) -> dict[int, int]:
        """``task_item_id -> epoch`` of those items a settlement sealed (published)."""
        found: dict[int, int] = {}
        for part in chunked(sorted(set(task_item_ids))):
            rows = self.session.execute(
                select(TaskItem.id, TaskItem.sealed_epoch).where(
                    TaskItem.id.in_(part), TaskItem.sealed_epoch.is_not(None)
                )
            )
            found.update((item_id, int(epoch or 0)) for item_id, epoch in rows)
        return found

    def exclude(self, rows: Sequence[tuple[int, int, str]], *, now_ms: int) -> None:
        """Record that each ``(task pk, task item id, contributor)`` saw answers of that item for
        review: they may no longer answer it. Idempotent (an existing row is kept)."""
        params = [
            {"task": task_pk, "item": item_id, "who": who, "now": now_ms}
            for task_pk, item_id, who in sorted(set(rows))
        ]
        if params:
            self.session.connection().execute(_EXCLUDE, params)

    def signatures_of(self, task_pk: int, submission_ids: Sequence[int]) -> dict[int, bytes]:
        """The signatures of those submissions that belong to the task, by id."""
        found: dict[int, bytes] = {}
        for part in chunked(sorted(set(submission_ids))):
            rows = self.session.execute(
                select(Submission.id, Submission.signature).where(
                    Submission.id.in_(part), Submission.task_pk == task_pk
                )
            )
            found.update({int(sid): bytes(sig) for sid, sig in rows})
        return found

    def reviewed_submissions(self, submission_ids: Sequence[int]) -> list[ReviewedRow]:
        """What checking a review needs of each existing submission (:data:`ReviewedRow`)."""
        found: list[ReviewedRow] = []
        for part in chunked(sorted(set(submission_ids))):
            rows = self.session.execute(
                select(
                    Submission.id,
                    Submission.task_pk,
                    Submission.task_item_id,
                    Submission.item_cid,
                    Submission.contributor,
                    Submission.signature,
                ).where(Submission.id.in_(part))
            )
            found.extend(cast(ReviewedRow, tuple(row)) for row in rows)
        return found

    def reviewers_of(self, submission_ids: Sequence[int]) -> dict[int, set[str]]:
        """Reviewers of each submission, locking the submissions first (PostgreSQL, id order),
        so concurrent writers of reviews of the same submission wait for each other."""
        found: dict[int, set[str]] = {sid: set() for sid in submission_ids}
        for part in chunked(sorted(found)):
            if locks_rows(self.session):
                self.session.execute(
                    select(Submission.id)
                    .where(Submission.id.in_(part))
                    .order_by(Submission.id)
                    .with_for_update()
                ).all()
            rows = self.session.execute(
                select(Review.submission_id, Review.reviewer).where(Review.submission_id.in_(part))
            )
            for submission_id, reviewer in rows:
                found[submission_id].add(reviewer)
        return found

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> dict[tuple[int, str], int]:
        """Insert review rows (Core, in chunks); the new ids by ``(submission id, reviewer)``."""
        table = cast(Table, Review.__table__)
        for part in chunked(rows, REVIEW_INSERT_CHUNK):
            self.session.execute(insert(table), list(part))
        wanted = {(int(row["submission_id"]), str(row["reviewer"])) for row in rows}
        ids: dict[tuple[int, str], int] = {}
        for part in chunked(sorted({key[0] for key in wanted}), CHUNK):
            found = self.session.execute(
                select(Review.id, Review.submission_id, Review.reviewer).where(
                    Review.submission_id.in_(part)
                )
            )
            for review_id, submission_id, reviewer in found:
                if (submission_id, reviewer) in wanted:
                    ids[(submission_id, reviewer)] = int(review_id)
        return ids

    def task_rows(self, task_pk: int) -> list[TaskReviewRow]:
        """Every review of the task's submissions, in review order (:data:`TaskReviewRow`)."""
        rows = self.session.execute(
            select(
                Review.submission_id,
                Submission.item_cid,
                Submission.answer,
                Review.reviewer,
                Review.verdict,
                Review.rating,
            )
            .join(Submission, Submission.id == Review.submission_id)
            .where(Submission.task_pk == task_pk)
            .order_by(Review.id)
        ).all()
        return [cast(TaskReviewRow, tuple(row)) for row in rows]
