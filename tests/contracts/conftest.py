"""Fixtures for contract tests: a fresh in-memory embedded chain with datafair deployed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._world import World, make_world


@pytest.fixture
def world() -> Iterator[World]:
    """A fresh in-memory chain with datafair deployed and a funded requester."""
    made = make_world()
    yield made
    made.chain.close()
