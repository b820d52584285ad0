"""Releases: freeze a dataset version, compute who built it, register it with its royalty weights.

``release(session, blobs, targets, market, sender=...)`` takes one or more settled tasks (or
datasets: every settled task over them) and:

1. **Sources.** For each task, the bundles of its settled epochs (state ``done``) are read from
   the blob store; a task without one is refused ("not settled"). The newest bundle gives the
   items and inferred labels; for a collection task the release takes the items its reviews
   accepted, with their provenance (contributor, signature, reviews).
2. **Contribution table** per source (:class:`~datafair.economics.royalty_weights.
   ContributionTable`): per account, ``paid`` (the sum of its payout leaves over every settled
   epoch), ``accepted_items`` (its contributed items the release includes), its answers and
   reviews; ``item_value`` is the collection task's price per item (0 for labelling tasks).
3. **Weights** by the published rule (:func:`~datafair.economics.royalty_weights.
   release_weights`, default ``weight = paid + accepted_items * item_value``).
4. **Documents,** each stored content-addressed in the blob store:

   * the *data* (format :data:`DATA_FORMAT`): item CIDs, labels, source task and provenance;
   * the *card*: a Hugging Face dataset card (README.md with YAML front matter: SPDX licence,
     ``commercial_use``, per-source licences, task categories, languages, size category, the
     measured quality and the provenance rules), :func:`dataset_card`;
   * the *release bundle* (format :data:`RELEASE_FORMAT`): the sources (task ids, specs, epoch
     bundle CIDs), the contribution tables, the rule, the weights and their total, the royalty
     share, the data and card CIDs: from it anyone recomputes the weights
     (:func:`audit_release`);
   * the *manifest* (format :data:`MANIFEST_FORMAT`): title, version, and the CIDs of the card,
     data and bundle; its CID is what DatasetRegistry registers.

5. **Chain.** The release token is minted to ``sender`` by DatasetRegistry with the weights'
   Merkle root (leaves bound to chain id, market, dataset id and version) and total, and the
   royalty floor: the largest share any source task promised (``extra.royalty_bps``, default
   30 %) and recorded at funding, so a listing can never give contributors less.
6. **Store.** A ``releases`` row (facets for browsing, the card text for full-text search), the
   weight leaves for claims, and the data encrypted for public stores (AES-256-GCM under a key
   derived from the node's download secret, :func:`datafair.services.release_files.
   release_key`).

Nothing is registered or stored when any step fails; a registered release whose local record
failed can be re-run: the manifest is content-addressed and the registry refuses it twice.
"""

from __future__ import annotations

import itertools
import json
import operator
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datafair import __version__
from datafair.core.canonical import canonical_json
from datafair.core.collection import DEFAULT_ROYALTY_BPS
from datafair.core.errors import InvalidInput, NotFound
from datafair.core.schemas import TaskType
from datafair.core.task import TaskSpec
from datafair.crypto.cid import is_cid
from datafair.economics.royalty_weights import (
    DEFAULT_RULE,
    ContributionTable,
    release_weights,
)
from datafair.services.release_files import encrypt_release_data, index_release
from datafair.services.settlement.bundle import Reviews, read_document, review_verdicts
from datafair.services.settlement.bundle import (
    _decode_answers as decode_answers,
)
from datafair.services.tasks import Clock, now_ms, parse_task_id
from datafair.store.blobs import BlobStore
from datafair.store.market_models import Release, ReleaseWeight
from datafair.store.models import Dataset, Task
from datafair.store.settlement_models import Settlement

RELEASE_FORMAT = "datafair-release/1"
MANIFEST_FORMAT = "datafair-release-manifest/1"
DATA_FORMAT = "datafair-release-data/1"
SAMPLE_SIZE = 5

_HF_CATEGORIES: dict[tuple[str, str], str] = {
    ("classification", "text"): "text-classification",
    ("classification", "image"): "image-classification",
    ("multilabel", "text"): "text-classification",
    ("multilabel", "image"): "image-classification",
    ("spans", "text"): "token-classification",
    ("boxes", "image"): "object-detection",
    ("transcription", "image"): "image-to-text",
    ("transcription", "text"): "text-generation",
    ("preference", "pair"): "text-generation",
    ("collection", "text"): "text-generation",
    ("collection", "image"): "image-classification",
    ("collection", "pair"): "text-generation",
}
_NON_COMMERCIAL = ("-NC", "NonCommercial", "Non-Commercial")


# ------------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Source:
    """One settled task a release is built from."""

    task_id: bytes
    spec: dict[str, Any]
    dataset_card: dict[str, Any]
    bundle_cids: list[str]
    items: list[str]
    labels: list[Any]
    provenance: list[dict[str, Any] | None]
    table: ContributionTable
    quality: dict[str, float | None]

    @property
    def task_type(self) -> str:
        return str(self.spec["schema"]["task_type"])


