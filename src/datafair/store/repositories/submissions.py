"""Signed submissions: bulk insert, nonce and duplicate checks, a task's answers as columns.

Inputs: an open ``Session``; callers own the transaction (repositories never commit).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select
from sqlalchemy.orm import Session

from datafair.store.models import (
    ASSIGNMENT_HELD,
    UINT64_OFFSET,
    Submission,
)


@dataclass(frozen=True)
class SubmissionColumns:
    """All accepted submissions of a task as parallel columns, in acceptance order.

    ``answers`` holds the canonical JSON text of each answer (decode with ``json.loads``; hash
    with keccak-256 to recompute the signed ``answerHash``).
    """

    ids: list[int]
    item_cids: list[str]
    contributors: list[str]
    answers: list[str]
    answer_hashes: list[bytes]
    signatures: list[bytes]
    nonces: list[int]
    durations_ms: list[int]
    accepted_at: list[int]

    def __len__(self) -> int:
        return len(self.ids)

    def decoded_answers(self) -> list[Any]:
        """The answers as JSON values."""
        return [json.loads(text) for text in self.answers]


# Column order and PostgreSQL array types of the unnest insert.
_SUBMISSION_ARRAYS = (
    ("task_pk", "integer"),
    ("task_item_id", "integer"),
    ("item_cid", "varchar"),
    ("contributor", "varchar"),
    ("answer", "text"),
    ("answer_hash", "bytea"),
    ("nonce", "bigint"),
    ("duration_ms", "bigint"),
    ("signature", "bytea"),
    ("accepted_at", "bigint"),
)


@dataclass(frozen=True)
class AnswerState:
    """What the store holds about a batch of answers to one task
    (:meth:`SubmissionRepository.answer_state`): the ``(contributor, nonce)`` pairs already
    used, the ``(task item id, contributor)`` pairs already answered or excluded by a review,
    the held assignments by ``(task item id, contributor)``, and the contributors paused on the
    task with their reason."""

    used_nonces: set[tuple[str, int]]
    answered: set[tuple[int, str]]
    excluded: set[tuple[int, str]]
    held: dict[tuple[int, str], int]
    paused: dict[str, str | None]


# One statement for everything a batch's write transaction re-reads under its locks: a row per
# probe ``k`` (the batch's task item id, contributor and nonce) with a scalar subquery per fact
# (1, an assignment id, or NULL), then a row per contributor paused on the task. A scalar
# subquery is run per probe row, through its unique index, on both databases and whatever the
# planner's statistics say: a join, or EXISTS, lets a PostgreSQL planner with stale statistics
# (a table that grew since its last ANALYZE) hash the task's whole submissions table instead.
_PROBE, _PAUSED = 0, 1
_ANSWER_STATE = f"""
SELECT {_PROBE}, k.i, k.c, k.n,
  (SELECT 1 FROM submissions s
   WHERE s.task_pk = {{task}} AND s.contributor = k.c AND s.nonce = k.n LIMIT 1),
  (SELECT 1 FROM submissions s WHERE s.task_item_id = k.i AND s.contributor = k.c LIMIT 1),
  (SELECT 1 FROM review_exclusions e
   WHERE e.task_item_id = k.i AND e.contributor = k.c LIMIT 1),
  (SELECT a.id FROM assignments a
   WHERE a.task_item_id = k.i AND a.contributor = k.c AND a.status = '{ASSIGNMENT_HELD}'
   LIMIT 1),
  CAST(NULL AS VARCHAR)
