"""Vendored JavaScript: every file is recorded with its package, version, licence and SHA-256,
matches its record, and (with node_modules installed) matches the pinned npm package."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENDOR = REPO / "src" / "datafair" / "web" / "static" / "vendor"


def _record() -> dict[str, dict[str, str]]:
    return dict(json.loads((VENDOR / "VENDOR.json").read_text()))


def test_every_vendored_file_is_recorded_and_unchanged() -> None:
    record = _record()
    files = {p.name for p in VENDOR.iterdir()} - {"VENDOR.json", "LICENSES"}
    assert files == set(record)
    licences = (VENDOR / "LICENSES").read_text()
    for name, entry in record.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == entry["sha256"]
        assert f"{name}: {entry['package']} {entry['version']}" in licences


def test_versions_are_the_ones_package_json_pins() -> None:
    pins = json.loads((REPO / "package.json").read_text())["devDependencies"]
    for name, entry in _record().items():
        assert pins[entry["package"]] == entry["version"], name


@pytest.mark.node
def test_files_match_the_installed_npm_packages() -> None:
    for name, entry in _record().items():
        source = REPO / "node_modules" / entry["package"] / entry["source"]
        if not source.exists():
            pytest.fail("run 'npm ci' (make test does) to install the pinned packages")
        assert source.read_bytes() == (VENDOR / name).read_bytes(), name