def _resolve(session: Session, targets: Sequence[str]) -> list[Task]:
    """The tasks named by ``targets`` (task ids, or dataset manifest CIDs: their tasks)."""
    if not targets:
        raise InvalidInput("target", "nothing to release", "name a task id or a dataset CID")
    found: dict[int, Task] = {}
    for target in targets:
        if is_cid(target):
            dataset = session.scalar(select(Dataset).where(Dataset.manifest_cid == target))
            if dataset is None:
                raise NotFound(f"dataset {target}: not stored (see `datafair dataset list`)")
            tasks = session.scalars(
                select(Task).where(Task.dataset_id == dataset.id).order_by(Task.id)
            ).all()
            settled = [t for t in tasks if _done_epochs(session, t.id)]
            if not settled:
                raise InvalidInput(
                    "target", f"dataset {target} has no settled task", "settle a task over it"
                )
            found.update((t.id, t) for t in settled)
        else:
            raw = parse_task_id(target)
            task = session.scalar(select(Task).where(Task.task_id == raw))
            if task is None:
                raise NotFound(f"task_id: no task 0x{raw.hex()} (see `datafair task list`)")
            found[task.id] = task
    return [found[k] for k in sorted(found)]


def _done_epochs(session: Session, task_pk: int) -> list[Settlement]:
    return list(
        session.scalars(
            select(Settlement)
            .where(Settlement.task_pk == task_pk, Settlement.state == "done")
            .order_by(Settlement.epoch)
        )
    )


def _owned(value: Any) -> list[Any]:
    """``value`` as a list: itself when it already is one (a freshly parsed column, not copied:
    at a million rows each copy is 8 MB of pointers), else a new list of its elements."""
    return value if isinstance(value, list) else list(value)


@dataclass(frozen=True)
class _Columns:
    """The columns of a settlement bundle a release reads (hex strings left undecoded)."""

    spec: dict[str, Any]
    items: list[str]
    accounts: list[str]
    item: list[int]
    contributor: list[int]
    answer: list[str]
    signature: list[str]
    nonce: list[int]
    review_submission: list[int]
    review_reviewer: list[int]
    review_verdict: list[str | None]
    review_rating: list[int | None]
    review_signature: list[str | None]
    gold: dict[str, Any]
    labels: list[Any]

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> _Columns:
        try:
            subs, reviews = document["submissions"], document["reviews"]
            columns = cls(
                spec=dict(document["task"]["spec"]),
                items=_owned(subs["items"]),
                accounts=_owned(subs["accounts"]),
                item=_owned(subs["item"]),
                contributor=_owned(subs["contributor"]),
                answer=_owned(subs["answer"]),
                signature=_owned(subs["signature"]),
                nonce=_owned(subs["nonce"]),
                review_submission=_owned(reviews["submission"]),
                review_reviewer=_owned(reviews["reviewer"]),
                review_verdict=_owned(reviews["verdict"]),
                review_rating=_owned(reviews["rating"]),
                review_signature=_owned(reviews["signature"]),
                gold=dict(document["gold"]["answers"]),
                labels=_owned(document["inferred"]["labels"]),
            )
        except (KeyError, TypeError) as error:
            raise InvalidInput(
                "bundle", f"misses or mistypes the field {error}", "not a settlement bundle"
            ) from None
        n = len(columns.item)
        if not (
            len(columns.contributor) == len(columns.answer) == len(columns.signature) == n
            and len(columns.labels) == len(columns.items)
        ):
            raise InvalidInput("bundle", "columns of different lengths", "not a settlement bundle")
        return columns


def _quality(columns: _Columns, values: list[Any], collection: bool) -> dict[str, float | None]:
    """Measured quality of a source: agreement, gold accuracy, inferred accuracy.

    Labelling tasks: ``agreement`` is the share of answers equal to their item's inferred
    label, ``gold_accuracy`` the share of answers on gold items equal to the gold answer,
    ``inferred_accuracy`` the mean, over items, of the share of answers agreeing with the label
    (an estimate of how often the inferred label is what a careful labeller gives). Collection
    tasks: ``agreement`` is the share of reviews that sided with the outcome, ``inferred_accuracy``
    the share of items accepted; no gold.
    """
    labels = columns.labels
    if collection:
        sides = review_verdicts(
            Reviews(verdict=columns.review_verdict, rating=columns.review_rating)
        )
        outcome = [labels[columns.item[row]] == "accept" for row in columns.review_submission]
        decided = [s == o for s, o in zip(sides, outcome, strict=True) if s is not None]
        accepted = sum(1 for label in labels if label == "accept")
        return {
            "agreement": round(sum(decided) / len(decided), 4) if decided else None,
            "gold_accuracy": None,
            "inferred_accuracy": round(accepted / len(labels), 4) if labels else None,
        }
    item = columns.item
    agree = list(map(operator.eq, values, map(labels.__getitem__, item)))
    n_items = len(columns.items)
    right = np.bincount(item, weights=agree, minlength=n_items)
    seen = np.bincount(item, minlength=n_items)
    answered = seen > 0
    gold_rows = (
        [
            values[r] == columns.gold[columns.items[i]]
            for r, i in enumerate(item)
            if columns.items[i] in columns.gold
        ]
        if columns.gold
        else []
    )
    return {
        "agreement": round(sum(agree) / len(agree), 4) if agree else None,
        "gold_accuracy": round(sum(gold_rows) / len(gold_rows), 4) if gold_rows else None,
        "inferred_accuracy": (
            round(float((right[answered] / seen[answered]).mean()), 4) if answered.any() else None
        ),
    }


