"""The one path check every importer uses: a file named by user input stays inside its folder.

:func:`inside` resolves a path (relative to a folder, or absolute) with every symlink followed
and refuses it, in one ``InvalidInput`` line, when the real file lies outside the folder: a
folder of images holding ``link.png → /elsewhere/secret.png``, a Label Studio or COCO file
naming ``../../etc/passwd``. A symlink whose target stays inside the folder is fine. The image
folder importer (:mod:`datafair.formats.images`) and the image references of Label Studio and
COCO files (:func:`datafair.formats.labelstudio.load_image_reference`) all go through it.
"""

from __future__ import annotations

from pathlib import Path

from datafair.core.errors import InvalidInput


def inside(root: Path, path: Path | str, field: str, fix: str) -> Path:
    """The real path of ``path`` (relative to ``root``, or absolute), which must be in ``root``.

    Inputs: ``root``, the folder the user gave (itself resolved, so the folder may be a
    symlink); ``path``; ``field`` and ``fix`` for the refusal. ``InvalidInput`` if the path,
    once every symlink is followed, leaves ``root``.
    """
    real_root = Path(root).resolve()
    target = (real_root / path).resolve()
    if not target.is_relative_to(real_root):
        raise InvalidInput(field, f"{path} points outside the folder (through a link or ..)", fix)
    return target
