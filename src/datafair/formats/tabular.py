"""Text datasets in CSV and JSONL.

Both formats carry the same fields, one item per row:

* ``text``: a text item; or ``prompt``, ``response_a``, ``response_b``: a pairwise-preference
  item (a prompt and two responses to compare);
* ``id`` (optional): the provider's own id, kept in ``meta["id"]``; one id may not name two
  different items;
* any other field is kept in ``meta`` (CSV: strings; JSONL: any JSON value).

CSV: UTF-8 (a byte-order mark is allowed), comma-separated, RFC 4180 quoting, a header row.
A CSV with both ``text`` and the three pair columns is read as pairs (``text`` goes to meta).
JSONL: UTF-8, one JSON object per line; blank lines are ignored. Each object is a text item if
it has ``text``, otherwise a pair.

Rows are streamed and the per-row work is kept to decoding, a SHA-256 and one dict lookup, so
parsing runs at several hundred thousand short texts per second. Sources are ``file:line``,
the line where the row starts.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from datafair.core.errors import InvalidInput
from datafair.formats.items import MAX_ITEM_BYTES, ImageSink, ItemCollector, ParsedDataset, mib

PAIR_FIELDS = ("prompt", "response_a", "response_b")


def _bad_utf8_line(path: Path) -> int:
    """The 1-based number of the first line of ``path`` that is not valid UTF-8."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def _not_utf8(path: Path) -> InvalidInput:
    return InvalidInput(
        f"{path.name}:{_bad_utf8_line(path)}",
        "is not valid UTF-8",
        "save the file as UTF-8",
    )


def parse_csv(path: Path, image_sink: ImageSink | None = None) -> ParsedDataset:
    """Read a CSV of texts or prompt/response pairs (see the module docs for the columns)."""
    collector = ItemCollector(path, "csv", image_sink)
    name = path.name
    # the reader's own bound (a process-wide setting) sits just above the item limit, so a
    # longer field gets the same refusal as an over-long item of any other format
    if csv.field_size_limit() != MAX_ITEM_BYTES + 1:
        csv.field_size_limit(MAX_ITEM_BYTES + 1)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            _read_csv_rows(csv.reader(handle, strict=True), collector, name)
    except UnicodeDecodeError as exc:
        raise _not_utf8(path) from exc
    return collector.finish()


def _csv_error(name: str, line: int, exc: csv.Error) -> InvalidInput:
    message = str(exc)
    if "field limit" in message:
        return InvalidInput(
            f"{name}:{line}",
            f"has a field over the limit of {mib(MAX_ITEM_BYTES)} per item",
            "split it into smaller items or remove it",
        )
    else:
        fix = "quote fields that contain commas, quotes or line breaks, and double inner quotes"
    return InvalidInput(f"{name}:{line}", f"is not valid CSV ({message})", fix)


def _header(reader: Any, name: str) -> list[str]:
    try:
        header = [column.strip() for column in next(reader)]
    except StopIteration:
        raise InvalidInput(name, "is empty", "add a header row with a text column") from None
    except csv.Error as exc:
        raise _csv_error(name, 1, exc) from exc
    seen: set[str] = set()
    for column in header:
        if not column:
            raise InvalidInput(f"{name}:1", "has an unnamed column", "name every column")
        if column in seen:
            raise InvalidInput(f"{name}:1", f"names column {column!r} twice", "rename one")
        seen.add(column)
    return header