def _counts(accounts: Sequence[str], rows: Sequence[int]) -> dict[str, int]:
    """How many of ``rows`` (indices into ``accounts``) each account has, counted in numpy."""
    counts = np.bincount(np.asarray(rows, dtype=np.int64), minlength=len(accounts))
    return {accounts[int(i)]: int(counts[i]) for i in np.flatnonzero(counts)}


def _source_from(
    task: Task, cids: list[str], paid: Mapping[str, int], newest_doc: dict[str, Any]
) -> Source:
    """A :class:`Source` from the newest bundle of a task and what its epochs paid."""
    columns = _Columns.of(newest_doc)
    labels = columns.labels
    values = decode_answers(columns.answer)
    spec = TaskSpec.from_dict(columns.spec)
    collection = spec.task_type is TaskType.COLLECTION
    accounts_list = columns.accounts
    answers = _counts(accounts_list, columns.contributor)
    reviews = _counts(accounts_list, columns.review_reviewer)
    accepted: Counter[str] = Counter()
    items: list[str] = []
    item_labels: list[Any] = []
    provenance: list[dict[str, Any] | None] = []
    if collection:
        reviews_of: dict[int, list[dict[str, Any]]] = {}
        for j, row in enumerate(columns.review_submission):
            reviews_of.setdefault(row, []).append(
                {
                    "rating": columns.review_rating[j],
                    "reviewer": accounts_list[columns.review_reviewer[j]],
                    "signature": columns.review_signature[j],
                    "verdict": columns.review_verdict[j],
                }
            )
        for row, position in enumerate(columns.item):
            if labels[position] != "accept":
                continue
            contributor = accounts_list[columns.contributor[row]]
            accepted[contributor] += 1
            items.append(columns.items[position])
            item_labels.append(values[row])
            provenance.append(
                {
                    "contributor": contributor,
                    "nonce": columns.nonce[row],
                    "reviews": reviews_of.get(row, []),
                    "signature": columns.signature[row],
                }
            )
        answers = {}
        item_value = spec.price_per_answer
    else:
        items = list(columns.items)
        item_labels = labels
        provenance = [None] * len(items)
        item_value = 0
    accounts = sorted(set(paid) | set(answers) | set(reviews) | set(accepted))
    table = ContributionTable(
        accounts=accounts,
        paid=[int(paid.get(a, 0)) for a in accounts],
        accepted_items=[accepted.get(a, 0) for a in accounts],
        answers=[answers.get(a, 0) for a in accounts],
        reviews=[reviews.get(a, 0) for a in accounts],
        item_value=item_value,
    )
    return Source(
        task_id=task.task_id,
        spec=columns.spec,
        dataset_card={},
        bundle_cids=cids,
        items=items,
        labels=item_labels,
        provenance=provenance,
        table=table,
        quality=_quality(columns, values, collection),
    )


def _hex(data: bytes | None) -> str | None:
    return None if data is None else "0x" + data.hex()


def read_source(session: Session, blobs: BlobStore, task: Task) -> Source:
    """Read a settled task's bundles into a :class:`Source` (``InvalidInput`` if unsettled)."""
    epochs = _done_epochs(session, task.id)
    if not epochs:
        raise InvalidInput(
            "task",
            f"0x{task.task_id.hex()} is not settled",
            "settle it first (datafair settle), then release",
        )
    cids = [e.bundle_cid for e in epochs if e.bundle_cid]
    paid, newest = _paid_by_bundles(blobs, cids)
    source = _source_from(task, cids, paid, newest)
    dataset = session.get(Dataset, task.dataset_id)
    card = dict(dataset.card) if dataset is not None else {}
    return Source(**{**source.__dict__, "dataset_card": card})


