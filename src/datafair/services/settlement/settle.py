"""``settle_task``: one epoch of a task, as a persisted state machine that survives any crash.

Inputs: an open ``Session``; an :class:`~datafair.chain.escrow.EscrowClient`; the blob store;
the task id; the operator who posts payouts (``sender``); the quality method (default
``auto``); a clock.

States of a ``settlements`` row, each committed before the next step starts:

``open``      the epoch number is taken (unique per task), nothing computed yet;
``bundled``   inference, rewards, fee and tree are computed and the bundle is stored
              content-addressed; its CID, root, total and fee are recorded;
``tree``      the leaves are stored (``payout_leaves``) for claims;
``sending``   the payout is about to be sent;
``posted``    ``post_payout`` was mined; its transaction hash is recorded;
``done``      the root on chain was read back and matches, and the bundle's evidence was
              recorded in contributors' reputations (spam-flagged contributors paused);
``empty``     final state of an epoch in which nothing was earned (nothing is posted).

Rerunning ``settle_task`` resumes the unfinished epoch of the task from its state. From
``sending`` it first reads the epoch's root on chain: if the root is already there (the process
died after sending, or the node's answer was lost) it adopts the transaction from the
``PayoutPosted`` event instead of sending again; a different root there is a ``Conflict``.
From ``bundled`` on, everything is read from the stored bundle, never recomputed, so a resumed
epoch posts exactly the bundle it recorded. The escrow refuses a second root for an epoch and a
second claim of a leaf, so no crash or rerun can pay anybody twice.

Each epoch pays the submissions not paid by an earlier epoch (read from the previous bundle),
and carries in the pay the previous bundle held (its ``held`` section, released once the
evidence suffices, :mod:`datafair.economics.held`; it stays in the escrow's unallocated balance
until then); inference always uses every submission so far.

Gold (:mod:`.gold`): the bundle reveals, with salt and Merkle proof, the secret gold items this
epoch grades (those with an answer in it) plus those earlier bundles revealed; the newly revealed
ones are retired (:meth:`~datafair.store.repositories.TaskRepository.retire_gold`) in the same
commit that records the bundle (``bundled`` or ``empty``), so a crash leaves either both or
neither. A retired item is never assigned, accepted or graded again: an answer it took while
its epoch was being computed is left out of every later epoch. Gold items nobody answered stay
secret for later epochs; once every one is revealed, epochs settle without gold.

Sealed items (no peeking at published answers): a bundle is public once its root is posted,
so an item's answers are published only when the item can take no further answer at that
moment (:func:`publishable_rows`). By default an epoch pays the answers to items that are
closed: with all their k answers, or every item once the task is closed or past its deadline
(gold items too: they are retired on reveal). Answers to items still open are stored and
acknowledged but wait, unpaid, for a later epoch. With ``seal_partial`` the epoch also pays
the answers to open items. Either way, every item whose answers the bundle publishes first is
*sealed* (``task_items.sealed_epoch``, capacity set to its answers, held slots expired) in the
same commit that records the bundle: never assigned, answered or reviewed again. If such an
item took an answer the bundle does not carry while the epoch was being computed, nothing is
recorded (``Conflict``) and a rerun includes it. The audit fails a bundle that pays an answer
to an item in a later epoch than the one that published it
(:func:`datafair.services.settlement.audit.verify_sealed`).

Refused, with nothing stored or sent: a task the escrow does not hold, a task without (new)
submissions or whose new answers all wait for open items, gold answers that do not match the
escrow's commitment, an epoch budget above the escrow's unallocated balance.

Fault injection (tests only): when the environment variable :data:`CRASH_ENV` names one of
:data:`CHECKPOINTS`, the process exits with status :data:`CRASH_STATUS` (``os._exit``, no
cleanup) right after that point: ``sent`` is between the mined transaction and its record.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datafair.chain.base import Sender
from datafair.chain.escrow import EscrowClient
from datafair.core.errors import ChainError, Conflict, DatafairError, InvalidInput
from datafair.core.schemas import TaskType
from datafair.core.task import TaskSpec
from datafair.services.delegations import delegations_for_task, message_of
from datafair.services.settlement.bundle import (
    Delegations,
    EpochInputs,
    Reviews,
    Submissions,
    bundle_document,
    compute_epoch,
    default_params,
    encode_bundle,
    parse_bundle,
    read_document,
)
from datafair.services.settlement.funding import check_chain, escrow_state, funding_of
from datafair.services.settlement.gold import GoldOpening, GoldTree
from datafair.services.submissions import task_answers
from datafair.services.tasks import Clock, deadline_passed, load_task, now_ms
from datafair.store.blobs import BlobStore
from datafair.store.models import TASK_CLOSED
from datafair.store.repositories import ReviewRepository, TaskRepository
from datafair.store.repositories.settlement import SettlementRepository
from datafair.store.settlement_models import Settlement

CRASH_ENV = "DATAFAIR_SETTLE_CRASH_AT"
CRASH_STATUS = 86
CHECKPOINTS = ("opened", "bundled", "tree", "sending", "sent", "posted", "done")
FINAL_STATES = ("done", "empty")


@dataclass(frozen=True)
class SettlementReport:
    """The outcome of one ``settle_task`` call."""

    task_id: bytes
    epoch: int
    state: str
    bundle_cid: str | None
    root: bytes | None
    total: int
    fee: int
    submissions: int
    leaves: int
    tx_hash: str | None
    resumed: bool


def _checkpoint(name: str) -> None:
    """Exit abruptly after checkpoint ``name`` when the fault-injection variable asks for it."""
    if os.environ.get(CRASH_ENV) == name:
        os._exit(CRASH_STATUS)


# ------------------------------------------------------------------------------- inputs


def _previous_epochs(blobs: BlobStore, previous: Settlement | None) -> dict[tuple[str, str], int]:
    """``(item_cid, contributor) -> epoch`` of every submission paid by earlier epochs."""
    if previous is None or previous.bundle_cid is None:
        return {}
    subs = parse_bundle(read_document(blobs.get(previous.bundle_cid))).submissions
    return {
        (subs.items[i], subs.accounts[c]): e
        for i, c, e in zip(subs.item, subs.contributor, subs.epoch, strict=True)
    }


def _previous_held(blobs: BlobStore, previous: Settlement | None) -> dict[str, int]:
    """``account -> amount`` the previous epoch's bundle still holds (carried into this one)."""
    if previous is None or previous.bundle_cid is None:
        return {}
    section = read_document(blobs.get(previous.bundle_cid)).get("held", {})
    return {account: int(entry["held"]) for account, entry in section.items() if int(entry["held"])}