def _read_csv_rows(reader: Any, collector: ItemCollector, name: str) -> None:
    header = _header(reader, name)
    columns = {column: index for index, column in enumerate(header)}
    missing_pair = [column for column in PAIR_FIELDS if column not in columns]
    pairs = not missing_pair
    if not pairs and "text" not in columns:
        hint = (
            f"; for pairs add {', '.join(missing_pair)}"
            if len(missing_pair) < len(PAIR_FIELDS)
            else ""
        )
        raise InvalidInput(
            f"{name}:1",
            "has no text column" + hint,
            "name the column holding the texts 'text', or give prompt,response_a,response_b",
        )
    roles = set(PAIR_FIELDS) | {"id"} if pairs else {"text", "id"}
    extras = [(column, index) for column, index in columns.items() if column not in roles]
    id_index = columns.get("id")
    width = len(header)
    start = reader.line_num + 1
    add_text, add_pair = collector.add_text, collector.add_pair
    text_index = columns.get("text", 0)
    prompt_index, a_index, b_index = (columns.get(column, 0) for column in PAIR_FIELDS)
    rows = iter(reader)
    while True:
        line = start  # the line where the next row starts
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _csv_error(name, line, exc) from exc
        start = reader.line_num + 1
        if len(row) != width:
            if not row:
                continue
            raise InvalidInput(
                f"{name}:{line}",
                f"has {len(row)} fields but the header has {width}",
                "quote fields that contain commas, and give every row all columns",
            )
        meta: dict[str, Any] = {column: row[index] for column, index in extras} if extras else {}
        if id_index is not None and row[id_index]:
            meta["id"] = row[id_index]
        if pairs:
            add_pair(row[prompt_index], row[a_index], row[b_index], meta, f"{name}:{line}")
        else:
            add_text(row[text_index], meta, f"{name}:{line}")


def add_fields(collector: ItemCollector, fields: dict[str, Any], source: str) -> None:
    """Add the text or pair item described by ``fields`` (a JSONL object or task data).

    ``fields`` is consumed: the role fields are removed and the rest becomes the item's meta.
    """
    external_id = fields.pop("id", None)
    if external_id is not None:
        if isinstance(external_id, bool) or not isinstance(external_id, str | int):
            raise InvalidInput(f"{source} id", "must be a string or an integer")
        fields["id"] = str(external_id)
    if "text" in fields:
        text = fields.pop("text")
        if not isinstance(text, str):
            raise InvalidInput(f"{source} text", f"must be a string, got {type(text).__name__}")
        collector.add_text(text, fields, source)
        return
    values = [fields.pop(key, None) for key in PAIR_FIELDS]
    if all(value is None for value in values):
        raise InvalidInput(
            source, "has no text", "give a 'text' field, or 'prompt', 'response_a', 'response_b'"
        )
    for key, value in zip(PAIR_FIELDS, values, strict=True):
        if not isinstance(value, str):
            problem = "is missing" if value is None else f"must be a string, not {value!r}"
            raise InvalidInput(f"{source} {key}", problem, "a pair needs all three as strings")
    collector.add_pair(values[0], values[1], values[2], fields, source)


# The decoder's C scanner: parses one JSON value at an offset, returns (value, end offset).
# (The typing stubs do not declare the attribute.)
_scan_value: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_BLANK = object()


def _json_line(line: str, source: str) -> Any:
    """Parse one JSONL line the careful way: ``_BLANK`` for a blank line, else the value."""
    if not line.strip():
        return _BLANK
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            source,
            f"is not valid JSON ({exc.msg} at column {exc.colno})",
            "write one complete JSON object per line",
        ) from exc


def parse_jsonl(path: Path, image_sink: ImageSink | None = None) -> ParsedDataset:
    """Read JSON Lines of texts or prompt/response pairs (see the module docs for the fields).

    Each line goes straight to the JSON scanner (about twice as fast as ``json.loads``); a line
    it does not take whole (blank, padded, malformed) is re-read by ``json.loads`` for its
    exact verdict and error message.
    """
    collector = ItemCollector(path, "jsonl", image_sink)
    name = path.name
    scan = _scan_value
    try:
        with path.open(encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, 1):
                try:
                    fields, end = scan(line, 0)
                    whole = line[end:].isspace() or end == len(line)
                except (StopIteration, ValueError):
                    whole = False
                if not whole:
                    fields = _json_line(line, f"{name}:{number}")
                    if fields is _BLANK:
                        continue
                if type(fields) is not dict:
                    raise InvalidInput(
                        f"{name}:{number}",
                        f"is a JSON {type(fields).__name__}, not an object",
                        'write one object per line, e.g. {"text": "..."}',
                    )
                add_fields(collector, fields, f"{name}:{number}")
    except UnicodeDecodeError as exc:
        raise _not_utf8(path) from exc
    return collector.finish()