def _paid_by_bundles(
    blobs: BlobStore, cids: Sequence[str], *, check: bool = False
) -> tuple[dict[str, int], dict[str, Any]]:
    """What the epoch bundles ``cids`` paid each account (their tree leaves, summed), and the
    newest bundle's document. ``check`` also refuses a bundle not in canonical form (the audit
    does; a release reads the bundles its own settlement stored and posted, and parses only the
    ``tree`` section of all but the newest, :func:`_tree_section`)."""
    paid: Counter[str] = Counter()
    newest: dict[str, Any] = {}
    for number, cid in enumerate(cids):
        if check:
            newest = read_document(blobs.get(cid))
            tree = newest["tree"]
        elif number < len(cids) - 1:
            tree = _tree_section(blobs.get(cid))
        else:
            # the bytes are dropped before the parse makes its objects
            newest = json.loads(blobs.get(cid).decode("utf-8"))
            tree = newest["tree"]
        for _, account, amount in tree["leaves"]:
            paid[account] += int(amount)
    return dict(paid), newest


_TREE_KEY = b',"tree":'


def _tree_section(data: bytes) -> Any:
    """The ``tree`` section of a settlement bundle, parsing nothing else when it can.

    A bundle is canonical JSON, keys sorted, and ``tree`` sorts after every other top-level
    key, so the section is the bytes from the last ``,"tree":`` to the final ``}``; no string
    holds that sequence (a quote inside a string is escaped) and the tree's own leaves are
    lists of numbers and hex strings. Bytes of any other shape are parsed whole.
    """
    at = data.rfind(_TREE_KEY)
    if at >= 0 and data.endswith(b"}"):
        try:
            tree = json.loads(data[at + len(_TREE_KEY) : -1])
        except ValueError:
            tree = None
        if isinstance(tree, dict) and isinstance(tree.get("leaves"), list):
            return tree
    return json.loads(data)["tree"]


# ------------------------------------------------------------------------------- documents


def _size_category(n: int) -> str:
    for bound, name in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
    ):
        if n < bound:
            return name
    return "n>10M"


def commercial_use_of(license_id: str) -> bool:
    """Whether an SPDX licence id allows commercial use (no NonCommercial term)."""
    return not any(mark.lower() in license_id.lower() for mark in _NON_COMMERCIAL)


def _task_categories(sources: Sequence[Source]) -> list[str]:
    found = []
    for source in sources:
        for modality in source.dataset_card.get("modalities") or ["text"]:
            category = _HF_CATEGORIES.get((source.task_type, modality))
            if category and category not in found:
                found.append(category)
    return found


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 4) if present else None


def release_quality(sources: Sequence[Source]) -> dict[str, float | None]:
    """The release's measured quality: each source's measures averaged (weighted by items)."""
    out: dict[str, float | None] = {}
    for key in ("agreement", "gold_accuracy", "inferred_accuracy"):
        pairs = [(s.quality[key], len(s.items)) for s in sources if s.quality[key] is not None]
        total = sum(n for _, n in pairs)
        out[key] = (
            round(sum(float(v or 0) * n for v, n in pairs) / total, 4) if total else _mean([])
        )
    return out


@dataclass(frozen=True)
class CardFacts:
    """What the card and browsing know of a release."""

    title: str
    description: str
    license: str
    commercial_use: bool
    source_licenses: list[dict[str, str]]
    languages: list[str]
    modalities: list[str]
    task_types: list[str]
    task_categories: list[str]
    size: int
    quality: dict[str, float | None]
    royalty_bps: int
    version: int


def card_facts(
    sources: Sequence[Source],
    *,
    version: int,
    royalty_bps: int,
    title: str | None = None,
    license: str | None = None,
    commercial_use: bool | None = None,
) -> CardFacts:
    """The card's facts from the sources (licence: the given one, else the first source's)."""
    from datafair.core.task import DatasetCard

    cards = [s.dataset_card for s in sources]
    chosen_license = license or str(cards[0].get("license") or "CC-BY-4.0")
    DatasetCard(title="check", license=chosen_license)  # refuses a non-SPDX licence id
    languages = sorted({lang for c in cards for lang in c.get("languages", [])})
    modalities = sorted({m for c in cards for m in c.get("modalities", [])})
    size = len(set(itertools.chain.from_iterable(s.items for s in sources)))
    return CardFacts(
        title=title or str(cards[0].get("title") or sources[0].spec["title"]),
        description="\n\n".join(str(c.get("description") or "") for c in cards).strip(),
        license=chosen_license,
        commercial_use=commercial_use_of(chosen_license)
        if commercial_use is None
        else commercial_use,
        source_licenses=[
            {
                "task": "0x" + s.task_id.hex(),
                "source": str(s.dataset_card.get("source") or s.dataset_card.get("title") or ""),
                "license": str(s.dataset_card.get("license") or chosen_license),
            }
            for s in sources
        ],
        languages=languages,
        modalities=modalities,
        task_types=sorted({s.task_type for s in sources}),
        task_categories=_task_categories(sources),
        size=size,
        quality=release_quality(sources),
        royalty_bps=royalty_bps,
        version=version,
    )