def _settleable_rows(
    spec: TaskSpec, columns: Any, reviews: list[Any], paid_before: Mapping[tuple[str, str], int]
) -> list[int]:
    """Rows of ``columns`` this epoch takes: all of them, except on a collection task, where an
    item not paid before waits until it has its ``k`` signed reviews (so an item is never
    judged, and paid nothing, before its reviewers have seen it)."""
    if spec.task_type is not TaskType.COLLECTION:
        return list(range(len(columns)))
    from datafair.services.reviews import reviews_per_submission

    needed = reviews_per_submission(spec)
    counts: dict[int, int] = {}
    for review in reviews:
        counts[review.submission_id] = counts.get(review.submission_id, 0) + 1
    return [
        r
        for r in range(len(columns))
        if (columns.item_cids[r], columns.contributors[r]) in paid_before
        or counts.get(columns.ids[r], 0) >= needed
    ]


@dataclass(frozen=True)
class Publishable:
    """Which rows of a task's submissions an epoch may publish, and what it seals.

    ``rows``: the rows the epoch takes; ``waiting``: answers left for a later epoch because
    their item is still open; ``seal``: ``item CID -> answers`` of the items the epoch
    publishes first (sealed with the bundle, each with the answers the bundle carries).
    """

    rows: list[int]
    waiting: int
    seal: dict[str, int]


def publishable_rows(
    columns: Any,
    candidates: list[int],
    paid_before: Mapping[tuple[str, str], int],
    *,
    sealed: Mapping[str, int],
    closed: set[str] | None,
    gold: Mapping[str, Any],
    seal_partial: bool,
) -> Publishable:
    """The rows among ``candidates`` whose answers may be published now: a published answer
    must never help anyone answer its item, so an item's answers are published only once the
    item can take no further answer at that moment.

    A row is taken if an earlier epoch paid it; else if its item is sealed (an answer taken
    while that item's epoch was being recorded) it is never taken; else if its item is closed
    (``closed`` holds the items with all their answers, ``None`` means every item: the task is
    closed or past its deadline), or is a gold item (retired on reveal, :mod:`.gold`), or
    ``seal_partial`` asks for open items to be published and sealed; otherwise it waits.
    """
    rows: list[int] = []
    waiting = 0
    first: set[str] = set()
    for r in candidates:
        cid = columns.item_cids[r]
        if (cid, columns.contributors[r]) in paid_before:
            rows.append(r)
        elif cid in sealed:
            continue
        elif closed is None or cid in closed or cid in gold or seal_partial:
            rows.append(r)
            first.add(cid)
        else:
            waiting += 1
    seal = dict.fromkeys(sorted(first - set(sealed)), 0)
    for r in rows:
        if columns.item_cids[r] in seal:
            seal[columns.item_cids[r]] += 1
    return Publishable(rows, waiting, seal)


