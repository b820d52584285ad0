"""Image folders: PNG/JPEG by content, sizes, skipped files, corrupt images, duplicates."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from datafair.core.errors import InvalidInput
from datafair.core.schemas import ItemKind
from datafair.crypto.cid import compute_cid
from datafair.formats.images import parse_image_folder, read_image

from .conftest import image_bytes


def test_folder_of_png_and_jpeg(tmp_path: Path, write_image: Callable[..., Path]) -> None:
    folder = tmp_path / "photos"
    write_image(folder / "b.png", "PNG", (30, 20))
    write_image(folder / "sub" / "a.jpg", "JPEG", (64, 48), (0, 90, 200))
    write_image(folder / "no_suffix", "PNG", (5, 7), (1, 2, 3))  # recognised by content
    (folder / "notes.txt").write_text("not an image")
    write_image(folder / "anim.gif", "GIF")

    dataset = parse_image_folder(folder)

    assert dataset.format == "images"
    by_name = {item.meta["file_name"]: item for item in dataset.items}
    assert sorted(by_name) == ["b.png", "no_suffix", "sub/a.jpg"]
    png, jpeg = by_name["b.png"], by_name["sub/a.jpg"]
    assert (png.kind, png.width, png.height, png.meta["format"]) == (ItemKind.IMAGE, 30, 20, "PNG")
    assert (jpeg.width, jpeg.height, jpeg.meta["format"]) == (64, 48, "JPEG")
    assert by_name["no_suffix"].meta["format"] == "PNG"
    assert png.content == (folder / "b.png").read_bytes()
    assert png.cid == compute_cid(png.content)
    assert png.text is None and png.source == "photos/b.png"
    assert [item.source for item in dataset.items] == [
        "photos/b.png",
        "photos/no_suffix",
        "photos/sub/a.jpg",
    ]
    assert dataset.skipped == [
        ("photos/anim.gif", "a GIF image; only PNG and JPEG are imported (convert it)"),
        ("photos/notes.txt", "not a PNG or JPEG image"),
    ]
    assert dataset.modalities == ("image",)
    assert dataset.counts == {"image": 3}


def test_identical_images_collapse(tmp_path: Path, write_image: Callable[..., Path]) -> None:
    folder = tmp_path / "imgs"
    write_image(folder / "one.png")
    write_image(folder / "two.png")
    dataset = parse_image_folder(folder)
    assert len(dataset) == 1
    assert dataset.duplicates == [("imgs/two.png", "imgs/one.png")]


def test_truncated_jpeg_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    full = image_bytes("JPEG", (64, 64))
    (folder / "cut.jpg").write_bytes(full[: len(full) // 2])
    with pytest.raises(InvalidInput, match=r"^imgs/cut\.jpg: is not a readable image"):
        parse_image_folder(folder)


def test_corrupt_png_is_refused(tmp_path: Path) -> None:
    data = bytearray(image_bytes("PNG", (16, 16)))
    data[-20:-12] = b"\x00" * 8  # damage the image data chunk
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "bad.png").write_bytes(bytes(data))
    with pytest.raises(InvalidInput, match=r"^imgs/bad\.png: is not a readable image"):
        parse_image_folder(folder)


def test_text_file_named_like_an_image_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "fake.png").write_text("hello")
    with pytest.raises(InvalidInput, match=r"^imgs/fake\.png: is not a readable image"):
        parse_image_folder(folder)


def test_folder_without_images_is_empty(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "readme.md").write_text("# nothing")
    with pytest.raises(
        InvalidInput,
        match=r"^docs: contains no items \(1 files skipped; docs/readme\.md: not a PNG or JPEG",
    ):
        parse_image_folder(folder)


def test_read_image_keeps_exif_orientation() -> None:
    image = Image.new("RGB", (10, 4))
    exif = image.getexif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    width, height, meta = read_image(buffer.getvalue(), "x.jpg")
    assert (width, height) == (10, 4)
    assert meta == {"format": "JPEG", "orientation": 6}


def test_read_image_refuses_other_formats() -> None:
    with pytest.raises(InvalidInput, match=r"^x: is a GIF image, not PNG or JPEG"):
        read_image(image_bytes("GIF"), "x")


def test_an_image_sink_takes_each_distinct_image_once(
    tmp_path: Path, write_image: Callable[..., Path]
) -> None:
    folder = tmp_path / "imgs"
    write_image(folder / "a.png", "PNG", (30, 20))
    write_image(folder / "b.png", "PNG", (30, 20))  # the same pixels: a duplicate of a.png
    write_image(folder / "c.jpg", "JPEG", (64, 48), (0, 90, 200))
    received: list[bytes] = []

    dataset = parse_image_folder(folder, image_sink=received.append)

    files = [(folder / name).read_bytes() for name in ("a.png", "c.jpg")]
    assert received == files  # in input order, the duplicate not sent again
    assert [item.content for item in dataset.items] == [b"", b""]  # nothing kept in memory
    assert [item.size for item in dataset.items] == [len(data) for data in files]
    assert [item.cid for item in dataset.items] == [compute_cid(data) for data in files]
    assert dataset.duplicates == [("imgs/b.png", "imgs/a.png")]