def dataset_card(facts: CardFacts, rule: str) -> str:
    """The Hugging Face dataset card: README.md text with YAML front matter."""
    import yaml

    front = {
        "pretty_name": facts.title,
        "license": facts.license.lower(),
        "license_name": facts.license,
        "commercial_use": facts.commercial_use,
        "source_licenses": facts.source_licenses,
        "language": facts.languages,
        "task_categories": facts.task_categories,
        "size_categories": [_size_category(facts.size)],
        "datafair": {
            "version": facts.version,
            "items": facts.size,
            "modalities": facts.modalities,
            "task_types": facts.task_types,
            "quality": facts.quality,
            "royalty_bps": facts.royalty_bps,
            "weights_rule": rule,
        },
    }
    quality = facts.quality
    shown = {k: "n/a" if v is None else f"{v:.2%}" for k, v in quality.items()}
    body = f"""# {facts.title}

{facts.description or "A dataset built and checked on datafair."}

## Licence

`{facts.license}`; commercial use: {"yes" if facts.commercial_use else "no"}. Sources and their
licences are listed in the front matter (`source_licenses`).

## Measured quality

| measure | value | what it counts |
|---|---|---|
| agreement | {shown["agreement"]} | answers equal to the inferred label (reviews on the outcome) |
| gold accuracy | {shown["gold_accuracy"]} | answers on gold items equal to the gold answer |
| inferred accuracy | {shown["inferred_accuracy"]} | per item, answers agreeing with its label |

## Provenance

Every item is content-addressed (CIDv1). Every label comes from answers signed (EIP-712) by
their contributors' wallets and aggregated by a published quality model; every collected item
carries its contributor's signature and its reviews. The settlement bundles named in the release
bundle let anyone recompute every label and payout.

## Royalties

{facts.royalty_bps / 100:g} % of every sale goes to the people who built this data, split by
integer weights (rule `{rule}`: what settlement paid each person for this data, plus the value
of each accepted item they supplied), committed on chain as a Merkle root.
"""
    header = str(yaml.safe_dump(front, sort_keys=False, allow_unicode=True))
    return "---\n" + header + "---\n\n" + body


_CACHED_LABELS = (str, int, bool, type(None))
_ROWS_PER_CHUNK = 65_536


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def data_chunks(sources: Sequence[Source]) -> Iterator[bytes]:
    """The release data, yielded in chunks to store as one blob: one row per item (CID, label,
    source task, provenance), as canonical JSON (sorted keys, no spaces, UTF-8) of
    ``{"format": DATA_FORMAT, "rows": [...]}``.

    Rows without provenance whose labels are strings, integers, booleans or null are written
    as text directly (:func:`_plain_rows`); other rows (structured labels, collected items with
    their provenance) go through ``json.dumps`` with sorted keys. The bytes equal those of the
    whole document encoded at once (tested).
    """
    yield b'{"format":' + _json(DATA_FORMAT).encode() + b',"rows":['
    separator = ""
    for number, source in enumerate(sources):
        for start in range(0, len(source.items), _ROWS_PER_CHUNK):
            stop = start + _ROWS_PER_CHUNK
            items, labels = source.items[start:stop], source.labels[start:stop]
            origins = source.provenance[start:stop]
            rows = (
                _plain_rows(items, labels, number) if origins.count(None) == len(origins) else None
            )
            if rows is None:
                rows = [
                    _json({"item": cid, "label": label, "source": number})
                    if origin is None
                    else _json(
                        {"item": cid, "label": label, "provenance": origin, "source": number}
                    )
                    for cid, label, origin in zip(items, labels, origins, strict=True)
                ]
            yield (separator + ",".join(rows)).encode("utf-8")
            separator = ","
    yield b"]}"


def _plain_rows(items: Sequence[str], labels: Sequence[Any], source: int) -> list[str] | None:
    """The rows ``{"item":…,"label":…,"source":N}`` as canonical JSON text, each distinct label
    encoded once and each CID by the JSON encoder's own string escaping, with no dict per row;
    ``None`` when a label is not a string, integer, boolean or null (floats are left out: -0.0
    equals 0.0 but is written differently)."""
    keys = list(zip(map(type, labels), labels, strict=True))
    try:
        distinct = set(keys)
    except TypeError:  # an unhashable (structured) label
        return None
    if any(kind not in _CACHED_LABELS for kind, _ in distinct):
        return None
    texts = {key: _json(key[1]) for key in distinct}
    tail = f',"source":{source}}}'
    return [
        f'{{"item":{cid},"label":{text}{tail}'
        for cid, text in zip(
            map(encode_basestring, items), map(texts.__getitem__, keys), strict=True
        )
    ]