def gather_inputs(
    session: Session,
    escrow: EscrowClient,
    blobs: BlobStore,
    task_id: bytes,
    epoch: int,
    method: str,
    previous: Settlement | None,
    *,
    seal_partial: bool = False,
    now: float | None = None,
    to_seal: dict[str, int] | None = None,
) -> EpochInputs:
    """Read the task, its submissions, reviews and gold reveal into canonical epoch inputs:
    the rows :func:`publishable_rows` allows at Unix time ``now`` (default: the clock).
    ``to_seal``, when given, receives the items the epoch publishes first (``item CID ->
    answers the bundle carries``), which the caller seals with the bundle."""
    answers = task_answers(session, task_id)
    task = answers.task
    check_chain(task.spec.chain_id, escrow)
    funding = funding_of(session, task_id)
    state = escrow_state(escrow, task_id)
    tree = _gold_tree(task_id, answers.gold, funding.gold_salt, state.gold_commitment)
    columns = answers.submissions
    if not len(columns):
        raise InvalidInput(
            "task", f"0x{task_id.hex()} has no submissions", "nothing to settle; label items first"
        )
    paid_before = _previous_epochs(blobs, previous)
    stored = load_task(session, task_id)
    task_pk = stored.id
    repository = TaskRepository(session)
    retired = repository.retired_gold(task_pk)
    task_closed = stored.status == TASK_CLOSED or deadline_passed(
        stored.deadline, time.time() if now is None else now
    )
    # Unsigned reviews cannot be checked by an auditor: they are neither evidence nor paid.
    reviews = [r for r in ReviewRepository(session).for_task(task_pk) if r.signature is not None]
    publishable = publishable_rows(
        columns,
        [
            r
            for r in _settleable_rows(task.spec, columns, reviews, paid_before)
            # an answer a revealed gold item took while its epoch was being settled is never
            # graded
            if columns.item_cids[r] not in retired
            or (columns.item_cids[r], columns.contributors[r]) in paid_before
        ],
        paid_before,
        sealed=repository.sealed_items(task_pk),
        closed=None if task_closed else repository.full_items(task_pk),
        gold=answers.gold,
        seal_partial=seal_partial,
    )
    rows = publishable.rows
    if not rows:
        raise _nothing_to_publish(task_id, publishable.waiting)
    kept_ids = {columns.ids[r] for r in rows}
    reviews = [review for review in reviews if review.submission_id in kept_ids]
    accounts = sorted(
        {columns.contributors[r] for r in rows} | {review.reviewer for review in reviews}
    )
    account_index = {address: i for i, address in enumerate(accounts)}
    items = sorted({columns.item_cids[r] for r in rows})
    item_index = {cid: i for i, cid in enumerate(items)}
    order = sorted(rows, key=lambda r: (columns.item_cids[r], columns.contributors[r]))
    row_of_id = {columns.ids[r]: position for position, r in enumerate(order)}
    submissions = Submissions(
        items=items,
        accounts=accounts,
        item=[item_index[columns.item_cids[r]] for r in order],
        contributor=[account_index[columns.contributors[r]] for r in order],
        answer=[columns.answers[r] for r in order],
        nonce=[int(columns.nonces[r]) for r in order],
        duration_ms=[int(columns.durations_ms[r]) for r in order],
        signature=[bytes(columns.signatures[r]) for r in order],
        epoch=[
            paid_before.get((columns.item_cids[r], columns.contributors[r]), epoch) for r in order
        ],
    )
    delegations = _delegations(session, task_pk, row_of_id)
    openings = _gold_openings(tree, retired, set(items), epoch)
    if epoch not in submissions.epoch:
        if publishable.waiting:
            raise _nothing_to_publish(task_id, publishable.waiting)
        raise Conflict(
            f"task 0x{task_id.hex()}: no new submissions since epoch {epoch - 1}; nothing to settle"
        )
    review_rows = sorted(
        (
            (row_of_id[review.submission_id], account_index[review.reviewer], review)
            for review in reviews
            if review.submission_id in row_of_id
        ),
        key=lambda entry: (entry[0], entry[1]),
    )
    if to_seal is not None:
        to_seal.update(publishable.seal)
    return EpochInputs(
        task_id=task_id,
        spec=task.spec.to_dict(),
        chain_id=escrow.chain.chain_id,
        escrow=escrow.address,
        token=state.token,
        epoch=epoch,
        submissions=submissions,
        reviews=Reviews(
            submission=[row for row, _, _ in review_rows],
            reviewer=[reviewer for _, reviewer, _ in review_rows],
            verdict=[review.verdict for _, _, review in review_rows],
            rating=[review.rating for _, _, review in review_rows],
            signature=[review.signature for _, _, review in review_rows],
        ),
        gold={cid: opening.answer for cid, opening in openings.items()},
        gold_openings=openings,
        gold_commitment=state.gold_commitment,
        method=method,
        params=default_params(method, task.spec.task_type),
        fee_bps=escrow.fee_bps(),
        delegations=delegations,
        held=_previous_held(blobs, previous),
    )


