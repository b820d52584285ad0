"""``parse_dataset``: format detection and refusal of what it cannot read."""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from datafair.core.errors import InvalidInput
from datafair.formats import detect_format, parse_dataset


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.csv", "text\nx\n", "csv"),
        ("a.CSV", "text\nx\n", "csv"),
        ("a.jsonl", '{"text": "x"}\n', "jsonl"),
        ("a.ndjson", '{"text": "x"}\n', "jsonl"),
        ("a.json", '[{"data": {"text": "x"}}]', "labelstudio"),
        ("a.json", '{"text": "x"}\n{"text": "y"}\n', "jsonl"),
        ("export", '\n  [{"data": {"text": "x"}}]', "labelstudio"),
    ],
)
def test_detect_and_parse(tmp_path: Path, name: str, content: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    assert detect_format(path) == expected
    dataset = parse_dataset(path)
    assert dataset.format == expected
    assert dataset.items[0].text == "x"


def test_folder_is_images(tmp_path: Path, write_image: Callable[..., Path]) -> None:
    write_image(tmp_path / "imgs" / "x.png")
    dataset = parse_dataset(tmp_path / "imgs")
    assert dataset.format == "images" and dataset.counts == {"image": 1}


def test_garbage_collector_state_is_restored(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("text\nx\n")
    assert gc.isenabled()
    parse_dataset(path)
    assert gc.isenabled()
    path.write_text("text\n\n")
    with pytest.raises(InvalidInput):
        parse_dataset(path)
    assert gc.isenabled()


def test_unknown_file_type(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some words")
    with pytest.raises(
        InvalidInput, match=r"^notes\.txt: is not a supported dataset file \(give a folder"
    ):
        parse_dataset(path)


def test_single_image_file(tmp_path: Path, write_image: Callable[..., Path]) -> None:
    path = write_image(tmp_path / "cat.png")
    with pytest.raises(
        InvalidInput, match=r"^cat\.png: is a single image \(put the images in a folder"
    ):
        parse_dataset(path)


def test_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"does not exist"):
        parse_dataset(tmp_path / "nope.csv")
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(InvalidInput, match=r"^empty: is empty"):
        parse_dataset(tmp_path / "empty")
    (tmp_path / "empty.jsonl").write_bytes(b"")
    with pytest.raises(InvalidInput, match=r"^empty\.jsonl: contains no items"):
        parse_dataset(tmp_path / "empty.jsonl")


def _streamed_peak(path: Path) -> tuple[int, int]:
    """Peak traced bytes of a streaming parse of ``path``, and the items it passed on."""
    seen = []
    tracemalloc.start()
    try:
        parsed = parse_dataset(path, item_sink=lambda batch: seen.append(len(batch)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(parsed) == sum(seen) and parsed.items == []
    return peak, sum(seen)


def test_a_streamed_parse_keeps_a_few_hundred_bytes_per_row(tmp_path: Path) -> None:
    peaks = {}
    for rows in (20_000, 80_000):
        path = tmp_path / f"{rows}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            out.writelines(
                json.dumps({"id": n, "text": f"row {n} of some length", "lang": "en"}) + "\n"
                for n in range(rows)
            )
        peaks[rows], passed = _streamed_peak(path)
        assert passed == rows
    per_row = (peaks[80_000] - peaks[20_000]) / 60_000
    print(f"streamed parse: {per_row:.0f} bytes per extra row, peak {peaks[80_000] / 1e6:.1f} MB")
    assert per_row < 160  # the digest, the duplicate and id checks; no row content
