"""Files of the ``datafair quality`` commands: read answers and gold, write labels and skills.

ANSWERS: CSV with a header ``item,worker,label`` (``task`` is accepted for ``item``, as crowd-kit
writes it), or a Parquet file (``.parquet``) with those columns; GOLD: ``item,label`` (``truth``
is accepted for ``label``). Column names are matched case-insensitively; extra columns are
ignored; values are stripped of surrounding blanks. Files must be UTF-8 (a BOM is allowed).

Answers are read with pyarrow's multi-threaded CSV/Parquet reader and dictionary-encoded in
Arrow; the distinct keys are sorted once with numpy, so millions of rows never become Python
strings (:class:`EncodedColumns`). A file pyarrow rejects, or one with a blank value, is re-read
by the row-by-row reader only to name the exact line. Every problem is one ``InvalidInput``
naming the file, the line and the fix. Outputs are written to a temporary file and renamed, so a
failed run never leaves a half-written file.

pyarrow and numpy are imported inside the functions that use them, so that importing this
module (and starting the ``datafair`` command) stays fast.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datafair.core.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

ALIASES = {"task": "item", "truth": "label"}
ANSWER_COLUMNS = ("item", "worker", "label")


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
    """ANSWERS.csv as columns of Python strings; a header-only file gives empty columns."""
    encoded = read_encoded_answers(path)
    return AnswerColumns(
        items=encoded.values("item"),
        workers=encoded.values("worker"),
        labels=encoded.values("label"),
    )


@dataclass(frozen=True)
class EncodedColumns:
    """Answer columns as integer codes into sorted key arrays (one row per answer).

    ``keys[name]`` holds the sorted distinct strings of column ``name``; ``codes[name][row]`` is
    the position of that row's value in it (int64).
    """

    keys: dict[str, NDArray[Any]]
    codes: dict[str, NDArray[np.int64]]

    def __len__(self) -> int:
        return int(self.codes["item"].shape[0])

    def values(self, name: str) -> list[str]:
        """Column ``name`` as Python strings (for small files)."""
        return [str(v) for v in self.keys[name][self.codes[name]].tolist()]


def read_encoded_answers(path: Path) -> EncodedColumns:
    """ANSWERS (CSV or Parquet) as :class:`EncodedColumns`, read with pyarrow (a small CSV
    file with the csv module)."""
    name = str(path)
    if not path.is_file():
        if not path.exists():
            raise InvalidInput(name, "no such file", "check the path")
        raise InvalidInput(name, "is not a file", "give the path of a CSV or Parquet file")
    if path.suffix.lower() != ".parquet" and path.stat().st_size <= SMALL_CSV:
        return _encode_rows(read_table(path, ANSWER_COLUMNS))
    import pyarrow as pa

    if path.suffix.lower() == ".parquet":
        table = _read_parquet(path)
    else:
        try:
            table = _read_csv_fast(path)
        except (pa.ArrowException, UnicodeDecodeError, OSError, ValueError):
            table = None
        if table is None:  # let the row-by-row reader name the problem and its line
            rows = read_table(path, ANSWER_COLUMNS)
            table = pa.table(
                {
                    column: pa.array([r[i] for r in rows], type=pa.string())
                    for i, column in enumerate(ANSWER_COLUMNS)
                }
            )
    return _encode_table(table)


SMALL_CSV = 1 << 20
"""CSV files up to this size (about 40,000 answers) are read with the csv module: faster than
pyarrow's 0.1 s of import (the same rows: the csv module's reader is the one every problem a
larger file has is reported with)."""


def _encode_rows(rows: list[list[str]]) -> EncodedColumns:
    """:class:`EncodedColumns` of rows of (item, worker, label) strings, already trimmed."""
    import numpy as np

    keys: dict[str, Any] = {}
    codes: dict[str, Any] = {}
    for position, column in enumerate(ANSWER_COLUMNS):
        values = np.asarray([row[position] for row in rows], dtype=str)
        distinct, rank = np.unique(values, return_inverse=True)
        keys[column] = distinct
        codes[column] = rank.reshape(-1).astype(np.int64)
    return EncodedColumns(keys=keys, codes=codes)


def _header(path: Path) -> list[str] | None:
    """The CSV header's names, lower-cased and aliased; ``None`` when unreadable."""
    with path.open("rb") as handle:
        first = handle.readline()
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    names = next(csv.reader([text]), [])
    return [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in names]


