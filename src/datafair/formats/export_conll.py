"""CoNLL export of entity spans: whitespace tokens with BIO tags, for span (NER) tasks.

Each labelled record's text is split on whitespace; a token gets ``B-<class>`` if it is the
first token overlapping a span, ``I-<class>`` for the following tokens overlapping the same
span, and ``O`` otherwise. A span that starts or ends inside a token tags the whole token
(``"Lisbon,"`` is ``B-LOC`` for a span over ``Lisbon``). Whitespace inside a class name
becomes ``_`` so each line keeps two columns.

Files: ``<name>.conll`` holds one ``token TAG`` line per token and a blank line after each
record; ``<name>.conll.cids`` holds the record's item CID for each sentence, one per line, in
the same order. Records without a label (``None``) are left out; ``[]`` is all ``O``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datafair.core.errors import InvalidInput
from datafair.formats.records import ExportRecord

_TOKEN = re.compile(r"\S+")
_SPACE = re.compile(r"\s+")


def bio_tags(text: str, spans: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(token, tag)`` for each whitespace token of ``text`` given character ``spans``."""
    ordered = sorted(spans, key=lambda span: (span["start"], span["end"]))
    tagged: list[tuple[str, str]] = []
    current = 0  # index of the first span that may still overlap a token
    previous_span = -1
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        while current < len(ordered) and ordered[current]["end"] <= start:
            current += 1
        tag = "O"
        if current < len(ordered) and ordered[current]["start"] < end:
            label = _SPACE.sub("_", ordered[current]["label"])
            tag = ("I-" if previous_span == current else "B-") + label
            previous_span = current
        tagged.append((match.group(), tag))
    return tagged


def write_conll(records: Sequence[ExportRecord], path: Path) -> list[Path]:
    """Write ``path`` (tokens and tags) and ``path.cids`` (item CIDs); return both paths."""
    sentences: list[str] = []
    cids: list[str] = []
    for record in records:
        if record.label is None:
            continue
        if record.text is None:
            raise InvalidInput(
                f"record {record.item_cid} text", "is missing", "a CoNLL export needs each text"
            )
        for span in record.label:
            if not 0 <= span["start"] < span["end"] <= len(record.text):
                raise InvalidInput(
                    f"record {record.item_cid} label",
                    f"span {span['start']}..{span['end']} is outside the text",
                )
        lines = [f"{token} {tag}\n" for token, tag in bio_tags(record.text, record.label)]
        sentences.append("".join(lines) + "\n")
        cids.append(record.item_cid + "\n")
    index = path.with_name(path.name + ".cids")
    for target, content in ((path, sentences), (index, cids)):
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text("".join(content), encoding="utf-8")
        os.replace(tmp, target)
    return [path, index]
