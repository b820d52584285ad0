"""Every model module, imported so that ``Base.metadata`` lists every table of a node.

Alembic's environment and schema comparisons import this module; a new model module is added to
the import below. Application code imports the model module it needs directly.
"""

from __future__ import annotations

from datafair.store import (
    api_models,
    delegation_models,
    market_models,
    models,
    prior_models,
    reputation_models,
    settlement_models,
)
from datafair.store.base import Base

MODEL_MODULES = (
    models,
    settlement_models,
    reputation_models,
    api_models,
    delegation_models,
    prior_models,
    market_models,
)

__all__ = ["MODEL_MODULES", "Base"]