def _read_csv_fast(path: Path) -> Any:
    """The three answer columns with pyarrow, or ``None`` when a problem needs a line number."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pa_csv

    header = _header(path)
    if header is None or any(column not in header for column in ANSWER_COLUMNS):
        return None
    if len(set(header)) != len(header):
        return None
    original = [f"c{i}" for i in range(len(header))]
    wanted = {original[header.index(column)]: column for column in ANSWER_COLUMNS}
    table = pa_csv.read_csv(
        path,
        read_options=pa_csv.ReadOptions(column_names=original, skip_rows=1),
        parse_options=pa_csv.ParseOptions(newlines_in_values=False),
        convert_options=pa_csv.ConvertOptions(
            include_columns=list(wanted),
            column_types={c: pa.string() for c in wanted},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    columns = {}
    for raw, column in wanted.items():
        # encode first, then trim and check only the distinct values (far fewer than rows)
        values = pc.dictionary_encode(table.column(raw)).combine_chunks()
        trimmed = pc.utf8_trim_whitespace(values.dictionary)
        shortest = pc.min(pc.utf8_length(trimmed)).as_py()
        if values.null_count or (shortest is not None and shortest == 0):
            return None
        columns[column] = pa.DictionaryArray.from_arrays(values.indices, trimmed)
    return pa.table(columns)


def _read_parquet(path: Path) -> Any:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    name = str(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as failure:
        raise InvalidInput(name, f"is not a readable Parquet file ({failure})") from None
    lower = {ALIASES.get(c.strip().lower(), c.strip().lower()): c for c in table.column_names}
    missing = [column for column in ANSWER_COLUMNS if column not in lower]
    if missing:
        raise InvalidInput(
            name,
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(columns are {','.join(table.column_names)})",
            f"the file must have columns {','.join(ANSWER_COLUMNS)}",
        )
    columns = {}
    for column in ANSWER_COLUMNS:
        values = pc.utf8_trim_whitespace(pc.cast(table.column(lower[column]), pa.string()))
        lengths = pc.fill_null(pc.utf8_length(values), 0)
        if isinstance(lengths, pa.ChunkedArray):
            lengths = lengths.combine_chunks()
        blank = np.flatnonzero(_int_buffer(lengths) == 0)
        if blank.shape[0]:
            raise InvalidInput(
                f"{name} row {int(blank[0]) + 1}", f"blank {column}", "fill it in or drop the row"
            )
        columns[column] = values
    return pa.table(columns)


def _int_buffer(array: Any) -> NDArray[Any]:
    """An Arrow integer array without nulls as numpy, read from its buffer (no pandas)."""
    import numpy as np

    width = array.type.bit_width // 8
    dtype = np.dtype(f"<i{width}")
    if len(array) == 0:
        return np.zeros(0, dtype=dtype)
    data = array.buffers()[1]
    return np.frombuffer(data, dtype=dtype, count=len(array), offset=array.offset * width)


def _encode_table(table: Any) -> EncodedColumns:
    """Dictionary-encode each column in Arrow, then sort its distinct values with numpy."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    keys: dict[str, Any] = {}
    codes: dict[str, Any] = {}
    for column in ANSWER_COLUMNS:
        values = table.column(column)
        if not pa.types.is_dictionary(values.type):
            values = pc.dictionary_encode(values)
        encoded = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        # trimming can make two distinct raw values equal: np.unique merges them
        trimmed = pc.utf8_trim_whitespace(encoded.dictionary).to_pylist()
        distinct, rank = np.unique(np.asarray(trimmed, dtype=str), return_inverse=True)
        indices = _int_buffer(encoded.indices).astype(np.int64)
        keys[column] = distinct
        codes[column] = rank.reshape(-1).astype(np.int64)[indices] if indices.shape[0] else indices
    return EncodedColumns(keys=keys, codes=codes)


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


# Arrow arrays are built from their buffers: ``pyarrow.array`` imports pandas (0.2 s) to ask
# whether its argument is a pandas object, even for a list or a numpy array.


def _arrow_int64(values: Any) -> Any:
    """A pyarrow int64 array over the numpy int64 array ``values`` (no copy of the data)."""
    import numpy as np
    import pyarrow as pa

    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def _arrow_strings(values: list[str]) -> Any:
    """A pyarrow large_string array of ``values``: their UTF-8 bytes and 64-bit offsets."""
    import numpy as np
    import pyarrow as pa

    encoded = [value.encode("utf-8") for value in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.large_string(), len(encoded), buffers)


SMALL_OUTPUT = 20_000
"""Label files of at most this many rows are formatted in Python (pyarrow's import costs more)."""


def write_labels(path: Path, items: Any, labels: Any, confidence: Any) -> None:
    """``item,label,confidence`` (6 decimals) with pyarrow's CSV writer, atomically; small files
    without a character to quote, byte for byte the same, without importing pyarrow."""
    import numpy as np

    folder = path.resolve().parent
    if not folder.is_dir():
        raise InvalidInput(str(path), "its folder does not exist", "create the folder first")
    micro = np.rint(np.asarray(confidence, dtype=np.float64) * 1e6).astype(np.int64)
    if micro.shape[0] <= SMALL_OUTPUT:
        item_text = np.asarray(items, dtype=str).tolist()
        label_text = np.asarray(labels, dtype=str).tolist()
        if not any(c in value for value in item_text + label_text for c in ',"\r\n'):
            confidence_text = [
                f"{whole}.{part:06d}"
                for whole, part in zip(
                    (micro // 1_000_000).tolist(), (micro % 1_000_000).tolist(), strict=True
                )
            ]
            rows = zip(item_text, label_text, confidence_text, strict=True)
            write_table(path, ("item", "label", "confidence"), rows)
            return
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pa_csv

    whole = _arrow_int64(micro // 1_000_000)
    fraction = pc.utf8_lpad(pc.cast(_arrow_int64(micro % 1_000_000), pa.string()), 6, "0")
    points = pa.Array.from_buffers(  # "." per row: a scalar separator would import pandas
        pa.string(),
        len(micro),
        [
            None,
            pa.py_buffer(np.arange(len(micro) + 1, dtype=np.int32)),
            pa.py_buffer(b"." * len(micro)),
        ],
    )
    text = pc.binary_join_element_wise(pc.cast(whole, pa.string()), fraction, points)
    table = pa.table(
        {
            "item": _arrow_strings(np.asarray(items, dtype=str).tolist()),
            "label": _arrow_strings(np.asarray(labels, dtype=str).tolist()),
            "confidence": text,
        }
    )
    special = any(
        pc.any(pc.match_substring_regex(table.column(name), '[,"\r\n]')).as_py()
        for name in ("item", "label")
    )
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    os.close(handle)
    try:
        with open(temporary, "wb") as sink:
            sink.write(b"item,label,confidence\n")
            pa_csv.write_csv(
                table,
                sink,
                write_options=pa_csv.WriteOptions(
                    quoting_style="needed" if special else "none", include_header=False
                ),
            )
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