def _nothing_to_publish(task_id: bytes, waiting: int) -> DatafairError:
    """The refusal of an epoch with nothing it may publish (``waiting`` answers to open items)."""
    if not waiting:
        return InvalidInput(
            "task",
            f"0x{task_id.hex()}: no contributed item has its reviews yet",
            "review the items first (datafair review)",
        )
    return Conflict(
        f"task 0x{task_id.hex()}: nothing to settle yet: {waiting} answers wait for their items "
        "to close (k answers, the task closed or past its deadline); settle later, or pass "
        "--seal-partial to pay them now and seal their items"
    )


def _gold_tree(
    task_id: bytes, gold: Mapping[str, Any], secret: bytes, commitment: bytes
) -> GoldTree:
    """The task's gold tree; ``InvalidInput`` unless its root is the escrow's commitment."""
    tree = GoldTree(task_id, gold, secret)
    if tree.root != commitment:
        raise InvalidInput(
            "gold",
            f"the stored gold answers and salt hash to the root 0x{tree.root.hex()}, not to "
            f"the escrow's commitment 0x{commitment.hex()}",
            "gold answers changed after funding (restore them; nothing was paid), or the task "
            "was funded before per-item gold commitments (datafair-gold/2): fund a new task",
        )
    return tree


def _gold_openings(
    tree: GoldTree, retired: Mapping[str, int], items: set[str], epoch: int
) -> dict[str, GoldOpening]:
    """What the epoch's bundle reveals: the gold items earlier bundles revealed (public
    already), and the still-secret gold items this epoch grades (those with an answer in it),
    which are retired when the epoch is recorded."""
    openings = {cid: tree.opening(cid, retired[cid]) for cid in retired if cid in tree.answers}
    for cid in sorted(items & set(tree.answers)):
        if cid not in retired:
            openings[cid] = tree.opening(cid, epoch)
    return openings


def _delegations(session: Session, task_pk: int, row_of_id: Mapping[int, int]) -> Delegations:
    """The delegations behind the task's session-key submissions, in canonical order."""
    by_submission = delegations_for_task(session, task_pk)
    if not by_submission:
        return Delegations()
    rows = {
        row_of_id[sid]: delegation
        for sid, delegation in by_submission.items()
        if sid in row_of_id  # answers waiting for a later epoch are not in this one
    }
    if not rows:
        return Delegations()
    used = {delegation.id: delegation for delegation in rows.values()}
    ordered = sorted(used.values(), key=lambda d: (d.wallet, d.session_key, d.nonce))
    index_of = {delegation.id: index for index, delegation in enumerate(ordered)}
    return Delegations(
        message=[message_of(delegation).as_dict() for delegation in ordered],
        signature=[bytes(delegation.signature) for delegation in ordered],
        row=sorted(rows),
        delegation=[index_of[rows[row].id] for row in sorted(rows)],
    )


# ------------------------------------------------------------------------------- the machine


