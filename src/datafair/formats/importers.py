"""``parse_dataset``: read a dataset from a path, whatever its supported format.

================================  ==============================================================
input                             detected by
================================  ==============================================================
folder of PNG/JPEG images         the path is a directory (``datafair.formats.images``)
CSV of texts or pairs             ``.csv`` (``datafair.formats.tabular``)
JSONL of texts or pairs           ``.jsonl``/``.ndjson``, or ``.json`` starting with ``{``
Label Studio tasks export         ``.json`` starting with ``[`` (``datafair.formats.labelstudio``)
COCO detection file               ``.json`` object with ``images`` and ``annotations``
                                  (``datafair.formats.coco``)
================================  ==============================================================

Label Studio annotations and predictions and COCO boxes come along as prior labels
(``ParsedDataset.prior``), kept as ``PriorOptions`` say.

A file with another name is sniffed: ``[`` → Label Studio, ``{`` → JSONL; anything else is
refused. Every problem raises one ``InvalidInput`` that names the file and the line, list index
or image file, and says how to fix it. Nothing is written anywhere.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from datafair.core.errors import InvalidInput
from datafair.formats.coco import looks_like_coco, parse_coco
from datafair.formats.images import looks_like_image, parse_image_folder
from datafair.formats.items import ImageSink, ItemSink, ParsedDataset, PriorOptions, streaming_to
from datafair.formats.labelstudio import parse_labelstudio
from datafair.formats.tabular import parse_csv, parse_jsonl

PARSERS: dict[str, Callable[[Path, ImageSink | None], ParsedDataset]] = {
    "csv": parse_csv,
    "jsonl": parse_jsonl,
    "labelstudio": parse_labelstudio,
    "images": parse_image_folder,
    "coco": parse_coco,
}
_WITH_LABELS = frozenset({"labelstudio", "coco"})
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_SUPPORTED = (
    "give a folder of PNG/JPEG images, a .csv or .jsonl of texts, "
    "a Label Studio tasks .json export or a COCO .json file"
)


def _first_char(path: Path) -> bytes:
    with path.open("rb") as handle:
        head = handle.read(4096)
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]


def detect_format(path: Path) -> str:
    """The format name of ``path`` (a key of ``PARSERS``); ``InvalidInput`` if unsupported."""
    if path.is_dir():
        return "images"
    if not path.is_file():
        raise InvalidInput(str(path), "does not exist", "check the path")
    suffix = path.suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    first = _first_char(path)
    if first == b"[":
        return "labelstudio"
    if first == b"{":
        return "coco" if suffix == ".json" and _is_coco(path) else "jsonl"
    with path.open("rb") as handle:
        head = handle.read(16)
    if looks_like_image(head, path.name):
        raise InvalidInput(
            path.name, "is a single image", "put the images in a folder and import the folder"
        )
    if not first:
        raise InvalidInput(path.name, "is empty", _SUPPORTED)
    raise InvalidInput(path.name, "is not a supported dataset file", _SUPPORTED)


def _is_coco(path: Path) -> bool:
    try:
        return looks_like_coco(json.loads(path.read_bytes()))
    except (ValueError, UnicodeDecodeError):  # not one JSON object: JSON Lines
        return False


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many acyclic objects are created."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_dataset(
    path: Path,
    image_sink: ImageSink | None = None,
    options: PriorOptions | None = None,
    *,
    item_sink: ItemSink | None = None,
) -> ParsedDataset:
    """Detect the format of ``path`` and read its items (see the module docs).

    ``image_sink`` receives each distinct image's bytes as they are read; those items then keep
    only their size (see ``datafair.formats.items``). ``options`` say how the labels of a
    Label Studio or COCO file are kept. ``item_sink`` receives the distinct items in batches as
    they are read, and the result keeps only their digests (``datafair.formats.items``,
    streaming): an import then holds no more than one batch of rows in memory.
    """
    path = Path(path)
    fmt = detect_format(path)
    if item_sink is not None:
        with streaming_to(item_sink):
            return parse_dataset(path, image_sink, options)
    with _gc_paused():
        if fmt in _WITH_LABELS:
            return PARSERS_WITH_LABELS[fmt](path, image_sink, options)
        return PARSERS[fmt](path, image_sink)


PARSERS_WITH_LABELS: dict[
    str, Callable[[Path, ImageSink | None, PriorOptions | None], ParsedDataset]
] = {"labelstudio": parse_labelstudio, "coco": parse_coco}
