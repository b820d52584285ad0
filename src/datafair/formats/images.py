"""Images: PNG and JPEG files, recognised by content and fully decoded once on import.

``read_image`` checks that bytes are a readable PNG or JPEG and returns its size and format.
``parse_image_folder`` imports every PNG/JPEG under a folder (recursively, in path order):
the item content is the file's bytes; ``meta`` holds ``file_name`` (path inside the folder),
``format`` (``PNG`` or ``JPEG``) and, for rotated JPEGs, the EXIF ``orientation`` (width and
height are the stored, unrotated size). A file that looks like a PNG/JPEG (by its first bytes or
its ``.png``/``.jpg``/``.jpeg`` name) but does not decode is refused; any other file is
reported in ``ParsedDataset.skipped`` with the reason. A symlink leading out of the folder is
refused (:func:`datafair.formats.paths.inside`); one whose target is in the folder is read.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from datafair.core.errors import InvalidInput
from datafair.core.schemas import ItemKind
from datafair.formats.items import (
    MAX_ITEM_BYTES,
    ImageSink,
    ItemCollector,
    ParsedDataset,
    too_large,
)
from datafair.formats.paths import inside

IMAGE_FORMATS = ("PNG", "JPEG")
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
_EXIF_ORIENTATION = 0x0112
_LINK_FIX = "copy the file into the folder instead of linking to it, or remove the link"


def looks_like_image(head: bytes, name: str) -> bool:
    """Whether a file claims to be a PNG/JPEG, by its first bytes or its name."""
    return head.startswith(_MAGIC) or Path(name).suffix.lower() in IMAGE_SUFFIXES


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def read_image(data: bytes, source: str) -> tuple[int, int, dict[str, Any]]:
    """Decode PNG or JPEG ``data``; return ``(width, height, meta)`` with ``format`` in meta.

    The whole image is decoded (JPEGs at 1/8 scale, which still reads every byte), so truncated
    and corrupt files are caught here. ``InvalidInput`` names ``source`` otherwise.
    """
    if len(data) > MAX_ITEM_BYTES:
        raise too_large(source, len(data))
    fix = "re-save it as PNG or JPEG, or remove it"
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format
            if fmt not in IMAGE_FORMATS:
                raise InvalidInput(source, f"is a {fmt} image, not PNG or JPEG", fix)
            width, height = image.size
            meta: dict[str, Any] = {"format": fmt}
            orientation = image.getexif().get(_EXIF_ORIENTATION)
            if isinstance(orientation, int) and orientation != 1:
                meta["orientation"] = orientation
            if fmt == "JPEG":
                image.draft(None, (max(1, width // 8), max(1, height // 8)))
            image.load()
    except InvalidInput:
        raise
    except Exception as exc:  # Pillow raises many types for corrupt input
        raise InvalidInput(source, f"is not a readable image ({_one_line(exc)})", fix) from exc
    if width < 1 or height < 1:
        raise InvalidInput(source, f"has no pixels ({width}x{height})", fix)
    return width, height, meta


def _skip_reason(path: Path) -> str:
    try:
        with Image.open(path) as image:
            return f"a {image.format} image; only PNG and JPEG are imported (convert it)"
    except Exception:  # not an image Pillow knows: the usual case for a stray file
        return "not a PNG or JPEG image"


def parse_image_folder(folder: Path, image_sink: ImageSink | None = None) -> ParsedDataset:
    """Import every PNG/JPEG image under ``folder``; other files are listed as skipped.

    With ``image_sink``, each distinct image's bytes go to it as they are read (see
    ``datafair.formats.items``).
    """
    collector = ItemCollector(folder, "images", image_sink)
    files = sorted(
        (path.relative_to(folder).as_posix(), path) for path in folder.rglob("*") if path.is_file()
    )
    for relative, path in files:
        source = f"{folder.name}/{relative}"
        inside(folder, relative, source, _LINK_FIX)  # a symlink must not leave the folder
        with path.open("rb") as handle:
            head = handle.read(16)
            if not looks_like_image(head, relative):
                collector.skipped.append((source, _skip_reason(path)))
                continue
            size = path.stat().st_size
            if size > MAX_ITEM_BYTES:  # refused before its bytes are read
                raise too_large(source, size)
            data = head + handle.read()
        width, height, meta = read_image(data, source)
        meta["file_name"] = relative
        collector.add(ItemKind.IMAGE, data, None, width, height, meta, source)
    return collector.finish()


def grey_square(data: bytes, size: int) -> NDArray[np.uint8]:
    """The image ``data`` as a ``size`` x ``size`` array of grey levels (Lanczos resampling),
    what a perceptual hash reads (:func:`datafair.quality.near_duplicates.perceptual_hash`)."""
    with Image.open(io.BytesIO(data)) as image:
        grey = image.convert("L").resize((size, size), Image.Resampling.LANCZOS)
        return np.asarray(grey, dtype=np.uint8)