class _Machine:
    def __init__(
        self,
        session: Session,
        escrow: EscrowClient,
        blobs: BlobStore,
        task_id: bytes,
        sender: Sender,
        clock: Clock,
    ) -> None:
        self.session = session
        self.escrow = escrow
        self.blobs = blobs
        self.task_id = task_id
        self.sender = sender
        self.clock = clock

    def _save(self, row: Settlement, **changes: Any) -> None:
        for name, value in changes.items():
            setattr(row, name, value)
        row.updated_at = now_ms(self.clock)
        self.session.commit()

    def open(self, task_pk: int, method: str) -> tuple[Settlement, bool]:
        """The task's unfinished epoch (resumed) or a new one."""
        store = SettlementRepository(self.session)
        unfinished = [row for row in store.epochs(task_pk) if row.state not in FINAL_STATES]
        if unfinished:
            return unfinished[0], True
        epoch = store.last_epoch(task_pk) + 1
        now = now_ms(self.clock)
        row = Settlement(
            task_pk=task_pk,
            epoch=epoch,
            state="open",
            method=method,
            escrow=self.escrow.address,
            created_at=now,
            updated_at=now,
        )
        store.add(row)
        try:
            self.session.commit()
        except IntegrityError:
            self.session.rollback()
            raise Conflict(
                f"task 0x{self.task_id.hex()}: epoch {epoch} was just opened by another "
                "settlement run; let it finish, then rerun"
            ) from None
        _checkpoint("opened")
        return row, False

    def previous(self, row: Settlement) -> Settlement | None:
        return SettlementRepository(self.session).previous(row)

    def bundle(self, row: Settlement, seal_partial: bool) -> None:
        """``open`` → ``bundled`` (or ``empty``): compute the epoch and store its bundle."""
        seal: dict[str, int] = {}
        inputs = gather_inputs(
            self.session,
            self.escrow,
            self.blobs,
            self.task_id,
            row.epoch,
            row.method,
            self.previous(row),
            seal_partial=seal_partial,
            now=self.clock(),
            to_seal=seal,
        )
        result = compute_epoch(inputs)
        state = self.escrow.task(self.task_id)
        if result.root is not None and result.budget > state.unallocated:
            raise InvalidInput(
                "task",
                f"epoch {row.epoch} needs a budget of {result.budget} but the escrow holds "
                f"{state.unallocated} unallocated",
                f"fund at least {result.budget - state.unallocated} more, then settle again",
            )
        data = encode_bundle(bundle_document(inputs, result))
        cid = self.blobs.put(data)
        if result.root is None:
            self.record_reputations(data)
        # The gold this bundle reveals is retired in the same commit that records the bundle.
        revealed = [c for c, o in inputs.gold_openings.items() if o.revealed_in == row.epoch]
        TaskRepository(self.session).retire_gold(row.task_pk, revealed, row.epoch)
        # ... and so are the items whose answers it publishes first: they take no more answers.
        self.seal(row, seal)
        self._save(
            row,
            state="bundled" if result.root is not None else "empty",
            bundle_cid=cid,
            root=result.root,
            total=result.total,
            fee=result.fee,
            submissions=result.paid_submissions,
        )
        _checkpoint("bundled")

    def seal(self, row: Settlement, seal: Mapping[str, int]) -> None:
        """Seal the items the bundle publishes first; ``Conflict`` (nothing recorded) if one
        took an answer the bundle does not carry while the epoch was being computed."""
        counts = TaskRepository(self.session).seal_items(row.task_pk, sorted(seal), row.epoch)
        late = sorted(cid for cid, n in seal.items() if counts.get(cid, n) != n)
        if late:
            raise Conflict(
                f"task 0x{self.task_id.hex()}: item {late[0]} took an answer while epoch "
                f"{row.epoch} was being computed; nothing was recorded, settle again"
            )

    def leaves(self, row: Settlement) -> list[tuple[int, str, int]]:
        assert row.bundle_cid is not None
        document = read_document(self.blobs.get(row.bundle_cid))
        return [(int(i), str(a), int(v)) for i, a, v in document["tree"]["leaves"]]

    def store_tree(self, row: Settlement) -> None:
        """``bundled`` → ``tree``: store the bundle's leaves for claims."""
        SettlementRepository(self.session).replace_leaves(row.id, self.leaves(row))
        self._save(row, state="tree")
        _checkpoint("tree")

    def posted_event(self, epoch: int) -> Mapping[str, Any] | None:
        events = self.escrow.events(
            "PayoutPosted", self.escrow.deployment.block, task_id=self.task_id, epoch=epoch
        )
        if not events:
            return None
        event = events[-1]
        return {**event.args, "tx_hash": event.tx_hash}

    def send(self, row: Settlement) -> None:
        """``sending`` → ``posted``: post the root unless the chain already has it."""
        assert row.root is not None and row.total is not None and row.fee is not None
        assert row.bundle_cid is not None
        on_chain = self.escrow.payout_root(self.task_id, row.epoch)
        if on_chain is None:
            receipt = self.escrow.post_payout(
                self.task_id,
                row.epoch,
                row.root,
                row.total,
                row.fee,
                row.bundle_cid,
                sender=self.sender,
            )
            _checkpoint("sent")
            tx_hash: str | None = receipt.tx_hash
        elif on_chain == row.root:
            event = self.posted_event(row.epoch)
            tx_hash = None if event is None else str(event["tx_hash"])
        else:
            raise Conflict(
                f"task 0x{self.task_id.hex()} epoch {row.epoch}: the escrow holds root "
                f"0x{on_chain.hex()}, not this node's 0x{row.root.hex()} (another node settled it)"
            )
        self._save(row, state="posted", tx_hash=tx_hash)
        _checkpoint("posted")

    def record_reputations(self, data: bytes) -> None:
        """Record what the bundle says of each contributor's skill and pause the flagged
        spammers (:func:`datafair.services.reputation.update_reputations_from_bundle`;
        recording a bundle twice changes nothing, so a resumed epoch may repeat it)."""
        from datafair.services.reputation import update_reputations_from_bundle

        update_reputations_from_bundle(self.session, read_document(data), clock=self.clock)

    def confirm(self, row: Settlement) -> None:
        """``posted`` → ``done``: read the root and the event back from the chain, then
        record reputations."""
        on_chain = self.escrow.payout_root(self.task_id, row.epoch)
        if on_chain != row.root:
            raise ChainError(
                f"task 0x{self.task_id.hex()} epoch {row.epoch}: the escrow reports no matching "
                "root yet; rerun `datafair settle` to resume"
            )
        event = self.posted_event(row.epoch)
        if event is not None and event["bundle_cid"] != row.bundle_cid:
            raise Conflict(
                f"task 0x{self.task_id.hex()} epoch {row.epoch}: posted with bundle "
                f"{event['bundle_cid']}, not {row.bundle_cid}"
            )
        assert row.bundle_cid is not None
        self.record_reputations(self.blobs.get(row.bundle_cid))
        self._save(row, state="done")
        _checkpoint("done")