def bundle_document(
    sources: Sequence[Source],
    weights: Mapping[str, int],
    *,
    rule: str,
    royalty_bps: int,
    data_cid: str,
    card_cid: str,
    version: int,
) -> dict[str, Any]:
    """The release bundle: sources, contribution tables, rule, weights (see the module)."""
    return {
        "format": RELEASE_FORMAT,
        "software": {"name": "datafair", "version": __version__},
        "version": version,
        "sources": [
            {
                "task_id": "0x" + s.task_id.hex(),
                "task_type": s.task_type,
                "settlement_bundles": s.bundle_cids,
                "items": len(s.items),
                "contributions": {
                    "accounts": list(s.table.accounts),
                    "paid": [str(v) for v in s.table.paid],
                    "accepted_items": list(s.table.accepted_items),
                    "answers": list(s.table.answers),
                    "reviews": list(s.table.reviews),
                    "item_value": str(s.table.item_value),
                },
                "quality": s.quality,
            }
            for s in sources
        ],
        "rule": rule,
        "royalty_bps": royalty_bps,
        "weights": {account: str(weight) for account, weight in weights.items()},
        "total_weight": str(sum(weights.values())),
        "data": data_cid,
        "card": card_cid,
    }


def tables_of(document: Mapping[str, Any]) -> list[ContributionTable]:
    """The contribution tables of a release bundle document."""
    try:
        return [
            ContributionTable(
                accounts=list(c["accounts"]),
                paid=[int(v) for v in c["paid"]],
                accepted_items=list(c["accepted_items"]),
                answers=list(c["answers"]),
                reviews=list(c["reviews"]),
                item_value=int(c["item_value"]),
            )
            for c in (s["contributions"] for s in document["sources"])
        ]
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidInput(
            "bundle", f"misses or mistypes the field {error}", "not a release bundle"
        ) from None


def promised_share(specs: Sequence[Mapping[str, Any]]) -> int:
    """The largest royalty share any of the source tasks promised (default 30 %)."""
    return max(int(s.get("extra", {}).get("royalty_bps", DEFAULT_ROYALTY_BPS)) for s in specs)


# ------------------------------------------------------------------------------- the use case


@dataclass(frozen=True)
class PreparedRelease:
    """A release computed and stored in the blob store, not yet registered."""

    sources: list[Source]
    facts: CardFacts
    weights: dict[str, int]
    rule: str
    card_text: str
    card_cid: str
    data_cid: str
    bundle_cid: str
    manifest_cid: str
    dataset_id: int

    @property
    def total_weight(self) -> int:
        return sum(self.weights.values())


def prepare_release(
    session: Session,
    blobs: BlobStore,
    targets: Sequence[str],
    *,
    rule: str = DEFAULT_RULE,
    title: str | None = None,
    license: str | None = None,
    commercial_use: bool | None = None,
    royalty_bps: int | None = None,
) -> PreparedRelease:
    """Compute a release of ``targets`` and store its documents (see the module docstring).

    ``royalty_bps`` may raise the share above the sources' promise, never lower it.
    """
    tasks = _resolve(session, targets)
    sources = [read_source(session, blobs, task) for task in tasks]
    if not any(source.items for source in sources):
        raise InvalidInput("target", "has no item to release", "accept or label items first")
    promised = promised_share([s.spec for s in sources])
    share = promised if royalty_bps is None else royalty_bps
    if share < promised:
        raise InvalidInput(
            "royalty_bps",
            f"{share} is below the {promised} bps the source tasks promised their contributors",
            f"use at least {promised}",
        )
    dataset_id = tasks[0].dataset_id
    version = 1 + int(
        session.scalar(
            select(func.coalesce(func.max(Release.version), 0)).where(
                Release.dataset_id == dataset_id
            )
        )
        or 0
    )
    weights = release_weights([s.table for s in sources], rule)
    if not weights:
        raise InvalidInput("weights", "every contributor's weight is 0", "nobody earned a share")
    facts = card_facts(
        sources,
        version=version,
        royalty_bps=share,
        title=title,
        license=license,
        commercial_use=commercial_use,
    )
    card_text = dataset_card(facts, rule)
    card_cid = blobs.put(card_text.encode("utf-8"))
    data_cid = blobs.put_stream(data_chunks(sources))
    bundle = bundle_document(
        sources,
        weights,
        rule=rule,
        royalty_bps=share,
        data_cid=data_cid,
        card_cid=card_cid,
        version=version,
    )
    bundle_cid = blobs.put(canonical_json(bundle))
    manifest = {
        "format": MANIFEST_FORMAT,
        "title": facts.title,
        "version": version,
        "card": card_cid,
        "data": data_cid,
        "release_bundle": bundle_cid,
    }
    manifest_cid = blobs.put(canonical_json(manifest))
    return PreparedRelease(
        sources=sources,
        facts=facts,
        weights=weights,
        rule=rule,
        card_text=card_text,
        card_cid=card_cid,
        data_cid=data_cid,
        bundle_cid=bundle_cid,
        manifest_cid=manifest_cid,
        dataset_id=dataset_id,
    )


