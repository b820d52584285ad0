"""Dataset file formats: importers that turn files into content-addressed items, and exporters
that write labelled datasets in the formats trainers load (JSONL, Parquet, Hugging Face
``datasets``, COCO, CoNLL).

``write_export`` and ``EXPORT_FORMATS`` are loaded on first use: they bring in pyarrow, which
an import or a CLI start-up need not pay for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datafair.formats.importers import detect_format, parse_dataset
from datafair.formats.items import ParsedDataset, ParsedItem, PriorLabel, PriorOptions
from datafair.formats.records import ExportRecord

if TYPE_CHECKING:
    from datafair.formats.exporters import EXPORT_FORMATS, write_export

__all__ = [
    "EXPORT_FORMATS",
    "ExportRecord",
    "ParsedDataset",
    "ParsedItem",
    "PriorLabel",
    "PriorOptions",
    "detect_format",
    "parse_dataset",
    "write_export",
]


def __getattr__(name: str) -> Any:
    if name in ("EXPORT_FORMATS", "write_export"):
        from datafair.formats import exporters

        return getattr(exporters, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
