"""CSV and JSONL text datasets: fields, pairs, meta, duplicates, and every bad row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datafair.core.canonical import canonical_json
from datafair.core.errors import InvalidInput
from datafair.core.schemas import ItemKind
from datafair.crypto.cid import compute_cid
from datafair.formats.items import MAX_ITEM_BYTES
from datafair.formats.tabular import parse_csv, parse_jsonl


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def test_csv_texts_with_id_and_extra_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path / "reviews.csv",
        'id,text,lang\n1,great product,en\n2,"line one\nline two, with comma",en\n3,ótimo,pt\n',
    )
    dataset = parse_csv(path)
    assert dataset.format == "csv"
    assert [item.text for item in dataset.items] == [
        "great product",
        "line one\nline two, with comma",
        "ótimo",
    ]
    first, second, third = dataset.items
    assert first.kind is ItemKind.TEXT
    assert first.content == b"great product"
    assert first.cid == compute_cid(b"great product")
    assert first.meta == {"id": "1", "lang": "en"}
    assert (first.source, second.source, third.source) == (
        "reviews.csv:2",
        "reviews.csv:3",
        "reviews.csv:5",
    )
    assert third.content == "ótimo".encode()
    assert dataset.modalities == ("text",)
    assert dataset.counts == {"text": 3}
    assert (first.width, first.height) == (None, None)


def test_csv_with_byte_order_mark_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbftext\r\nalpha\r\nbeta\r\n")
    dataset = parse_csv(path)
    assert [item.text for item in dataset.items] == ["alpha", "beta"]
    assert dataset.items[1].source == "bom.csv:3"


def test_csv_pairs(tmp_path: Path) -> None:
    path = write(
        tmp_path / "prefs.csv",
        "prompt,response_a,response_b,topic\nWhat is 2+2?,4,5,math\n",
    )
    (item,) = parse_csv(path).items
    assert item.kind is ItemKind.PAIR
    assert item.text is None
    assert item.content == canonical_json({"prompt": "What is 2+2?", "a": "4", "b": "5"})
    assert item.cid == compute_cid(item.content)
    assert item.pair == ("What is 2+2?", "4", "5")
    assert item.meta == {"topic": "math"}


def test_csv_duplicates_collapse_and_are_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "text\nsame\nother\nsame\nsame\n")
    dataset = parse_csv(path)
    assert [item.text for item in dataset.items] == ["same", "other"]
    assert dataset.duplicates == [("d.csv:4", "d.csv:2"), ("d.csv:5", "d.csv:2")]


def test_csv_blank_lines_are_ignored(tmp_path: Path) -> None:
    dataset = parse_csv(write(tmp_path / "b.csv", "text\none\n\ntwo\n"))
    assert [(item.text, item.source) for item in dataset.items] == [
        ("one", "b.csv:2"),
        ("two", "b.csv:4"),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("text,lang\nhello,en\nbad,row,extra\n", r"^r\.csv:3: has 3 fields but the header has 2"),
        ("text,lang\nhello\n", r"^r\.csv:2: has 1 fields but the header has 2"),
        ('text\nfine\n"unterminated\nmore\n', r"^r\.csv:3: is not valid CSV"),
        ('"text\n', r"^r\.csv:1: is not valid CSV"),
        ('text\n"a"b\n', r"^r\.csv:2: is not valid CSV"),
        ("text\nfine\n   \n", r"^r\.csv:3: the text is blank"),
        ("text,id\nfine,1\n,2\n", r"^r\.csv:3: the text is blank"),
        ("prompt,response_a,response_b\nq,a,\n", r"^r\.csv:2: response_b is blank"),
        ("body,lang\nhello,en\n", r"^r\.csv:1: has no text column"),
        ("prompt,response_a\nq,a\n", r"has no text column; for pairs add response_b"),
        ("text,text\na,b\n", r"^r\.csv:1: names column 'text' twice"),
        ("text,\na,b\n", r"^r\.csv:1: has an unnamed column"),
        ("text,id\none,7\ntwo,7\n", r"^r\.csv:3: id '7' is already used by r\.csv:2"),
        ("", r"^r\.csv: is empty"),
        ("text\n", r"^r\.csv: contains no items"),
    ],
)
def test_csv_bad_input_names_the_line(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        parse_csv(write(tmp_path / "r.csv", body))
    assert "\n" not in str(caught.value)


def test_csv_same_row_twice_is_a_duplicate_not_an_id_clash(tmp_path: Path) -> None:
    dataset = parse_csv(write(tmp_path / "r.csv", "id,text\n7,one\n7,one\n"))
    assert len(dataset) == 1
    assert dataset.duplicates == [("r.csv:3", "r.csv:2")]


def test_csv_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"text\nfine\ncaf\xe9\n")
    with pytest.raises(InvalidInput, match=r"^latin\.csv:3: is not valid UTF-8"):
        parse_csv(path)


def test_jsonl_texts_pairs_and_meta(tmp_path: Path) -> None:
    lines = [
        {"id": 10, "text": "first", "source": "web", "tags": ["a", "b"]},
        {"prompt": "p", "response_a": "x", "response_b": "y"},
        {"text": "first"},
    ]
    path = write(tmp_path / "d.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n\n")
    dataset = parse_jsonl(path)
    text, pair = dataset.items
    assert text.meta == {"id": "10", "source": "web", "tags": ["a", "b"]}
    assert text.source == "d.jsonl:1"
    assert pair.kind is ItemKind.PAIR and pair.source == "d.jsonl:2"
    assert dataset.duplicates == [("d.jsonl:3", "d.jsonl:1")]
    assert dataset.modalities == ("text", "pair")
    assert dataset.counts == {"text": 1, "pair": 1}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"text": "ok"}\n{"text": "broken"\n', r"^d\.jsonl:2: is not valid JSON"),
        ('{"text": "ok"}\n["a list"]\n', r"^d\.jsonl:2: is a JSON list, not an object"),
        ('{"text": "ok"}\n  7  \n', r"^d\.jsonl:2: is a JSON int, not an object"),
        ('{"text": "ok"} {"text": "two"}\n', r"^d\.jsonl:1: is not valid JSON \(Extra data"),
        ('{"text": "ok"},\n', r"^d\.jsonl:1: is not valid JSON \(Extra data at column 15"),
        ('{"text": "ok"}\n{"text": 5}\n', r"^d\.jsonl:2 text: must be a string, got int"),
        ('{"text": "ok"}\n{"text": " \\t"}\n', r"^d\.jsonl:2: the text is blank"),
        ('{"body": "x"}\n', r"^d\.jsonl:1: has no text"),
        ('{"prompt": "p", "response_a": "a"}\n', r"^d\.jsonl:1 response_b: is missing"),
        ('{"text": "t", "id": [1]}\n', r"^d\.jsonl:1 id: must be a string or an integer"),
        ("\n\n", r"^d\.jsonl: contains no items"),
    ],
)
def test_jsonl_bad_input_names_the_line(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_jsonl(write(tmp_path / "d.jsonl", body))


def test_jsonl_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9"}\n')
    with pytest.raises(InvalidInput, match=r"^d\.jsonl:2: is not valid UTF-8"):
        parse_jsonl(path)


def test_jsonl_unpaired_surrogate_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", '{"text": "ok"}\n{"text": "bad \\ud800 char"}\n')
    with pytest.raises(InvalidInput, match=r"^d\.jsonl:2: contains an unpaired UTF-16 surrogate"):
        parse_jsonl(path)
    path = write(
        tmp_path / "p.jsonl", '{"prompt": "\\udfff", "response_a": "a", "response_b": "b"}'
    )
    with pytest.raises(InvalidInput, match=r"^p\.jsonl:1: contains an unpaired UTF-16 surrogate"):
        parse_jsonl(path)


@pytest.mark.parametrize(
    "values",
    [
        ("plain", "a", "b"),
        ('quote " and \\ backslash', "tab\there", "new\nline"),
        ("ünïcödé 日本語 😀", "\u2028 separators \u2029", "carriage\rreturn"),
    ],
)
def test_pair_content_is_canonical_json(tmp_path: Path, values: tuple[str, str, str]) -> None:
    line = json.dumps(dict(zip(("prompt", "response_a", "response_b"), values, strict=True)))
    (item,) = parse_jsonl(write(tmp_path / "p.jsonl", line + "\n")).items
    prompt, response_a, response_b = values
    assert item.content == canonical_json({"prompt": prompt, "a": response_a, "b": response_b})
    assert item.pair == values


def test_jsonl_padded_lines_crlf_and_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "w.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"text": "one"}\r\n   {"text": "two"}  \r\n\t\r\n{"text": "three"}'
    )
    dataset = parse_jsonl(path)
    assert [(item.text, item.source) for item in dataset.items] == [
        ("one", "w.jsonl:1"),
        ("two", "w.jsonl:2"),
        ("three", "w.jsonl:4"),
    ]


def test_csv_text_over_the_field_limit(tmp_path: Path) -> None:
    long_text = "x" * (MAX_ITEM_BYTES + 2)  # past the reader's own bound
    path = write(tmp_path / "long.csv", f"text\nshort\n{long_text}\n")
    with pytest.raises(InvalidInput, match=r"^long\.csv:3: has a field over the limit of 10 MiB"):
        parse_csv(path)
