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

Streaming: inside ``streaming_to(sink)``, a collector hands its distinct items to ``sink`` in
batches of ``STREAM_BATCH`` as they are read and keeps only their SHA-256 digests (in order,
for the manifest) and the compact duplicate and id checks (:mod:`.key_index`), so a text file
of any number of rows is read in memory proportional to its number of distinct items times
about 130 bytes; ``ParsedDataset.items``
is then empty and ``item_cids``/``counts``/``len`` come from what was kept.

The input contract, the same whatever the format and the store (SQLite and PostgreSQL accept
the same inputs): an item's content (UTF-8 text, pair JSON or image file) is at most
``MAX_ITEM_BYTES``; its other fields (meta) at most ``MAX_META_BYTES`` as JSON; no text or
field holds a NUL or another control character but tab, line feed and carriage return
(``check_text``). A refusal names the row and the field.
"""

from __future__ import annotations

import hashlib
import json
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from datafair.core.errors import InvalidInput
from datafair.core.schemas import ItemKind
from datafair.crypto.cid import cids_from_digests
from datafair.formats import key_index
from datafair.formats.key_index import KeyIndex

MAX_ITEM_BYTES = 10 * 1024 * 1024
"""The largest item content accepted by every importer: 10 MiB of UTF-8 text, pair JSON or
image file (PostgreSQL and SQLite store texts inline, so both get the same bound)."""
MAX_META_BYTES = 64 * 1024
"""The largest meta (an item's other fields, as JSON) accepted by every importer: 64 KiB."""
STREAM_BATCH = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_LABELLED_FORMATS = frozenset({"labelstudio", "coco"})

# The order modalities are listed in (matches ``datafair.core.task.MODALITIES``).
_MODALITY_ORDER = (ItemKind.TEXT, ItemKind.IMAGE, ItemKind.PAIR)
_PAIR_FIELDS = ("prompt", "response_a", "response_b")

ImageSink = Callable[[bytes], object]
"""Receives the bytes of each distinct image as it is read (e.g. ``BlobStore.put``)."""
# For an object of strings, this is exactly ``datafair.core.canonical.canonical_json`` (sorted
# keys, no whitespace, UTF-8) without its type normalisation pass (checked in the tests).
_encode_pair = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB" if size >= 1024 * 1024 else f"{size // 1024} KiB"


def too_large(source: str, size: int) -> InvalidInput:
    """The one refusal of an item over ``MAX_ITEM_BYTES`` (every format)."""
    return InvalidInput(
        source,
        f"is {size} bytes, over the limit of {mib(MAX_ITEM_BYTES)} per item",
        "split it into smaller items or remove it",
    )


def check_text(value: str, field: str) -> None:
    """``InvalidInput`` naming ``field`` if ``value`` holds a NUL or another control character
    (tab, line feed and carriage return are allowed): both stores refuse or mangle them."""
    found = _CONTROL.search(value)
    if found is not None:
        raise InvalidInput(
            field,
            f"contains the control character U+{ord(found.group()):04X} at position "
            f"{found.start()}",
            "remove NUL and other control characters (tab and line breaks are fine)",
        )


def _check_value(value: Any, field: str) -> None:
    if isinstance(value, str):
        check_text(value, field)
    elif isinstance(value, dict):
        for key, inner in value.items():
            check_text(str(key), f"{field} field name")
            _check_value(inner, f"{field}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _check_value(inner, f"{field}[{index}]")


def _check_meta(meta: dict[str, Any], source: str) -> None:
    """Control characters and the size bound of an item's other fields."""
    chars = 0
    nested = False
    for key, value in meta.items():
        check_text(key, f"{source} field name")
        if isinstance(value, str):
            check_text(value, f"{source} {key}")
            chars += len(key) + len(value)
        else:
            _check_value(value, f"{source} {key}")
            nested = True
    if not nested and 4 * chars + 16 * len(meta) < MAX_META_BYTES:
        return  # even at 4 bytes per character the JSON fits: skip encoding it
    size = len(json.dumps(meta, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    if size > MAX_META_BYTES:
        raise InvalidInput(
            f"{source} fields",
            f"the other fields take {size} bytes, over the limit of {mib(MAX_META_BYTES)}",
            "move large values out of the item or shorten them",
        )


ItemSink = Callable[[list["ParsedItem"]], object]
"""Receives batches of distinct items, in input order, while a file is read (streaming)."""
_ITEM_SINK: ContextVar[ItemSink | None] = ContextVar("item_sink", default=None)


@contextmanager
def streaming_to(sink: ItemSink) -> Iterator[None]:
    """Collectors created inside the block stream their items to ``sink`` (see module docs)."""
    token = _ITEM_SINK.set(sink)
    try:
        yield
    finally:
        _ITEM_SINK.reset(token)


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
    streamed: StreamedItems | None = None

    def cid_of_source(self) -> dict[str, str]:
        """``{source: item CID}`` for every input record, duplicates included (of a streamed
        parse: for the formats that carry labels only)."""
        if self.streamed is not None:
            cids = dict(self.streamed.source_cids)
        else:
            cids = {item.source: item.cid for item in self.items}
        for duplicate, first in self.duplicates:
            if first in cids:
                cids[duplicate] = cids[first]
        return cids

    def item_cids(self) -> list[str]:
        """The CIDs of the distinct items, in input order."""
        if self.streamed is not None:
            return cids_from_digests(self.streamed.digests)
        return [item.cid for item in self.items]

    def iter_item_cids(self, size: int = 50_000) -> Iterator[list[str]]:
        """``item_cids`` in consecutive lists of at most ``size`` (memory stays small)."""
        if self.streamed is None:
            cids = [item.cid for item in self.items]
            for start in range(0, len(cids), size):
                yield cids[start : start + size]
            return
        digests = memoryview(self.streamed.digests)
        step = 32 * size
        for start in range(0, len(digests), step):
            yield cids_from_digests(digests[start : start + step])

    @property
    def counts(self) -> dict[str, int]:
        """Number of distinct items per kind (only kinds present)."""
        if self.streamed is not None:
            tally = self.streamed.kinds
        else:
            tally = Counter(item.kind for item in self.items)
        return {str(kind): tally[kind] for kind in _MODALITY_ORDER if tally[kind]}

    @property
    def modalities(self) -> tuple[str, ...]:
        """The kinds of items present, in the order text, image, pair."""
        return tuple(self.counts)

    def __len__(self) -> int:
        if self.streamed is not None:
            return len(self.streamed.digests) // 32
        return len(self.items)


@dataclass(slots=True)
class StreamedItems:
    """What a streaming parse keeps of its items: digests in order, kinds, and (formats with
    labels only) the CID of each item's source."""

    digests: bytearray
    """The 32-byte SHA-256 digests of the distinct items, concatenated in input order."""
    kinds: Counter[ItemKind]
    source_cids: dict[str, str]


def _id_key(external_id: Any) -> bytes:
    """A 128-bit hash naming an item id (a string, or another JSON value by its ``repr``)."""
    named = external_id if isinstance(external_id, str) else f"\0{external_id!r}"
    return hashlib.blake2b(named.encode("utf-8", "surrogatepass"), digest_size=16).digest()


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
        # the duplicate and id checks, compact (``KeyIndex``): the distinct item of each
        # content digest and of each id (by a 128-bit hash of the id), and the first source of
        # each distinct item (a ``name:line`` source kept as its line number, others by item)
        self._by_digest = KeyIndex(32, key_index.SPILL)
        self._by_id = KeyIndex(16, key_index.SPILL)
        self._line_prefix = f"{path.name}:"
        self._first_lines = array("q")
        self._first_named: dict[int, str] = {}
        self._order = bytearray()  # every distinct item's digest, in input order
        self._kinds: list[ItemKind] = []
        self._contents: list[bytes] = []
        self._digests: list[bytes] = []
        self._texts: list[str | None] = []
        self._widths: list[int | None] = []
        self._heights: list[int | None] = []
        self._metas: list[dict[str, Any]] = []
        self._sources: list[str] = []
        self._sizes: list[int] = []
        self._sink = _ITEM_SINK.get()
        self._kind_tally: Counter[ItemKind] = Counter()
        self._source_cids: dict[str, str] = {}
        self._keep_sources = fmt in _LABELLED_FORMATS

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
        if len(content) > MAX_ITEM_BYTES:
            raise too_large(source, len(content))
        if meta:
            _check_meta(meta, source)
        digest = hashlib.sha256(content).digest()
        first = self._by_digest.get(digest)
        external_id = meta.get("id")
        if external_id is not None:
            id_key = _id_key(external_id)
            seen = self._by_id.get(id_key)
            if seen is None:
                self._by_id.add(id_key, len(self._first_lines) if first is None else first)
            elif seen != first:
                raise InvalidInput(
                    source,
                    f"id {external_id!r} is already used by {self._source(seen)} for a "
                    "different item",
                    "give every item its own id",
                )
        if first is not None:
            self.duplicates.append((source, self._source(first)))
            return
        prefix = self._line_prefix
        tail = source[len(prefix) :]
        line = source.startswith(prefix) and tail.isascii() and tail.isdigit() and tail[0] != "0"
        index = len(self._first_lines)
        self._by_digest.add(digest, index)
        self._first_lines.append(int(tail) if line else -1)
        if not line:
            self._first_named[index] = source
        self._order += digest
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
        if self._sink is not None and len(self._digests) >= STREAM_BATCH:
            self._flush()

    def _source(self, index: int) -> str:
        """The source of the distinct item ``index`` (its first occurrence)."""
        line = self._first_lines[index]
        return f"{self._line_prefix}{line}" if line >= 0 else self._first_named[index]

    def _columns(self) -> tuple[list[Any], ...]:
        """The per-item lists, in ``ParsedItem`` field order (digests in place of CIDs)."""
        return (
            self._kinds,
            self._contents,
            self._digests,
            self._texts,
            self._widths,
            self._heights,
            self._metas,
            self._sources,
            self._sizes,
        )

    def _batch(self) -> list[ParsedItem]:
        columns = list(self._columns())
        columns[2] = cids_from_digests(self._digests)
        return list(map(ParsedItem, *columns))

    def _flush(self) -> None:
        """Hand the items read so far to the sink, keeping only their digests and kinds."""
        if self._sink is None or not self._digests:
            return
        batch = self._batch()
        if self._keep_sources:
            self._source_cids.update((item.source, item.cid) for item in batch)
        self._kind_tally.update(self._kinds)
        for column in self._columns():
            column.clear()
        self._sink(batch)

    def add_text(self, text: str, meta: dict[str, Any], source: str) -> None:
        """Add a text item; ``InvalidInput`` naming ``source`` if the text is blank."""
        if not text or text.isspace():
            raise InvalidInput(source, "the text is blank", "fill in the text or remove the row")
        check_text(text, f"{source} text")
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
            check_text(value, f"{source} {name}")
        try:
            content = _encode_pair({"prompt": prompt, "a": response_a, "b": response_b}).encode()
        except UnicodeEncodeError as exc:
            raise _surrogate(source) from exc
        self.add(ItemKind.PAIR, content, None, None, None, meta, source)

    def finish(self) -> ParsedDataset:
        """The dataset; ``InvalidInput`` if no item was found."""
        if self._sink is not None:
            self._flush()
            if self._order:
                return ParsedDataset(
                    self.path,
                    self.format,
                    [],
                    self.duplicates,
                    self.skipped,
                    self.prior,
                    self.unsupported,
                    StreamedItems(self._order, self._kind_tally, self._source_cids),
                )
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
        return ParsedDataset(
            self.path,
            self.format,
            self._batch(),
            self.duplicates,
            self.skipped,
            self.prior,
            self.unsupported,
        )
