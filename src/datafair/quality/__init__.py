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

from typing import Any

from datafair.core.errors import InvalidInput
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
    factories: dict[str, type[CategoricalAggregator]] = {
        "auto": AutoAggregator,
        "mv": MajorityVote,
        "wmv": WeightedMajorityVote,
        "ds": DawidSkene,
        "onecoin": OneCoin,
        "bds": BayesianDawidSkene,
    }
    if key not in factories:
        raise InvalidInput(
            "method", f"unknown method {method!r}", f"choose one of {', '.join(METHODS)}"
        )
    if key == "auto" and set(params) & _PREVIOUS_AUTO_PARAMS:
        # bundles settled when ``auto`` was Bayesian Dawid-Skene name its parameters: keep
        # recomputing them with the model they were settled with
        return BayesianDawidSkene(**params)
    return factories[key](**params)


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
