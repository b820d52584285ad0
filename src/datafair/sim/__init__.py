"""Seeded synthetic contributor populations for the demo, tests and benchmarks."""

from datafair.sim.population import (
    ContributorKind,
    Population,
    SimContributor,
    make_population,
)
from datafair.sim.texts import make_review_texts

__all__ = [
    "ContributorKind",
    "Population",
    "SimContributor",
    "make_population",
    "make_review_texts",
]
