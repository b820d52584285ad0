"""Releases: refused before settlement; contribution tables and weights from the settlement
bundles; the card's front matter; the data document; the stored record and its search entry."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session

from datafair.core.canonical import canonical_json
from datafair.core.errors import InvalidInput
from datafair.services.releases import (
    DATA_FORMAT,
    MANIFEST_FORMAT,
    prepare_release,
    record_release,
)


def test_a_task_not_settled_cannot_be_released(
    session: Session, settled: Any, tmp_path: Any
) -> None:
    from settle_helpers import store_answered_task

    unsettled = store_answered_task(session, number=5, n_items=4)
    with pytest.raises(InvalidInput, match=r"^task: 0x[0-9a-f]{64} is not settled \(settle it"):
        prepare_release(session, settled.world.blobs, ["0x" + unsettled.hex()])
    with pytest.raises(InvalidInput, match=r"^royalty_bps: 1000 is below the 4000 bps"):
        prepare_release(
            session, settled.world.blobs, ["0x" + settled.collection.hex()], royalty_bps=1_000
        )


def test_weights_follow_settlement_and_accepted_items(session: Session, settled: Any) -> None:
    from settle_helpers import crowd_keys
    from sqlalchemy import select

    from datafair.store.settlement_models import PayoutLeaf

    blobs = settled.world.blobs
    targets = ["0x" + settled.labelling.hex(), "0x" + settled.collection.hex()]
    prepared = prepare_release(session, blobs, targets, title="Reviews, labelled and collected")
    paid: dict[str, int] = {}
    for leaf in session.scalars(select(PayoutLeaf)):
        paid[leaf.account] = paid.get(leaf.account, 0) + leaf.amount
    first, second = settled.providers
    # providers: paid for their accepted items, plus the value of each accepted item again
    assert prepared.weights[first[1]] == paid[first[1]] + 3 * 500
    assert prepared.weights[second[1]] == paid[second[1]] + 1 * 500
    # the always-"pos" spammer and the random one earn no weight
    wallets = crowd_keys(6)
    spammer = wallets[4][1]
    assert spammer not in prepared.weights or prepared.weights[spammer] < min(
        prepared.weights[w[1]] for w in wallets[:4]
    )
    careful = [prepared.weights[w[1]] for w in wallets[:4]]
    assert min(careful) > 0
    # one share for the whole release: the larger promise (collection task: 40 %)
    assert prepared.facts.royalty_bps == 4_000
    manifest = json.loads(blobs.get(prepared.manifest_cid))
    assert manifest["format"] == MANIFEST_FORMAT
    assert manifest["release_bundle"] == prepared.bundle_cid
    raw = blobs.get(prepared.data_cid)
    assert raw == canonical_json(json.loads(raw))  # the data document is canonical JSON
    data = json.loads(raw)
    assert data["format"] == DATA_FORMAT
    collected = [row for row in data["rows"] if row["source"] == 1]
    assert len(collected) == 4  # the rejected item is left out
    assert {row["provenance"]["contributor"] for row in collected} == {first[1], second[1]}
    assert all(len(row["provenance"]["reviews"]) == 2 for row in collected)


def test_card_has_hugging_face_front_matter(session: Session, settled: Any) -> None:
    prepared = prepare_release(
        session, settled.world.blobs, ["0x" + settled.collection.hex()], license="CC-BY-NC-4.0"
    )
    text = settled.world.blobs.get(prepared.card_cid).decode()
    assert text.startswith("---\n")
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["license"] == "cc-by-nc-4.0"
    assert front["commercial_use"] is False
    assert front["language"] == ["en"]
    assert front["task_categories"] == ["text-generation"]
    assert front["size_categories"] == ["n<1K"]
    quality = front["datafair"]["quality"]
    assert quality["inferred_accuracy"] == 0.8 and quality["gold_accuracy"] is None
    assert front["source_licenses"][0]["license"] == "CC-BY-4.0"
    assert "## Provenance" in text and "40 % of every sale" in text
    with pytest.raises(InvalidInput, match=r"^license: 'not a licence'"):
        prepare_release(
            session, settled.world.blobs, ["0x" + settled.collection.hex()], license="not a licence"
        )


def test_recorded_release_is_browsable(session: Session, settled: Any) -> None:
    from datafair.services.market import ReleaseFilter, browse

    prepared = prepare_release(session, settled.world.blobs, ["0x" + settled.collection.hex()])
    info = record_release(
        session,
        prepared,
        owner=settled.providers[0][1],
        token_id=None,
        weights_root=b"\1" * 32,
        registry=None,
        register_tx=None,
        encrypted_cid=None,
    )
    assert info.version == 1 and info.items == 4
    assert [r.release_id for r in browse(session, ReleaseFilter(query="collected"))] == [
        info.release_id
    ]
    assert browse(session, ReleaseFilter(query="spreadsheets")) == []
    again = prepare_release(session, settled.world.blobs, ["0x" + settled.collection.hex()])
    assert again.facts.version == 2


def _source(number: int, items: list[str], labels: list[Any], provenance: list[Any]) -> Any:
    from datafair.economics.royalty_weights import ContributionTable
    from datafair.services.releases import Source

    table = ContributionTable(
        accounts=[], paid=[], accepted_items=[], answers=[], reviews=[], item_value=0
    )
    return Source(
        task_id=bytes([number]) * 32,
        spec={},
        dataset_card={},
        bundle_cids=[],
        items=items,
        labels=labels,
        provenance=provenance,
        table=table,
        quality={},
    )


@pytest.mark.parametrize("chunk", [1, 2, 3, 65_536])
def test_data_chunks_equal_the_whole_document_encoded_at_once(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datafair.services import releases

    monkeypatch.setattr(releases, "_ROWS_PER_CHUNK", chunk)
    plain = _source(0, ["a", "b", "c", "d", "e"], ["pos", 1, True, None, 'é"\\\n'], [None] * 5)
    mixed = _source(
        1,
        ["f", "g", "h", "i"],
        [{"z": 1, "a": [2, 1]}, 0.0, -0.0, "x"],
        [None, None, None, {"signature": "0x01", "contributor": "0xab", "reviews": []}],
    )
    empty = _source(2, [], [], [])
    sources = [plain, empty, mixed, plain]
    rows = [
        {"item": cid, "label": label, "source": n}
        | ({} if origin is None else {"provenance": origin})
        for n, s in enumerate(sources)
        for cid, label, origin in zip(s.items, s.labels, s.provenance, strict=True)
    ]
    whole = json.dumps(
        {"format": DATA_FORMAT, "rows": rows},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    assert b"".join(releases.data_chunks(sources)) == whole
    assert json.loads(whole)["rows"][2]["label"] is True  # True stays apart from 1
    assert b"".join(releases.data_chunks([empty])) == b'{"format":"%s","rows":[]}' % (
        DATA_FORMAT.encode()
    )


def test_an_older_bundle_is_read_by_its_tree_section(settled: Any, session: Session) -> None:
    from sqlalchemy import select

    from datafair.services.releases import _tree_section
    from datafair.store.settlement_models import Settlement

    cid = session.scalar(select(Settlement.bundle_cid).where(Settlement.state == "done"))
    data = settled.world.blobs.get(cid)
    document = json.loads(data)
    assert _tree_section(data) == document["tree"] and document["tree"]["leaves"]
    # a key after "tree" (or any other shape) is parsed whole, never sliced wrongly
    for extra in ({"zz": {"a": 1, "tree": {"leaves": []}}}, {"zz": [1]}):
        later = json.dumps({**document, **extra}, sort_keys=True, separators=(",", ":"))
        assert _tree_section(later.encode()) == document["tree"]
    spaced = json.dumps(document, sort_keys=True).encode()
    assert _tree_section(spaced) == document["tree"]