@dataclass(frozen=True)
class ReleaseInfo:
    """A stored release (what ``datafair market show`` prints)."""

    release_id: int
    release_cid: str
    manifest_cid: str
    title: str
    version: int
    items: int
    royalty_bps: int
    weights_root: bytes
    total_weight: int
    owner: str
    token_id: int | None
    license: str
    commercial_use: bool
    quality: dict[str, float | None]
    price: int | None
    payment_token: str | None
    card_text: str
    sample: list[str]
    modalities: list[str] = field(default_factory=list)
    task_types: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)


def _split(text: str | None) -> list[str]:
    return [part for part in (text or "").split(",") if part]


def info_of(row: Release) -> ReleaseInfo:
    """The :class:`ReleaseInfo` of a stored row."""
    return ReleaseInfo(
        release_id=row.id,
        release_cid=row.release_cid,
        manifest_cid=row.manifest_cid,
        title=row.title,
        version=row.version,
        items=row.item_count,
        royalty_bps=row.royalty_bps,
        weights_root=row.weights_root,
        total_weight=row.total_weight,
        owner=row.owner,
        token_id=row.token_id,
        license=row.license,
        commercial_use=row.commercial_use,
        quality={
            "agreement": row.agreement,
            "gold_accuracy": row.gold_accuracy,
            "inferred_accuracy": row.inferred_accuracy,
        },
        price=row.price,
        payment_token=row.payment_token,
        card_text=row.card_text,
        sample=list(row.sample),
        modalities=_split(row.modality),
        task_types=_split(row.task_type),
        languages=_split(row.languages),
    )


def record_release(
    session: Session,
    prepared: PreparedRelease,
    *,
    owner: str,
    token_id: int | None,
    weights_root: bytes,
    registry: str | None,
    register_tx: str | None,
    encrypted_cid: str | None,
    clock: Clock = time.time,
) -> ReleaseInfo:
    """Store the release row, its weight leaves and its search entry; commit."""

    facts = prepared.facts
    try:
        row = Release(
            release_cid=prepared.bundle_cid,
            manifest_cid=prepared.manifest_cid,
            dataset_id=prepared.dataset_id,
            task_pk=None,
            version=facts.version,
            title=facts.title,
            card={
                "license": facts.license,
                "languages": facts.languages,
                "modalities": facts.modalities,
                "task_types": facts.task_types,
                "task_categories": facts.task_categories,
                "source_licenses": facts.source_licenses,
                "card_cid": prepared.card_cid,
                "data_cid": prepared.data_cid,
            },
            card_text=prepared.card_text,
            card_cid=prepared.card_cid,
            modality=",".join(facts.modalities) or "text",
            task_type=",".join(facts.task_types),
            license=facts.license,
            commercial_use=facts.commercial_use,
            languages=",".join(facts.languages),
            item_count=facts.size,
            agreement=facts.quality["agreement"],
            gold_accuracy=facts.quality["gold_accuracy"],
            inferred_accuracy=facts.quality["inferred_accuracy"],
            royalty_bps=facts.royalty_bps,
            weights_root=weights_root,
            total_weight=prepared.total_weight,
            owner=owner,
            registry_address=registry,
            token_id=token_id,
            register_tx=register_tx,
            sample=list(
                itertools.islice((c for s in prepared.sources for c in s.items), SAMPLE_SIZE)
            ),
            encrypted_cid=encrypted_cid,
            created_at=now_ms(clock),
        )
        session.add(row)
        session.flush()
        session.add_all(
            ReleaseWeight(release_id=row.id, leaf_index=i, account=account, weight=weight)
            for i, (account, weight) in enumerate(sorted(prepared.weights.items()))
        )
        index_release(session, row)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return info_of(row)


# ------------------------------------------------------------------------------- chain


def release(
    session: Session,
    blobs: BlobStore,
    targets: Sequence[str],
    market: Any,
    *,
    sender: Any,
    secret: bytes,
    rule: str = DEFAULT_RULE,
    title: str | None = None,
    license: str | None = None,
    commercial_use: bool | None = None,
    royalty_bps: int | None = None,
    clock: Clock = time.time,
) -> ReleaseInfo:
    """Prepare, register on chain (token to ``sender``) and store a release of ``targets``.

    ``market`` is a :class:`datafair.chain.market.MarketClient`; ``secret`` the node's download
    secret (the data is stored encrypted under a key derived from it and the release).
    """
    from datafair.chain.base import address_of

    prepared = prepare_release(
        session,
        blobs,
        targets,
        rule=rule,
        title=title,
        license=license,
        commercial_use=commercial_use,
        royalty_bps=royalty_bps,
    )
    registered = market.register_release(
        prepared.manifest_cid,
        prepared.facts.version,
        prepared.weights,
        prepared.facts.royalty_bps,
        [source.task_id for source in prepared.sources],
        sender=sender,
    )
    encrypted = encrypt_release_data(blobs, secret, prepared.manifest_cid, prepared.data_cid)
    return record_release(
        session,
        prepared,
        owner=address_of(sender),
        token_id=registered.dataset_id,
        weights_root=registered.tree.root,
        registry=market.registry.address,
        register_tx=registered.receipt.tx_hash,
        encrypted_cid=encrypted,
        clock=clock,
    )


