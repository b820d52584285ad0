"""Audit a settlement bundle: recompute the epoch from the bundle alone and compare with chain.

Inputs: the bundle's bytes (from a file or the blob store), optionally an
:class:`~datafair.chain.escrow.EscrowClient` on the chain the bundle names and a source of the
earlier epochs' bundles (a blob store, or a function from a CID to bytes or ``None``), and the
number of processes for signature checks.

Checks, in order; the first that fails raises :class:`AuditMismatch` naming it:

1. the bytes are a canonical JSON bundle (:func:`~datafair.services.settlement.bundle.
   read_document`): any byte added, removed or moved fails here or below;
2. the task id is the keccak-256 of the published spec;
3. every revealed gold item's answer and salt, with its Merkle proof, lead to the bundle's gold
   commitment, and no submission to it is paid after the epoch that revealed it (:mod:`.gold`);
   no submission to any item is paid after the epoch that first published the item's answers
   (:func:`verify_sealed`: a published item is sealed);
4. every submission's EIP-712 signature recovers to its contributor, and every review's to its
   reviewer (:mod:`.signatures`);
5. inference, rewards, fee and tree recomputed by :func:`~datafair.services.settlement.bundle.
   compute_epoch` equal the bundle's, section by section, and the whole recomputed bundle equals
   the given bytes (the quality engine's methods change between versions: when the bundle names
   another version of datafair than this one, a difference says so and which version to audit
   with);
6. on chain: the escrow's gold commitment and token for the task, the epoch's root, and the
   ``PayoutPosted`` event's total, fee and bundle CID (the CID of the given bytes);
7. history (with a chain and a ``history`` source of earlier bundles): for every earlier epoch
   of the task with a ``PayoutPosted`` event, the bundle it names hashes to that CID, is for
   that task, chain, escrow, token and gold commitment, and agrees with the bundle under audit,
   revealed gold included (:func:`check_history`). Earlier bundles the source does not have
   are reported, not failed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datafair import __version__
from datafair.chain.base import Chain, address_of
from datafair.chain.escrow import EscrowClient, escrow_at
from datafair.core.canonical import canonical_hash
from datafair.core.errors import DatafairError, InvalidInput, NotFound
from datafair.crypto.cid import compute_cid, is_cid
from datafair.services.settlement.bundle import (
    EpochInputs,
    bundle_document,
    compute_epoch,
    encode_bundle,
    parse_bundle,
    read_document,
)
from datafair.services.settlement.delegated import first_bad_delegation, session_keys
from datafair.services.settlement.gold import first_bad_opening
from datafair.services.settlement.signatures import (
    first_bad_review,
    first_bad_signature,
    typehash_for,
)
from datafair.store.blobs import BlobStore

BundleSource = Callable[[str], bytes | None]
"""Earlier bundles by CID: their bytes, or ``None`` when not available."""

SECTIONS = ("task", "chain", "epoch", "gold", "submissions", "reviews", "quality", "inferred")
MONEY_SECTIONS = ("rewards", "payout", "tree")


class AuditMismatch(DatafairError):
    """The bundle does not recompute, or the chain disagrees with it."""

    def __init__(self, what: str) -> None:
        super().__init__(f"audit failed: {what}")


@dataclass(frozen=True)
class AuditReport:
    """What an audit recomputed and checked."""

    bundle_cid: str
    task_id: bytes
    epoch: int
    submissions: int
    paid_submissions: int
    reviews: int
    gold_items: int
    """Gold items the bundle reveals (this epoch's and earlier ones')."""
    gold_revealed_now: int
    """Gold items this epoch's bundle revealed first (retired at this epoch)."""
    method: str
    leaves: int
    root: bytes | None
    total: int
    fee: int
    fee_bps: int
    unearned: int
    chain_checked: bool
    tx_hash: str | None
    escrow: str
    history_checked: list[int] = field(default_factory=list)
    """Earlier posted epochs whose bundles were read and agree with this one."""
    history_missing: list[tuple[int, str]] = field(default_factory=list)
    """Earlier posted epochs ``(epoch, bundle CID)`` whose bundles were not available."""


