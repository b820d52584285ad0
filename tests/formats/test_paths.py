"""One path check for every importer: a symlink (or ``..``) leading out of the given folder is
refused in one line; a symlink staying inside the folder is read."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from datafair.cli.app import main
from datafair.core.errors import InvalidInput
from datafair.formats.images import parse_image_folder
from datafair.formats.importers import parse_dataset
from datafair.formats.paths import inside

from .conftest import image_bytes

FIX = "copy the file into the folder"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """An image outside the folders the tests import."""
    path = tmp_path / "elsewhere" / "secret.png"
    path.parent.mkdir()
    path.write_bytes(image_bytes("PNG", color=(1, 2, 3)))
    return path


def test_inside_refuses_links_and_dotdot_out_and_keeps_links_in(
    tmp_path: Path, secret: Path
) -> None:
    root = tmp_path / "folder"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.png").write_bytes(b"x")
    os.symlink(secret, root / "out.png")
    os.symlink(root / "sub" / "a.png", root / "in.png")
    assert inside(root, "in.png", "f", FIX) == (root / "sub" / "a.png").resolve()
    assert inside(root, "sub/../sub/a.png", "f", FIX) == (root / "sub" / "a.png").resolve()
    for outside in ("out.png", "../elsewhere/secret.png", str(secret)):
        with pytest.raises(InvalidInput, match=r"^f: .* points outside the folder"):
            inside(root, outside, "f", FIX)


def test_image_folder_refuses_a_link_out_of_the_folder(
    tmp_path: Path, secret: Path, write_image: Callable[..., Path]
) -> None:
    folder = tmp_path / "images"
    write_image(folder / "cat.png")
    os.symlink(secret, folder / "link.png")
    with pytest.raises(InvalidInput) as raised:
        parse_image_folder(folder)
    message = str(raised.value)
    assert re.match(r"^images/link\.png: link\.png points outside the folder", message)
    assert "copy the file into the folder" in message and "\n" not in message


def test_image_folder_reads_a_link_inside_the_folder(
    tmp_path: Path, write_image: Callable[..., Path]
) -> None:
    folder = tmp_path / "images"
    write_image(folder / "originals" / "cat.png")
    write_image(folder / "dog.png", color=(0, 0, 255))
    os.symlink(folder / "originals" / "cat.png", folder / "alias.png")
    parsed = parse_image_folder(folder)
    assert len(parsed.items) == 2  # the alias is the same image as the original: one item


def test_an_image_folder_given_as_a_link_is_fine(
    tmp_path: Path, write_image: Callable[..., Path]
) -> None:
    write_image(tmp_path / "real" / "cat.png")
    os.symlink(tmp_path / "real", tmp_path / "alias")
    assert len(parse_dataset(tmp_path / "alias").items) == 1


def test_label_studio_and_coco_refuse_a_link_out_of_the_folder(
    tmp_path: Path, secret: Path
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    os.symlink(secret, folder / "link.png")
    tasks = folder / "tasks.json"
    tasks.write_text(json.dumps([{"data": {"image": "link.png"}}]))
    with pytest.raises(InvalidInput, match=r"^tasks\.json\[0\] image: .*points outside"):
        parse_dataset(tasks)
    coco = folder / "coco.json"
    coco.write_text(json.dumps({"images": [{"id": 1, "file_name": "link.png"}], "annotations": []}))
    with pytest.raises(InvalidInput, match=r"points outside the folder"):
        parse_dataset(coco)


def test_dataset_import_refuses_the_link_in_one_line(
    tmp_path: Path,
    secret: Path,
    write_image: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "images"
    write_image(folder / "cat.png")
    os.symlink(secret, folder / "link.png")
    home = ["--home", str(tmp_path / "home")]
    assert main(["dataset", "import", str(folder), "--title", "t", *home]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: images/link.png: link.png points outside the folder")
    assert err.count("\n") == 1
    assert main(["dataset", "list", *home]) == 0
    assert "bafk" not in capsys.readouterr().out  # nothing stored