FROM k
UNION ALL
SELECT {_PAUSED}, NULL, t.contributor, NULL, NULL, NULL, NULL, NULL, t.reason
FROM task_standings t WHERE t.task_pk = {{task}} AND t.paused
"""
_PROBES_POSTGRES = (
    "WITH k(i, c, n) AS (SELECT * FROM unnest(%(items)s::integer[], %(who)s::varchar[], "
    "%(nonces)s::bigint[]))"
)
_PROBES_SQLITE = (
    "WITH k(i, c, n) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
    "json_extract(value, '$[2]') FROM json_each(:probes))"
)

# built once: every chunk of submissions runs them on SQLite
_SUBMISSIONS = cast(Table, Submission.__table__)
_MAX_ID = select(func.max(_SUBMISSIONS.c.id))
_INSERT = insert(_SUBMISSIONS)
_ADDED_SINCE = select(
    _SUBMISSIONS.c.id, _SUBMISSIONS.c.task_item_id, _SUBMISSIONS.c.contributor
).where(_SUBMISSIONS.c.id > bindparam("before"))


class SubmissionRepository:
    """Accepted submissions (rejected ones are never stored)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _on_postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert submission rows (column names as in ``Submission``); their ids, in order.

        On PostgreSQL the rows travel as one array per column (``INSERT ... SELECT FROM
        unnest``): one short statement whatever the batch size.
        """
        if not rows:
            return []
        if self._on_postgres():
            return self._insert_unnest(rows)
        return self._insert_sqlite(rows)

    def _insert_sqlite(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        # One executemany (RETURNING would insert row by row), then read the new ids back: the
        # transaction holds SQLite's write lock, so every id above the previous maximum is ours.
        connection = self.session.connection()
        before = connection.execute(_MAX_ID).scalar() or 0
        connection.execute(_INSERT, list(rows))
        returned = connection.execute(_ADDED_SINCE, {"before": before}).all()
        ids = {(item_id, contributor): row_id for row_id, item_id, contributor in returned}
        return [ids[(row["task_item_id"], row["contributor"])] for row in rows]

    def _insert_unnest(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        columns = [name for name, _ in _SUBMISSION_ARRAYS]
        arrays = [[row[name] for row in rows] for name in columns]
        nonce_at = columns.index("nonce")
        # raw SQL bypasses the Uint64 column type, so nonces are shifted here as it would
        arrays[nonce_at] = [nonce - UINT64_OFFSET for nonce in arrays[nonce_at]]
        casts = ", ".join(f"%s::{sql_type}[]" for _, sql_type in _SUBMISSION_ARRAYS)
        sql = (
            f"INSERT INTO submissions ({', '.join(columns)}) "
            f"SELECT * FROM unnest({casts}) "
            "RETURNING id, task_item_id, contributor"
        )
        returned = self.session.connection().exec_driver_sql(sql, tuple(arrays)).all()
        ids = {(item_id, contributor): row_id for row_id, item_id, contributor in returned}
        return [ids[(row["task_item_id"], row["contributor"])] for row in rows]

    def answer_state(self, task_pk: int, probes: Sequence[tuple[int, str, int]]) -> AnswerState:
        """Everything the store says of answers ``(task item id, contributor, nonce)`` to task
        ``task_pk`` (:class:`AnswerState`), in one statement: what a batch's write transaction
        re-reads once it holds its locks."""
        state = AnswerState(set(), set(), set(), {}, {})
        unique = sorted(set(probes))
        if not unique:
            return state
        shifted = [(item, who, nonce - UINT64_OFFSET) for item, who, nonce in unique]
        connection = self.session.connection()
        if self._on_postgres():
            rows = connection.exec_driver_sql(
                _PROBES_POSTGRES + _ANSWER_STATE.format(task="%(task)s"),
                {
                    "items": [item for item, _, _ in shifted],
                    "who": [who for _, who, _ in shifted],
                    "nonces": [nonce for _, _, nonce in shifted],
                    "task": task_pk,
                },
            )
        else:
            rows = connection.exec_driver_sql(
                _PROBES_SQLITE + _ANSWER_STATE.format(task=":task"),
                {"probes": json.dumps(shifted), "task": task_pk},
            )
        for kind, item, who, nonce, used, answered, excluded, held, reason in rows:
            if kind == _PAUSED:
                state.paused[who] = reason
                continue
            if used is not None:
                state.used_nonces.add((who, nonce + UINT64_OFFSET))  # raw SQL: shift back
            if answered is not None:
                state.answered.add((item, who))
            if excluded is not None:
                state.excluded.add((item, who))
            if held is not None:
                state.held[(item, who)] = held
        return state

    def answered(self, pairs: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
        """Which ``(task_item_id, contributor)`` pairs already have a submission (one
        parameter, joined against the ``(task_item_id, contributor)`` unique index)."""
        unique = sorted(set(pairs))
        if not unique:
            return set()
        connection = self.session.connection()
        if self._on_postgres():
            rows = connection.exec_driver_sql(
                "SELECT s.task_item_id, s.contributor FROM submissions s "
                "JOIN unnest(%s::integer[], %s::varchar[]) AS k(i, c) "
                "ON s.task_item_id = k.i AND s.contributor = k.c",
                ([item_id for item_id, _ in unique], [contributor for _, contributor in unique]),
            )
        else:
            rows = connection.exec_driver_sql(
                "SELECT s.task_item_id, s.contributor FROM json_each(?) AS k "
                "CROSS JOIN submissions s WHERE s.task_item_id = json_extract(k.value, '$[0]') "
                "AND s.contributor = json_extract(k.value, '$[1]')",
                (json.dumps([list(pair) for pair in unique]),),
            )
        return {(item_id, contributor) for item_id, contributor in rows}

    def count(self, task_pk: int) -> int:
        return int(
            self.session.scalar(select(func.count()).where(Submission.task_pk == task_pk)) or 0
        )

    def get(self, submission_id: int) -> Submission | None:
        return self.session.get(Submission, submission_id)

    def columns(self, task_pk: int) -> SubmissionColumns:
        """Every accepted submission of the task as columns (one query, no ORM objects)."""
        rows = self.session.execute(
            select(
                Submission.id,
                Submission.item_cid,
                Submission.contributor,
                Submission.answer,
                Submission.answer_hash,
                Submission.signature,
                Submission.nonce,
                Submission.duration_ms,
                Submission.accepted_at,
            )
            .where(Submission.task_pk == task_pk)
            .order_by(Submission.id)
        ).all()
        columns: list[list[Any]] = [list(column) for column in zip(*rows, strict=True)] or [
            [] for _ in range(9)
        ]
        return SubmissionColumns(*columns)

    def durations_ms(self, task_pk: int) -> list[int]:
        """The positive answer times (``duration_ms``) of the task's submissions."""
        rows = self.session.scalars(
            select(Submission.duration_ms).where(
                Submission.task_pk == task_pk, Submission.duration_ms > 0
            )
        )
        return [int(ms) for ms in rows]