def escrow_named_by(chain: Chain, data: bytes, cache_dir: Path | None = None) -> EscrowClient:
    """A client for the escrow a bundle names, for auditors without a deployment file.

    The escrow's address comes from the bundle itself; the audit then compares the bundle
    with what that contract holds, and the report names the address so the auditor can check
    that it is the marketplace's escrow. ``AuditMismatch`` if the bundle names none or the
    chain has no contract there.
    """
    try:
        address = address_of(json.loads(data)["chain"]["escrow"])
    except (ValueError, KeyError, TypeError, InvalidInput):
        raise AuditMismatch("bundle: names no escrow address (chain.escrow)") from None
    if not chain.code_at(address):
        raise AuditMismatch(f"chain: no contract at the bundle's escrow {address}")
    return escrow_at(chain, address, cache_dir)


def read_bundle(source: str, blobs: BlobStore | None) -> tuple[bytes, str | None]:
    """The bytes of ``source`` (a file path, or a CID in ``blobs``) and the CID asked for."""
    path = Path(source)
    if path.is_file():
        return path.read_bytes(), None
    if is_cid(source):
        if blobs is None:
            raise InvalidInput("BUNDLE", f"{source} is a CID but no blob store is open")
        return blobs.get(source, verify=False), source
    raise InvalidInput(
        "BUNDLE", f"{source!r} is neither a file nor a bundle CID", "give a path or a bafkrei... id"
    )