def settle_task(
    session: Session,
    escrow: EscrowClient,
    blobs: BlobStore,
    task_id: bytes | str,
    *,
    sender: Sender,
    method: str = "auto",
    seal_partial: bool = False,
    clock: Clock = time.time,
) -> SettlementReport:
    """Settle (or resume) the next epoch of ``task_id``; see the module docstring.

    By default the epoch pays only answers to items closed to answers; ``seal_partial`` also
    pays the answers to open items and seals those items (see "Sealed items" there)."""
    task = load_task(session, task_id)
    raw_id = task.task_id
    escrow_state(escrow, raw_id)
    funding_of(session, raw_id)
    machine = _Machine(session, escrow, blobs, raw_id, sender, clock)
    try:
        row, resumed = machine.open(task.id, method)
        if row.state == "open":
            try:
                machine.bundle(row, seal_partial)
            except BaseException:
                # Nothing was published or sent: give the epoch number back.
                session.rollback()
                session.delete(row)
                session.commit()
                raise
        if row.state == "bundled":
            machine.store_tree(row)
        if row.state == "tree":
            machine._save(row, state="sending")
            _checkpoint("sending")
        if row.state == "sending":
            machine.send(row)
        if row.state == "posted":
            machine.confirm(row)
    except BaseException:
        session.rollback()
        raise
    leaves = SettlementRepository(session).leaf_count(row.id)
    return SettlementReport(
        task_id=raw_id,
        epoch=row.epoch,
        state=row.state,
        bundle_cid=row.bundle_cid,
        root=row.root,
        total=row.total or 0,
        fee=row.fee or 0,
        submissions=row.submissions or 0,
        leaves=int(leaves or 0),
        tx_hash=row.tx_hash,
        resumed=resumed,
    )


def settlements_of(session: Session, task_id: bytes | str) -> list[Settlement]:
    """Every epoch of the task, in order."""
    task = load_task(session, task_id)
    return SettlementRepository(session).epochs(task.id)
