"""Dataset file formats: importers that turn files into content-addressed items, and exporters
that write labelled datasets in the formats trainers load (JSONL, Parquet, Hugging Face
``datasets``, COCO, CoNLL).
"""

from datafair.formats.exporters import EXPORT_FORMATS, write_export
from datafair.formats.importers import detect_format, parse_dataset
from datafair.formats.items import ParsedDataset, ParsedItem
from datafair.formats.records import ExportRecord

__all__ = [
    "EXPORT_FORMATS",
    "ExportRecord",
    "ParsedDataset",
    "ParsedItem",
    "detect_format",
    "parse_dataset",
    "write_export",
]
