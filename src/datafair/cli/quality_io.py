"""CSV files of the ``datafair quality`` commands: read answers and gold, write labels and skills.

ANSWERS: header with ``item,worker,label`` (``task`` is accepted for ``item``, as crowd-kit
writes it); GOLD: ``item,label`` (``truth`` is accepted for ``label``). Column names are matched
case-insensitively; extra columns are ignored. Files must be UTF-8 (a BOM is allowed). Every
problem is one ``InvalidInput`` naming the file, the line and the fix. Outputs are written to a
temporary file and renamed, so a failed run never leaves a half-written file.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from datafair.core.errors import InvalidInput

ALIASES = {"task": "item", "truth": "label"}


@dataclass(frozen=True)
class AnswerColumns:
    """The three answer columns, one entry per data row."""

    items: list[str]
    workers: list[str]
    labels: list[str]


def read_table(path: Path, required: Sequence[str]) -> list[list[str]]:
    """Rows of the ``required`` columns (in that order) of a UTF-8 CSV file with a header."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(name, "no such file", "check the path") from None
    except OSError as failure:
        raise InvalidInput(name, f"cannot be read ({failure.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as failure:
        line = raw[: failure.start].count(b"\n") + 1
        raise InvalidInput(
            name,
            f"line {line} is not UTF-8 (byte 0x{raw[failure.start]:02x})",
            "save the file as UTF-8",
        ) from None
    if not text.strip():
        raise InvalidInput(
            name, "the file is empty", f"start it with the header {','.join(required)}"
        )
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in next(reader)]
        missing = [column for column in required if column not in header]
        if missing:
            raise InvalidInput(
                name,
                f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"(header is {','.join(header)})",
                f"the header must name {','.join(required)}",
            )
        positions = [header.index(column) for column in required]
        rows: list[list[str]] = []
        for record in reader:
            if not record or all(not field.strip() for field in record):
                continue
            line = reader.line_num
            values = [record[p].strip() if p < len(record) else "" for p in positions]
            for column, value in zip(required, values, strict=True):
                if not value:
                    raise InvalidInput(
                        f"{name} line {line}", f"blank {column}", "fill it in or drop the row"
                    )
            rows.append(values)
    except csv.Error as failure:
        raise InvalidInput(
            name, f"line {reader.line_num}: {failure}", "fix the CSV quoting"
        ) from None
    return rows


def read_answers(path: Path) -> AnswerColumns:
    """ANSWERS.csv as columns; a header-only file gives empty columns."""
    rows = read_table(path, ("item", "worker", "label"))
    return AnswerColumns(
        items=[r[0] for r in rows], workers=[r[1] for r in rows], labels=[r[2] for r in rows]
    )


def read_gold(path: Path) -> dict[str, str]:
    """GOLD.csv as ``{item: label}``; an item given two different labels is an error."""
    gold: dict[str, str] = {}
    for item, label in read_table(path, ("item", "label")):
        if gold.get(item, label) != label:
            raise InvalidInput(
                str(path), f"item {item!r} has two gold labels", "keep one label per item"
            )
        gold[item] = label
    return gold


def write_table(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Write a CSV atomically (temporary file in the same folder, then rename)."""
    folder = path.resolve().parent
    if not folder.is_dir():
        raise InvalidInput(str(path), "its folder does not exist", "create the folder first")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
