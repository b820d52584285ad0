"""Truth inference, worker skills, spam detection and agreement metrics (pure numpy/scipy).

Other task types have their own aggregators with the same ``fit``/``labels_``/``skills_``
contract: :class:`MultiLabelAggregator`, :class:`SpanAggregator`, :class:`BoxAggregator`,
:class:`TranscriptionAggregator`, :class:`PreferenceAggregator`.

Categorical aggregators follow the scikit-learn contract (see :mod:`datafair.quality.base`);
:func:`get_aggregator` builds one by name. ``"auto"`` is :class:`AutoAggregator`: it fits a
ladder of worker models (majority, one-coin, class-conditional one-coin, Dawid-Skene, community
Dawid-Skene), each shrinking workers with few answers toward the crowd, keeps the one with the
highest Bayesian evidence and tempers its posteriors by held-out answer likelihood; it needs no
tuning and never looks at the truth beyond the gold given.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from datafair.core.errors import InvalidInput

if TYPE_CHECKING:
    from datafair.quality.agreement import (
        agreement_with_aggregate,
        cohen_kappa,
        fleiss_kappa,
        krippendorff_alpha,
    )
    from datafair.quality.auto import AutoAggregator
    from datafair.quality.base import CategoricalAggregator
    from datafair.quality.bayesian_dawid_skene import BayesianDawidSkene
    from datafair.quality.boxes import BoxAggregator
    from datafair.quality.dawid_skene import DawidSkene, OneCoin
    from datafair.quality.majority_vote import MajorityVote, WeightedMajorityVote
    from datafair.quality.multilabel import MultiLabelAggregator
    from datafair.quality.preference import PreferenceAggregator
    from datafair.quality.skills import MIN_COMPETENCE, SPAM_THRESHOLD, WorkerSkill
    from datafair.quality.spans import SpanAggregator
    from datafair.quality.transcription import TranscriptionAggregator

# Each public name and the module that defines it: a name is imported on first use (PEP 562),
# so a command imports only the models it runs (``quality infer`` never loads the agreement
# metrics' or the preference model's scipy modules).
_HOMES = {
    "agreement_with_aggregate": "agreement",
    "cohen_kappa": "agreement",
    "fleiss_kappa": "agreement",
    "krippendorff_alpha": "agreement",
    "AutoAggregator": "auto",
    "CategoricalAggregator": "base",
    "BayesianDawidSkene": "bayesian_dawid_skene",
    "BoxAggregator": "boxes",
    "DawidSkene": "dawid_skene",
    "OneCoin": "dawid_skene",
    "MajorityVote": "majority_vote",
    "WeightedMajorityVote": "majority_vote",
    "MultiLabelAggregator": "multilabel",
    "PreferenceAggregator": "preference",
    "MIN_COMPETENCE": "skills",
    "SPAM_THRESHOLD": "skills",
    "WorkerSkill": "skills",
    "SpanAggregator": "spans",
    "TranscriptionAggregator": "transcription",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


METHODS = ("auto", "mv", "wmv", "ds", "onecoin", "bds")
"""Names accepted by :func:`get_aggregator`."""


def get_aggregator(method: str = "auto", **params: Any) -> CategoricalAggregator:
    """A categorical aggregator by name, with ``params`` passed to its constructor.

    ``auto`` → :class:`AutoAggregator`, ``mv`` → :class:`MajorityVote`,
    ``wmv`` → :class:`WeightedMajorityVote`, ``ds`` → :class:`DawidSkene`,
    ``onecoin`` → :class:`OneCoin`, ``bds`` → :class:`BayesianDawidSkene`. ``auto`` with
    Bayesian Dawid-Skene's parameters (``prior``, ``prior_strength``, ``inference``: what
    earlier settlement bundles recorded for ``auto``) builds that model, so those bundles still
    audit.
    """
    key = method.strip().lower()
    factories = {
        "auto": "AutoAggregator",
        "mv": "MajorityVote",
        "wmv": "WeightedMajorityVote",
        "ds": "DawidSkene",
        "onecoin": "OneCoin",
        "bds": "BayesianDawidSkene",
    }
    if key not in factories:
        raise InvalidInput(
            "method", f"unknown method {method!r}", f"choose one of {', '.join(METHODS)}"
        )
    if key == "auto" and set(params) & _PREVIOUS_AUTO_PARAMS:
        # bundles settled when ``auto`` was Bayesian Dawid-Skene name its parameters: keep
        # recomputing them with the model they were settled with
        key = "bds"
    factory: type[CategoricalAggregator] = __getattr__(factories[key])
    return factory(**params)


_PREVIOUS_AUTO_PARAMS = {"prior", "prior_strength", "inference"}


__all__ = [
    "METHODS",
    "MIN_COMPETENCE",
    "SPAM_THRESHOLD",
    "AutoAggregator",
    "BayesianDawidSkene",
    "BoxAggregator",
    "CategoricalAggregator",
    "DawidSkene",
    "MajorityVote",
    "MultiLabelAggregator",
    "OneCoin",
    "PreferenceAggregator",
    "SpanAggregator",
    "TranscriptionAggregator",
    "WeightedMajorityVote",
    "WorkerSkill",
    "agreement_with_aggregate",
    "cohen_kappa",
    "fleiss_kappa",
    "get_aggregator",
    "krippendorff_alpha",
]
