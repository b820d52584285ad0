"""Audit: a settled bundle recomputes exactly; any changed byte is caught and named."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from settle_helpers import OWNER, World, fund
from sqlalchemy.orm import Session

from datafair.services.settlement.audit import AuditMismatch, audit_bundle, escrow_named_by
from datafair.services.settlement.bundle import encode_bundle
from datafair.services.settlement.settle import settle_task


@pytest.fixture
def settled(session: Session, world: World, label: Any) -> tuple[bytes, Any]:
    labelled = label()
    fund(session, world, labelled.task_id)
    report = settle_task(session, world.escrow, world.blobs, labelled.task_id, sender=OWNER)
    assert report.bundle_cid is not None
    return world.blobs.get(report.bundle_cid), report


def _edit(data: bytes, change: Any) -> bytes:
    document = json.loads(data)
    change(document)
    return encode_bundle(document)


def test_the_bundle_audits_with_and_without_the_chain(
    world: World, settled: tuple[bytes, Any]
) -> None:
    data, report = settled
    online = audit_bundle(data, world.escrow)
    offline = audit_bundle(data, None)
    assert online.root == offline.root == report.root
    assert online.chain_checked and not offline.chain_checked
    assert online.submissions == 72 and online.gold_items == 1


def _flip_hex(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


def _gold_cid(document: dict[str, Any]) -> str:
    (cid,) = document["gold"]["openings"]
    return str(cid)


def _gold_opening(document: dict[str, Any]) -> dict[str, Any]:
    return document["gold"]["openings"][_gold_cid(document)]  # type: ignore[no-any-return]


_GOLD_DOES_NOT_OPEN = (
    r"gold: item bafkrei\w+: its revealed answer, salt and proof do not lead to the commitment"
)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["submissions"]["signature"].__setitem__(
                5, _flip_hex(d["submissions"]["signature"][5])
            ),
            r"submission 5 \(item bafkrei\w+, contributor 0x\w+\): signature does not verify",
        ),
        (
            lambda d: d["submissions"]["answer"].__setitem__(
                3, '"neg"' if d["submissions"]["answer"][3] == '"pos"' else '"pos"'
            ),
            "submission 3 .* signature does not verify",
        ),
        (
            lambda d: _gold_opening(d).__setitem__("salt", _flip_hex(_gold_opening(d)["salt"])),
            _GOLD_DOES_NOT_OPEN,
        ),
        (
            lambda d: d["gold"]["answers"].__setitem__(
                _gold_cid(d), "neg" if d["gold"]["answers"][_gold_cid(d)] == "pos" else "pos"
            ),
            _GOLD_DOES_NOT_OPEN,
        ),
        (
            lambda d: _gold_opening(d)["proof"].append("0x" + "11" * 32),
            _GOLD_DOES_NOT_OPEN,
        ),
        (
            lambda d: d["gold"].__setitem__("format", "datafair-gold/1"),
            "bundle: gold is in format datafair-gold/1, which revealed every gold answer",
        ),
        (
            lambda d: d["tree"]["leaves"][0].__setitem__(
                2, str(int(d["tree"]["leaves"][0][2]) + 1)
            ),
            r"tree.leaves\[0\]\[2\] is '\d+' in the bundle, recomputed '\d+'",
        ),
        (
            lambda d: d["payout"].__setitem__("fee", "0"),
            "payout.fee is '0' in the bundle, recomputed",
        ),
        (
            lambda d: d["inferred"]["labels"].__setitem__(
                2, "neg" if d["inferred"]["labels"][2] == "pos" else "pos"
            ),
            r"inferred.labels\[2\]",
        ),
        (
            lambda d: d["quality"].__setitem__("method", "mv"),
            "recomputation refused the bundle: quality.params: do not fit method 'mv'",
        ),
        (
            lambda d: d["task"]["spec"].__setitem__("price_per_answer", "11"),
            "task.spec does not hash to task.task_id",
        ),
        (
            lambda d: d["chain"].__setitem__("chain_id", 530),
            "chain.chain_id is 530 but the task spec names 31337",
        ),
    ],
    ids=[
        "signature",
        "answer",
        "gold-salt",
        "gold-answer",
        "gold-proof",
        "gold-format",
        "leaf-amount",
        "fee",
        "label",
        "method",
        "price",
        "chain-id",
    ],
)
def test_each_altered_field_is_named(
    world: World, settled: tuple[bytes, Any], change: Any, message: str
) -> None:
    data, _ = settled
    with pytest.raises(AuditMismatch, match=f"^audit failed: {message}"):
        audit_bundle(_edit(data, change), world.escrow)


def test_a_difference_names_the_version_that_wrote_the_bundle(
    world: World, settled: tuple[bytes, Any]
) -> None:
    # the quality engine changes between versions: an auditor is told which one to use
    data, _ = settled

    def older(document: dict[str, Any]) -> None:
        document["software"]["version"] = "0.0.9"
        document["payout"]["fee"] = "0"

    with pytest.raises(
        AuditMismatch, match=r"written by datafair 0\.0\.9 .* with datafair 0\.0\.9\)$"
    ):
        audit_bundle(_edit(data, older), world.escrow)
    with pytest.raises(AuditMismatch, match=r"recomputed '\d+'$"):
        audit_bundle(_edit(data, lambda d: d["payout"].__setitem__("fee", "0")), world.escrow)


def test_non_canonical_bytes_are_refused(world: World, settled: tuple[bytes, Any]) -> None:
    data, _ = settled
    with pytest.raises(AuditMismatch, match="not in canonical JSON form"):
        audit_bundle(data.replace(b'{"chain"', b'{ "chain"', 1), world.escrow)


def test_any_changed_byte_fails_the_audit(world: World, settled: tuple[bytes, Any]) -> None:
    data, _ = settled
    rng = random.Random(5)
    positions = rng.sample(range(len(data)), 40)
    for position in positions:
        replacement = (data[position] + rng.randrange(1, 256)) % 256
        tampered = data[:position] + bytes((replacement,)) + data[position + 1 :]
        with pytest.raises(AuditMismatch):
            audit_bundle(tampered, world.escrow)


def test_a_bundle_for_the_wrong_cid_is_refused(world: World, settled: tuple[bytes, Any]) -> None:
    data, report = settled
    with pytest.raises(AuditMismatch, match="hash to bafkrei"):
        audit_bundle(data + b" ", world.escrow, expected_cid=report.bundle_cid)


def test_an_auditor_without_a_deployment_file_uses_the_bundle_escrow(
    world: World, settled: tuple[bytes, Any]
) -> None:
    data, report = settled
    escrow = escrow_named_by(world.chain, data)
    assert escrow.address == world.escrow.address
    assert audit_bundle(data, escrow).root == report.root
    elsewhere = _edit(data, lambda d: d["chain"].__setitem__("escrow", OWNER))
    with pytest.raises(AuditMismatch, match="no contract at the bundle's escrow"):
        escrow_named_by(world.chain, elsewhere)