def dataset_of_manifest(market: Any, manifest_cid: str) -> int:
    """The registry's token id for a manifest (0 when it is not registered)."""
    from eth_utils.crypto import keccak

    return int(market.chain.call(market.registry, "token_of_manifest", keccak(text=manifest_cid)))


@dataclass(frozen=True)
class ReleaseAudit:
    """What :func:`audit_release` checked: the weights, their root and total, the share."""

    manifest_cid: str
    dataset_id: int
    accounts: int
    total_weight: int
    root: bytes
    royalty_bps: int
    settlement_bundles: int


class ReleaseMismatch(InvalidInput):
    """A release whose bundle, chain record or settlement bundles disagree."""

    def __init__(self, problem: str) -> None:
        super().__init__("release", problem, "the release was altered or mis-registered")


def audit_release(blobs: BlobStore, manifest_cid: str, market: Any) -> ReleaseAudit:
    """Recompute a release's weights from its bundle and check them and the chain.

    Checks, in order: the manifest and bundle parse; every source's contribution table matches
    its settlement bundles (``paid`` = the sum of the account's payout leaves; accepted items =
    its items the newest bundle's reviews accepted); the weights follow the rule; the registry
    holds this manifest with the weights' Merkle root (leaves bound to chain, market, dataset and
    version) and total; the royalty floor on chain is at least every source task's promise.
    Raises :class:`ReleaseMismatch` naming the first difference.
    """
    manifest = json.loads(blobs.get(manifest_cid))
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ReleaseMismatch(f"{manifest_cid} is not a {MANIFEST_FORMAT} manifest")
    document = json.loads(blobs.get(str(manifest["release_bundle"])))
    if document.get("format") != RELEASE_FORMAT:
        raise ReleaseMismatch("the manifest's bundle is not a release bundle")
    tables = tables_of(document)
    checked_bundles = 0
    for number, (entry, table) in enumerate(zip(document["sources"], tables, strict=True)):
        cids = list(entry["settlement_bundles"])
        paid, newest = _paid_by_bundles(blobs, cids, check=True)
        checked_bundles += len(cids)
        task_stub = Task(task_id=bytes.fromhex(entry["task_id"][2:]))
        recomputed = _source_from(task_stub, cids, paid, newest).table
        if recomputed != table:
            for name in ("accounts", "paid", "accepted_items", "answers", "reviews"):
                if list(getattr(recomputed, name)) != list(getattr(table, name)):
                    raise ReleaseMismatch(
                        f"source {number}: contributions.{name} differ from its settlement bundles"
                    )
            raise ReleaseMismatch(f"source {number}: contributions.item_value differs")
    weights = release_weights(tables, str(document["rule"]))
    recorded = {account: int(value) for account, value in document["weights"].items()}
    if weights != recorded:
        raise ReleaseMismatch("weights do not follow the rule from the contribution tables")
    if int(document["total_weight"]) != sum(weights.values()):
        raise ReleaseMismatch("total_weight is not the sum of the weights")
    dataset_id = dataset_of_manifest(market, manifest_cid)
    if not dataset_id:
        raise ReleaseMismatch(f"{manifest_cid} is not registered on this chain")
    info = market.release(dataset_id)
    tree = market.weights_tree(dataset_id, info.version, weights)
    if info.weights_root != tree.root:
        shown = "none" if info.weights_root is None else "0x" + info.weights_root.hex()
        raise ReleaseMismatch(f"the registry's root is {shown}, recomputed 0x{tree.root.hex()}")
    if info.total_weight != sum(weights.values()):
        raise ReleaseMismatch(
            f"the registry's total weight is {info.total_weight}, recomputed "
            f"{sum(weights.values())}"
        )
    promised = market.promised_floor([bytes.fromhex(s["task_id"][2:]) for s in document["sources"]])
    if info.royalty_floor_bps < max(promised, int(document["royalty_bps"])):
        raise ReleaseMismatch(
            f"the registry's royalty floor {info.royalty_floor_bps} bps is below the promise "
            f"{max(promised, int(document['royalty_bps']))}"
        )
    return ReleaseAudit(
        manifest_cid=manifest_cid,
        dataset_id=dataset_id,
        accounts=len(weights),
        total_weight=sum(weights.values()),
        root=tree.root,
        royalty_bps=info.royalty_floor_bps,
        settlement_bundles=checked_bundles,
    )