def _first_difference(recorded: Any, recomputed: Any, path: str) -> str:
    """A short description of where two JSON values first differ."""
    if isinstance(recorded, dict) and isinstance(recomputed, dict):
        for key in sorted(set(recorded) | set(recomputed)):
            if recorded.get(key) != recomputed.get(key):
                return _first_difference(recorded.get(key), recomputed.get(key), f"{path}.{key}")
    if isinstance(recorded, list) and isinstance(recomputed, list):
        if len(recorded) != len(recomputed):
            return f"{path} has {len(recorded)} entries, recomputed {len(recomputed)}"
        for i, (a, b) in enumerate(zip(recorded, recomputed, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{i}]")
    return f"{path} is {_short(recorded)} in the bundle, recomputed {_short(recomputed)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _verify_inputs(inputs: EpochInputs, workers: int | None) -> None:
    if canonical_hash(inputs.spec) != inputs.task_id:
        raise AuditMismatch("task.spec does not hash to task.task_id")
    _verify_gold(inputs)
    verify_sealed(inputs)
    if int(inputs.spec.get("chain_id", -1)) != inputs.chain_id:
        raise AuditMismatch(
            f"chain.chain_id is {inputs.chain_id} but the task spec names "
            f"{inputs.spec.get('chain_id')!r}"
        )
    subs = inputs.submissions
    problem = first_bad_delegation(inputs)
    if problem is not None:
        raise AuditMismatch(problem)
    bad = first_bad_signature(
        inputs.task_id,
        inputs.chain_id,
        subs.items,
        subs.accounts,
        subs.item,
        subs.contributor,
        subs.answer,
        subs.nonce,
        subs.duration_ms,
        subs.signature,
        workers=workers,
        signers=session_keys(inputs),
        typehash=typehash_for(str(inputs.spec.get("schema", {}).get("task_type", ""))),
    )
    if bad is not None:
        row, reason = bad
        raise AuditMismatch(
            f"submission {row} (item {subs.items[subs.item[row]]}, contributor "
            f"{subs.accounts[subs.contributor[row]]}): signature does not verify: {reason}"
        )
    reviews = inputs.reviews
    bad = first_bad_review(
        inputs.task_id,
        inputs.chain_id,
        subs.accounts,
        subs.signature,
        reviews.submission,
        reviews.reviewer,
        reviews.verdict,
        reviews.rating,
        reviews.signature,
    )
    if bad is not None:
        index, reason = bad
        raise AuditMismatch(
            f"review {index} (of submission {reviews.submission[index]}, reviewer "
            f"{subs.accounts[reviews.reviewer[index]]}): signature does not verify: {reason}"
        )


def _verify_gold(inputs: EpochInputs) -> None:
    """Each revealed gold item opens the commitment, was revealed by this epoch or an earlier
    one, and no answer to it is paid after that epoch (retired items are never graded)."""
    problem = first_bad_opening(inputs.task_id, inputs.gold_commitment, inputs.gold_openings)
    if problem is not None:
        raise AuditMismatch(problem)
    subs = inputs.submissions
    for cid, opening in sorted(inputs.gold_openings.items()):
        if opening.revealed_in > inputs.epoch:
            raise AuditMismatch(
                f"gold: item {cid} is marked revealed in epoch {opening.revealed_in}, "
                f"after this epoch {inputs.epoch}"
            )
    for row, (item, paid_in) in enumerate(zip(subs.item, subs.epoch, strict=True)):
        revealed = inputs.gold_openings.get(subs.items[item])
        if revealed is not None and paid_in > revealed.revealed_in:
            raise AuditMismatch(
                f"gold: submission {row} to item {subs.items[item]} is paid in epoch {paid_in}, "
                f"after epoch {revealed.revealed_in} revealed its gold answer"
            )


def verify_sealed(inputs: EpochInputs) -> None:
    """Every answer to an item is paid in the epoch that first published the item's answers:
    a published item is sealed (it takes no further answer), so an answer paid later was
    taken after anyone could read the published ones (:mod:`.settle`, "Sealed items")."""
    subs = inputs.submissions
    published: dict[int, int] = {}
    for item, paid_in in zip(subs.item, subs.epoch, strict=True):
        published[item] = min(paid_in, published.get(item, paid_in))
    for row, (item, paid_in) in enumerate(zip(subs.item, subs.epoch, strict=True)):
        if paid_in > published[item]:
            raise AuditMismatch(
                f"submissions: submission {row} to item {subs.items[item]} is paid in epoch "
                f"{paid_in}, but epoch {published[item]} already published the item's answers "
                "(a published item is sealed and takes no more answers)"
            )


def _check_chain(
    escrow: EscrowClient, inputs: EpochInputs, root: bytes | None, total: int, fee: int, cid: str
) -> str | None:
    if escrow.chain.chain_id != inputs.chain_id:
        raise AuditMismatch(
            f"chain: the bundle is for chain id {inputs.chain_id}, "
            f"the node is on {escrow.chain.chain_id}"
        )
    if escrow.address != inputs.escrow:
        raise AuditMismatch(f"chain: the bundle names escrow {inputs.escrow}, not {escrow.address}")
    state = escrow.task(inputs.task_id)
    if not state.exists:
        raise AuditMismatch(f"chain: task 0x{inputs.task_id.hex()} is not on the escrow")
    if state.gold_commitment != inputs.gold_commitment:
        raise AuditMismatch(
            f"chain: the escrow's gold commitment is 0x{state.gold_commitment.hex()}, "
            f"the bundle's 0x{inputs.gold_commitment.hex()}"
        )
    if state.token != inputs.token:
        raise AuditMismatch(f"chain: the escrow's token is {state.token}, not {inputs.token}")
    on_chain = escrow.payout_root(inputs.task_id, inputs.epoch)
    if on_chain != root:
        shown = "none" if on_chain is None else "0x" + on_chain.hex()
        expected = "none" if root is None else "0x" + root.hex()
        raise AuditMismatch(
            f"chain: epoch {inputs.epoch} root on chain is {shown}, recomputed {expected}"
        )
    if root is None:
        return None
    events = escrow.events(
        "PayoutPosted", escrow.deployment.block, task_id=inputs.task_id, epoch=inputs.epoch
    )
    if not events:
        raise AuditMismatch(f"chain: no PayoutPosted event for epoch {inputs.epoch}")
    args = events[-1].args
    for name, expected_value in (("total", total), ("fee", fee), ("bundle_cid", cid)):
        if args[name] != expected_value:
            raise AuditMismatch(
                f"chain: PayoutPosted.{name} is {args[name]}, recomputed {expected_value}"
            )
    return events[-1].tx_hash


# ------------------------------------------------------------------------------- history


@dataclass(frozen=True)
class EarlierBundle:
    """The bundle posted for an earlier ``epoch`` of the task, its CID and what it publishes."""

    epoch: int
    cid: str
    inputs: EpochInputs
    held: dict[str, int] = field(default_factory=dict)
    """What that bundle's ``held`` section keeps held per account (carried into the next)."""


def posted_bundles(escrow: EscrowClient, task_id: bytes, before: int) -> dict[int, str]:
    """``epoch -> bundle CID`` of the task's epochs below ``before`` that have a
    ``PayoutPosted`` event (the last event of each epoch)."""
    posted: dict[int, str] = {}
    for event in escrow.events("PayoutPosted", escrow.deployment.block, task_id=task_id):
        epoch = int(event.args["epoch"])
        if epoch < before:
            posted[epoch] = str(event.args["bundle_cid"])
    return dict(sorted(posted.items()))


def _source(history: BlobStore | BundleSource) -> BundleSource:
    if not isinstance(history, BlobStore):
        return history
    blobs = history

    def read(cid: str) -> bytes | None:
        try:
            return blobs.get(cid, verify=False)
        except NotFound:
            return None

    return read


def _shown(value: Any) -> str:
    """``_short(value)``, bytes as 0x-hex."""
    if not isinstance(value, bytes):
        return _short(value)
    text = "0x" + value.hex()
    return text if len(text) <= 80 else text[:77] + "..."


_SUBMISSION_FIELDS = ("answer", "nonce", "duration_ms", "signature", "epoch")
_REVIEW_FIELDS = ("verdict", "rating", "signature")


def _row_key(key: tuple[str, ...]) -> str:
    """``item X, contributor Y[, reviewer Z]``."""
    names = ("item", "contributor", "reviewer")[: len(key)]
    return ", ".join(f"{name} {value}" for name, value in zip(names, key, strict=True))


def _submission_rows(inputs: EpochInputs) -> dict[tuple[str, str], int]:
    """``(item CID, contributor) -> row`` of the submissions."""
    subs = inputs.submissions
    return {
        (subs.items[i], subs.accounts[c]): row
        for row, (i, c) in enumerate(zip(subs.item, subs.contributor, strict=True))
    }


def _review_rows(inputs: EpochInputs) -> dict[tuple[str, str, str], int]:
    """``(item CID, contributor, reviewer) -> index`` of the reviews."""
    subs, reviews = inputs.submissions, inputs.reviews
    return {
        (
            subs.items[subs.item[row]],
            subs.accounts[subs.contributor[row]],
            subs.accounts[reviewer],
        ): index
        for index, (row, reviewer) in enumerate(
            zip(reviews.submission, reviews.reviewer, strict=True)
        )
    }


def _kept(
    where: str,
    what: str,
    earlier: tuple[Any, dict[Any, int]],
    later: tuple[Any, dict[Any, int]],
    names: tuple[str, ...],
    epoch: int,
) -> None:
    """Every row of the earlier columns is in the later ones with the same ``names`` values."""
    (old, old_rows), (new, new_rows) = earlier, later
    for key, row in old_rows.items():
        mine = new_rows.get(key)
        if mine is None:
            raise AuditMismatch(
                f"{where}: {what} {row} of that bundle ({_row_key(key)}) is missing from the "
                f"epoch {epoch} bundle"
            )
        for name in names:
            there, here = getattr(old, name)[row], getattr(new, name)[mine]
            if there != here:
                raise AuditMismatch(
                    f"{where}: {what} {row} of that bundle ({_row_key(key)}) has {name} "
                    f"{_shown(there)} there, {_shown(here)} in the epoch {epoch} bundle"
                )


def _same_task(where: str, earlier: EarlierBundle, inputs: EpochInputs) -> None:
    old = earlier.inputs
    if old.epoch != earlier.epoch:
        raise AuditMismatch(f"{where}: the bundle is for epoch {old.epoch}")
    for name, there, here in (
        ("task.task_id", old.task_id, inputs.task_id),
        ("chain.chain_id", old.chain_id, inputs.chain_id),
        ("chain.escrow", old.escrow, inputs.escrow),
        ("chain.token", old.token, inputs.token),
        ("gold.commitment", old.gold_commitment, inputs.gold_commitment),
    ):
        if there != here:
            raise AuditMismatch(
                f"{where}: {name} is {_shown(there)} there, "
                f"{_shown(here)} in the epoch {inputs.epoch} bundle"
            )


def _kept_gold(where: str, earlier: EarlierBundle, inputs: EpochInputs) -> None:
    """The gold an earlier bundle revealed is revealed alike here, and nothing here claims to
    have been revealed by it that it did not reveal."""
    old, new = earlier.inputs.gold_openings, inputs.gold_openings
    for cid in sorted(old):
        if new.get(cid) != old[cid]:
            raise AuditMismatch(
                f"{where}: its revealed gold item {cid} is missing or different in the "
                f"epoch {inputs.epoch} bundle"
            )
    for cid, opening in sorted(new.items()):
        if opening.revealed_in <= earlier.epoch and cid not in old:
            raise AuditMismatch(
                f"{where}: gold item {cid} is marked revealed in epoch {opening.revealed_in} "
                "but that bundle does not reveal it"
            )


def check_history(inputs: EpochInputs, earlier: Iterable[EarlierBundle]) -> list[int]:
    """Check that the epoch ``inputs`` kept what each earlier posted bundle published.

    For each earlier bundle (epoch ``e``): it is for epoch ``e`` and the same task id, chain id,
    escrow, token and gold commitment; each of its submissions (by item CID and contributor) is
    in ``inputs`` with the same answer, nonce, duration, signature and epoch; each submission
    of ``inputs`` marked paid in an epoch up to ``e`` is in it (nothing back-dated); each of its
    reviews (by reviewed item, contributor and reviewer) is in ``inputs`` with the same verdict,
    rating and signature; each gold item it revealed is revealed alike, and no gold item is
    said to be revealed by it that it did not reveal; the bundle of the epoch just before
    carries in exactly what it held (``held`` section). Later reviews of earlier rows are
    allowed (they are evidence, and earn nothing). The first failure raises
    :class:`AuditMismatch`; returns the epochs checked.
    """
    subs = inputs.submissions
    rows = _submission_rows(inputs)
    reviews = _review_rows(inputs)
    checked = []
    for bundle in earlier:
        where = f"history: epoch {bundle.epoch} bundle {bundle.cid}"
        _same_task(where, bundle, inputs)
        old_rows = _submission_rows(bundle.inputs)
        _kept(
            where,
            "submission",
            (bundle.inputs.submissions, old_rows),
            (subs, rows),
            _SUBMISSION_FIELDS,
            inputs.epoch,
        )
        for key, row in rows.items():
            if subs.epoch[row] <= bundle.epoch and key not in old_rows:
                raise AuditMismatch(
                    f"{where}: submission {row} of the epoch {inputs.epoch} bundle "
                    f"({_row_key(key)}) is marked paid in epoch {subs.epoch[row]} "
                    "but is not in that bundle"
                )
        _kept_gold(where, bundle, inputs)
        if bundle.epoch == inputs.epoch - 1 and bundle.held != inputs.held:
            raise AuditMismatch(
                f"{where}: it holds {_shown(bundle.held)}, but the epoch {inputs.epoch} bundle "
                f"carries {_shown(inputs.held)} in (held section)"
            )
        _kept(
            where,
            "review",
            (bundle.inputs.reviews, _review_rows(bundle.inputs)),
            (inputs.reviews, reviews),
            _REVIEW_FIELDS,
            inputs.epoch,
        )
        checked.append(bundle.epoch)
    return checked


def _earlier_bundles(
    escrow: EscrowClient, inputs: EpochInputs, read: BundleSource, missing: list[tuple[int, str]]
) -> Iterator[EarlierBundle]:
    """The earlier posted bundles ``read`` has, one at a time (the others go to ``missing``)."""
    for epoch, cid in posted_bundles(escrow, inputs.task_id, inputs.epoch).items():
        data = read(cid)
        if data is None:
            missing.append((epoch, cid))
            continue
        where = f"history: epoch {epoch} bundle {cid}"
        actual = compute_cid(data)
        if actual != cid:
            raise AuditMismatch(f"{where}: the bytes read hash to {actual}")
        try:
            document = read_document(data)
            held = {
                account: int(entry["held"])
                for account, entry in document.get("held", {}).items()
                if int(entry["held"])
            }
            yield EarlierBundle(epoch, cid, parse_bundle(document), held)
        except InvalidInput as error:
            raise AuditMismatch(f"{where}: {error}") from None


# ------------------------------------------------------------------------------- the audit


def _other_version(document: dict[str, Any]) -> str:
    """A note for a recomputation that differs when another datafair wrote the bundle."""
    software = document.get("software")
    written = software.get("version") if isinstance(software, dict) else None
    if not isinstance(written, str) or written == __version__:
        return ""
    return (
        f" (the bundle was written by datafair {written} and this is {__version__}: "
        f"audit it with datafair {written})"
    )


def audit_bundle(
    data: bytes,
    escrow: EscrowClient | None = None,
    *,
    expected_cid: str | None = None,
    workers: int | None = None,
    history: BlobStore | BundleSource | None = None,
) -> AuditReport:
    """Recompute the bundle ``data`` and compare it with the chain (see the module docstring).

    With both ``escrow`` and ``history`` (a blob store, or a function from a CID to the bytes
    or ``None``), also check it against the earlier posted epochs' bundles (step 7).
    """
    cid = compute_cid(data)
    if expected_cid is not None and cid != expected_cid:
        raise AuditMismatch(f"bundle: its bytes hash to {cid}, not to the requested {expected_cid}")
    try:
        document = read_document(data)
        inputs = parse_bundle(document)
    except InvalidInput as error:
        raise AuditMismatch(str(error)) from None
    _verify_inputs(inputs, workers)
    try:
        result = compute_epoch(inputs)
    except InvalidInput as error:
        raise AuditMismatch(f"recomputation refused the bundle: {error}") from None
    recomputed = bundle_document(inputs, result)
    recomputed["software"] = document["software"]
    for section in (*SECTIONS, *MONEY_SECTIONS):
        if document.get(section) != recomputed.get(section):
            raise AuditMismatch(
                _first_difference(document.get(section), recomputed.get(section), section)
                + _other_version(document)
            )
    if encode_bundle(recomputed) != data:
        extra = sorted(set(document) - set(recomputed))
        raise AuditMismatch(f"bundle: unexpected fields {extra}")
    tx_hash = None
    checked: list[int] = []
    missing: list[tuple[int, str]] = []
    if escrow is not None:
        tx_hash = _check_chain(escrow, inputs, result.root, result.total, result.fee, cid)
        if history is not None:
            earlier = _earlier_bundles(escrow, inputs, _source(history), missing)
            checked = check_history(inputs, earlier)
    return AuditReport(
        bundle_cid=cid,
        task_id=inputs.task_id,
        epoch=inputs.epoch,
        submissions=len(inputs.submissions),
        paid_submissions=result.paid_submissions,
        reviews=len(inputs.reviews),
        gold_items=len(inputs.gold),
        gold_revealed_now=sum(o.revealed_in == inputs.epoch for o in inputs.gold_openings.values()),
        method=inputs.method,
        leaves=len(result.leaves),
        root=result.root,
        total=result.total,
        fee=result.fee,
        fee_bps=result.payout.fee_bps,
        unearned=result.payout.unearned,
        chain_checked=escrow is not None,
        tx_hash=tx_hash,
        escrow=inputs.escrow,
        history_checked=checked,
        history_missing=missing,
    )
