"""Collection tasks: what a contributed item may be, and the royalty promise of a task.

A collection task (``TaskType.COLLECTION``) asks for new items. Each contribution has a
*format*, which fixes its content bytes (whose CIDv1 is the item id) and the stored item kind:

===========  =====================================================  =========  ==============
format       payload                                                item kind  content bytes
===========  =====================================================  =========  ==============
text         ``{"text": str}``                                      text       the UTF-8 text
image        ``{"image": bytes}`` (PNG, JPEG, ...)                  image      the file bytes
instruction  ``{"instruction": str, "response": str}``              text       canonical JSON
preference   ``{"prompt": str, "chosen": str, "rejected": str}``    pair       canonical JSON
===========  =====================================================  =========  ==============

A preference item is stored as a pair item (``{"prompt", "a": chosen, "b": rejected}``, the
layout :mod:`datafair.formats.items` uses), so a preference task can later label it.

The task's terms live in its spec's ``extra``: ``extra.collection = {"formats": [...],
"max_bytes": N}`` (default: every format, :data:`DEFAULT_MAX_BYTES`), and the royalty promise
``extra.royalty_bps``: the share of every future sale of data built from the task that goes to
its contributors, in basis points (default :data:`DEFAULT_ROYALTY_BPS`, at least the node's
floor). Both are part of the spec, so a contributor's signature over the task id covers them.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from datafair.core.canonical import canonical_json
from datafair.core.errors import InvalidInput
from datafair.core.schemas import COLLECTION_FORMATS as FORMATS
from datafair.core.schemas import KIND_OF_FORMAT, ItemKind

DEFAULT_MAX_BYTES = 1_000_000
MAX_MAX_BYTES = 50_000_000
DEFAULT_ROYALTY_BPS = 3_000
DEFAULT_ROYALTY_FLOOR_BPS = 1_000
BPS = 10_000
MAX_ROYALTY_BPS = 9_500
"""Largest promise: a sale's platform fee may take up to 5 % (the contracts' fee cap)."""

_FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "image": ("image",),
    "instruction": ("instruction", "response"),
    "preference": ("prompt", "chosen", "rejected"),
}


@dataclass(frozen=True)
class CollectionTerms:
    """What a collection task accepts: the formats and the largest content in bytes."""

    formats: tuple[str, ...] = FORMATS
    max_bytes: int = DEFAULT_MAX_BYTES

    def to_dict(self) -> dict[str, Any]:
        return {"formats": list(self.formats), "max_bytes": self.max_bytes}


def collection_terms(extra: Mapping[str, Any]) -> CollectionTerms:
    """The terms in a spec's ``extra.collection``; ``InvalidInput`` naming the bad field."""
    raw = extra.get("collection", {})
    if not isinstance(raw, Mapping):
        raise InvalidInput("extra.collection", "must be an object", 'e.g. {"formats": ["text"]}')
    formats = raw.get("formats", list(FORMATS))
    if (
        not isinstance(formats, list | tuple)
        or not formats
        or any(f not in FORMATS for f in formats)
        or len(set(formats)) != len(formats)
    ):
        raise InvalidInput(
            "extra.collection.formats",
            f"{formats!r} is not a list of distinct formats",
            f"use some of: {', '.join(FORMATS)}",
        )
    max_bytes = raw.get("max_bytes", DEFAULT_MAX_BYTES)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
        raise InvalidInput("extra.collection.max_bytes", "must be an integer number of bytes")
    if not 1 <= max_bytes <= MAX_MAX_BYTES:
        raise InvalidInput("extra.collection.max_bytes", f"must be 1..{MAX_MAX_BYTES}")
    return CollectionTerms(tuple(str(f) for f in formats), max_bytes)


def royalty_bps(extra: Mapping[str, Any], floor_bps: int = DEFAULT_ROYALTY_FLOOR_BPS) -> int:
    """The royalty share a task promises (``extra.royalty_bps``, default 30 %), checked
    against ``floor_bps``; ``InvalidInput`` with the allowed range otherwise."""
    value = extra.get("royalty_bps", DEFAULT_ROYALTY_BPS)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("royalty_bps", f"must be an integer in basis points, got {value!r}")
    if not floor_bps <= value <= MAX_ROYALTY_BPS:
        raise InvalidInput(
            "royalty_bps",
            f"{value} is outside {floor_bps}..{MAX_ROYALTY_BPS} basis points",
            f"promise contributors at least {floor_bps / 100:g} % of every sale",
        )
    return value


@dataclass(frozen=True)
class Contribution:
    """A checked contribution: format, item kind, content bytes, inline text, item meta."""

    format: str
    kind: ItemKind
    content: bytes
    text: str | None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def descriptor(self) -> dict[str, str]:
        """The canonical "answer" a contribution's signature covers: ``{"format": F}``."""
        return {"format": self.format}

    @property
    def shingle_text(self) -> str | None:
        """The text near-duplicate detection compares (every text field, joined)."""
        if self.format == "image":
            return None
        if self.format == "text":
            return self.text
        fields = json.loads(self.content)
        return "\n".join(str(fields[name]) for name in sorted(fields))


def _text_field(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str):
        raise InvalidInput(name, f"must be text, got {type(value).__name__}")
    if not unicodedata.normalize("NFC", value).strip():
        raise InvalidInput(name, "is empty", f"give a non-empty {name}")
    return value


def build_contribution(
    fmt: str, payload: Mapping[str, Any], terms: CollectionTerms
) -> Contribution:
    """Check one contributed ``payload`` of format ``fmt`` and give its content.

    Refused in one line: a format the task does not take (wrong type), missing or extra fields,
    empty text or image, content over ``terms.max_bytes``. Image bytes are decoded later, by the
    service (a core module reads no image library).
    """
    if fmt not in FORMATS:
        raise InvalidInput("format", f"unknown format {fmt!r}", f"use one of: {', '.join(FORMATS)}")
    if fmt not in terms.formats:
        raise InvalidInput(
            "format",
            f"this task does not collect {fmt} items",
            f"send one of: {', '.join(terms.formats)}",
        )
    if not isinstance(payload, Mapping) or set(payload) != set(_FIELDS[fmt]):
        raise InvalidInput("item", f"a {fmt} item has exactly the fields {', '.join(_FIELDS[fmt])}")
    meta: dict[str, Any]
    if fmt == "image":
        data = payload["image"]
        if not isinstance(data, bytes | bytearray):
            raise InvalidInput("image", "must be the image file's bytes")
        content, text, meta = bytes(data), None, {}
        if not content:
            raise InvalidInput("image", "is empty", "send a PNG or JPEG file")
    elif fmt == "text":
        text = _text_field(payload, "text")
        content, meta = text.encode("utf-8"), {}
    elif fmt == "instruction":
        fields = {name: _text_field(payload, name) for name in _FIELDS[fmt]}
        content = canonical_json(fields)
        text, meta = content.decode("utf-8"), {"format": fmt}
    else:
        fields = {name: _text_field(payload, name) for name in _FIELDS[fmt]}
        pair = {"prompt": fields["prompt"], "a": fields["chosen"], "b": fields["rejected"]}
        content = canonical_json(pair)
        text, meta = content.decode("utf-8"), {"format": fmt, "preferred": "a"}
    if len(content) > terms.max_bytes:
        raise InvalidInput(
            "item",
            f"is {len(content)} bytes, over this task's limit of {terms.max_bytes}",
            "send a smaller item",
        )
    return Contribution(fmt, KIND_OF_FORMAT[fmt], content, text, meta)
