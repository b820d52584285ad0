"""Parsed items and datasets: what every importer produces.

An item is content-addressed: its id is the CIDv1 of its ``content`` bytes, which are

==========  ===============================================================
kind        content
==========  ===============================================================
text        the text, UTF-8 encoded, exactly as given (no normalisation)
pair        canonical JSON of ``{"prompt": ..., "a": ..., "b": ...}``
image       the image file's bytes
==========  ===============================================================

``source`` names where an item came from, as ``file.csv:12`` (line), ``tasks.json[3]`` (list
index) or ``folder/cat.png`` (file), so every report can point back at the input.

Image bytes are the bulk of an image dataset. Given an ``image_sink`` (the blob store's ``put``
on import), the collector hands each distinct image's bytes to it as soon as they are read and
keeps only their size, so a folder of any size is imported in memory proportional to its number
of files, not to its bytes; ``ParsedItem.content`` of such an image is then empty.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from datafair.core.errors import InvalidInput
from datafair.core.schemas import ItemKind
from datafair.crypto.cid import cids_from_digests

# The order modalities are listed in (matches ``datafair.core.task.MODALITIES``).
_MODALITY_ORDER = (ItemKind.TEXT, ItemKind.IMAGE, ItemKind.PAIR)
_PAIR_FIELDS = ("prompt", "response_a", "response_b")

ImageSink = Callable[[bytes], object]
"""Receives the bytes of each distinct image as it is read (e.g. ``BlobStore.put``)."""
# For an object of strings, this is exactly ``datafair.core.canonical.canonical_json`` (sorted
# keys, no whitespace, UTF-8) without its type normalisation pass (checked in the tests).
_encode_pair = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def _surrogate(source: str) -> InvalidInput:
    return InvalidInput(
        source,
        "contains an unpaired UTF-16 surrogate escape (such as \\ud800)",
        "encode the character properly or remove it",
    )


class ParsedItem(NamedTuple):
    """One imported item: kind, content bytes and their CID, text or image size, extra meta.

    ``text`` is set for text items; ``width``/``height`` (pixels) for images; ``meta`` holds the
    input's other fields (for images ``file_name`` and ``format``; an ``id`` column if given).
    ``size`` is the content's length in bytes; ``content`` is empty for an image handed to an
    image sink. An immutable tuple: cheap to build by the hundred thousand.
    """

    kind: ItemKind
    content: bytes
    cid: str
    text: str | None
    width: int | None
    height: int | None
    meta: dict[str, Any]
    source: str
    size: int

    @property
    def pair(self) -> tuple[str, str, str]:
        """``(prompt, response_a, response_b)`` of a pair item."""
        if self.kind is not ItemKind.PAIR:
            raise ValueError(f"a {self.kind} item has no pair")
        data = json.loads(self.content)
        return data["prompt"], data["a"], data["b"]


class PriorLabel(NamedTuple):
    """A label that came with an item (a Label Studio annotation or prediction, a COCO box set).

    ``item_source`` is the ``source`` of the item it labels; ``role`` is ``annotation``,
    ``gold`` or ``prediction``; ``answer`` is in the canonical form of ``task_type``;
    ``source`` names the label in the input (``tasks.json[3].annotations[0]``).
    """

    item_source: str
    role: str
    contributor: str
    task_type: str
    answer: Any
    source: str


@dataclass(frozen=True)
class PriorOptions:
    """How an import keeps the labels that come with items.

    ``annotator``: the contributor named on imported annotations (default: the input's own,
    e.g. ``labelstudio:<completed_by>``); ``ground_truth``: ``gold`` (Label Studio
    ``ground_truth`` annotations become gold) or ``annotation``; ``coco_role``: the role of COCO
    boxes (``annotation`` or ``gold``); ``show_predictions``: predictions may be shown to
    labellers (hidden by default); ``skip_unsupported``: report result types with no datafair
    equivalent instead of refusing the file.
    """

    annotator: str | None = None
    ground_truth: str = "gold"
    coco_role: str = "annotation"
    show_predictions: bool = False
    skip_unsupported: bool = False


@dataclass(slots=True)
class ParsedDataset:
    """The distinct items of one input, plus what was collapsed or skipped on the way.

    ``format`` is ``csv``, ``jsonl``, ``labelstudio`` or ``images``. ``duplicates`` lists
    ``(source, first_source)`` for each item whose CID was already seen; ``skipped`` lists
    ``(source, reason)`` for input files that are not items (non-images in an image folder);
    ``prior`` the labels that came with the items; ``unsupported`` ``(source, result type)`` for
    labels skipped because datafair has no equivalent.
    """

    path: Path
    format: str
    items: list[ParsedItem]
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    prior: list[PriorLabel] = field(default_factory=list)
    unsupported: list[tuple[str, str]] = field(default_factory=list)

    def cid_of_source(self) -> dict[str, str]:
        """``{source: item CID}`` for every input record, duplicates included."""
        cids = {item.source: item.cid for item in self.items}
        for duplicate, first in self.duplicates:
            cids[duplicate] = cids[first]
        return cids

    @property
    def counts(self) -> dict[str, int]:
        """Number of distinct items per kind (only kinds present)."""
        tally = Counter(item.kind for item in self.items)
        return {str(kind): tally[kind] for kind in _MODALITY_ORDER if tally[kind]}

    @property
    def modalities(self) -> tuple[str, ...]:
        """The kinds of items present, in the order text, image, pair."""
        return tuple(self.counts)

    def __len__(self) -> int:
        return len(self.items)


class ItemCollector:
    """Collects items in input order, collapsing duplicates and checking repeated ids.

    Items are keyed by the SHA-256 of their content while reading (equal digests are equal
    CIDs); the CIDs themselves are encoded in one batch by ``finish``. ``add_text`` and
    ``add_pair`` run once per row, so they do little else.
    """

    def __init__(self, path: Path, fmt: str, image_sink: ImageSink | None = None) -> None:
        self.path = path
        self.format = fmt
        self._image_sink = image_sink
        self.duplicates: list[tuple[str, str]] = []
        self.skipped: list[tuple[str, str]] = []
        self.prior: list[PriorLabel] = []
        self.unsupported: list[tuple[str, str]] = []
        self._first: dict[bytes, str] = {}
        self._ids: dict[str, tuple[bytes, str]] = {}
        self._kinds: list[ItemKind] = []
        self._contents: list[bytes] = []
        self._digests: list[bytes] = []
        self._texts: list[str | None] = []
        self._widths: list[int | None] = []
        self._heights: list[int | None] = []
        self._metas: list[dict[str, Any]] = []
        self._sources: list[str] = []
        self._sizes: list[int] = []

    def add(
        self,
        kind: ItemKind,
        content: bytes,
        text: str | None,
        width: int | None,
        height: int | None,
        meta: dict[str, Any],
        source: str,
    ) -> None:
        """Keep an item unless the same content was seen; then record it as a duplicate.

        An ``id`` in ``meta`` may name only one content: reused for another item it is refused.
        """
        digest = hashlib.sha256(content).digest()
        external_id = meta.get("id")
        if external_id is not None:
            seen = self._ids.get(external_id)
            if seen is None:
                self._ids[external_id] = (digest, source)
            elif seen[0] != digest:
                raise InvalidInput(
                    source,
                    f"id {external_id!r} is already used by {seen[1]} for a different item",
                    "give every item its own id",
                )
        first = self._first.get(digest)
        if first is not None:
            self.duplicates.append((source, first))
            return
        self._first[digest] = source
        self._kinds.append(kind)
        self._sizes.append(len(content))
        if kind is ItemKind.IMAGE and self._image_sink is not None:
            self._image_sink(content)
            content = b""
        self._contents.append(content)
        self._digests.append(digest)
        self._texts.append(text)
        self._widths.append(width)
        self._heights.append(height)
        self._metas.append(meta)
        self._sources.append(source)

    def add_text(self, text: str, meta: dict[str, Any], source: str) -> None:
        """Add a text item; ``InvalidInput`` naming ``source`` if the text is blank."""
        if not text or text.isspace():
            raise InvalidInput(source, "the text is blank", "fill in the text or remove the row")
        try:
            content = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _surrogate(source) from exc
        self.add(ItemKind.TEXT, content, text, None, None, meta, source)

    def add_pair(
        self, prompt: str, response_a: str, response_b: str, meta: dict[str, Any], source: str
    ) -> None:
        """Add a prompt with two responses; ``InvalidInput`` naming ``source`` if one is blank."""
        for name, value in zip(_PAIR_FIELDS, (prompt, response_a, response_b), strict=True):
            if not value or value.isspace():
                raise InvalidInput(source, f"{name} is blank", f"fill in {name} or remove the row")
        try:
            content = _encode_pair({"prompt": prompt, "a": response_a, "b": response_b}).encode()
        except UnicodeEncodeError as exc:
            raise _surrogate(source) from exc
        self.add(ItemKind.PAIR, content, None, None, None, meta, source)

    def finish(self) -> ParsedDataset:
        """The dataset; ``InvalidInput`` if no item was found."""
        if not self._digests:
            problem = "contains no items"
            if self.skipped:
                source, reason = self.skipped[0]
                problem += f" ({len(self.skipped)} files skipped; {source}: {reason})"
            raise InvalidInput(
                self.path.name,
                problem,
                "add at least one text, prompt/response pair or PNG/JPEG image",
            )
        cids = cids_from_digests(self._digests)
        items = list(
            map(
                ParsedItem,
                self._kinds,
                self._contents,
                cids,
                self._texts,
                self._widths,
                self._heights,
                self._metas,
                self._sources,
                self._sizes,
            )
        )
        return ParsedDataset(
            self.path,
            self.format,
            items,
            self.duplicates,
            self.skipped,
            self.prior,
            self.unsupported,
        )
