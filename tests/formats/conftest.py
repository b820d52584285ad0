"""Shared fixtures for the format tests: small images made with Pillow, and offline HF."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

# The Hugging Face export test must never reach the network.
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def image_bytes(
    fmt: str, size: tuple[int, int] = (8, 6), color: tuple[int, int, int] = (200, 10, 10)
) -> bytes:
    """The bytes of a solid-colour image in ``fmt`` (PNG, JPEG, GIF...)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def write_image() -> Callable[..., Path]:
    """Write an image file: ``write_image(path, fmt="PNG", size=(8, 6), color=(r, g, b))``."""

    def write(
        path: Path,
        fmt: str = "PNG",
        size: tuple[int, int] = (8, 6),
        color: tuple[int, int, int] = (200, 10, 10),
    ) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image_bytes(fmt, size, color))
        return path

    return write
