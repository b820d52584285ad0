"""Truth inference, worker skills, spam detection and agreement metrics (pure numpy/scipy).

Other task types have their own aggregators with the same ``fit``/``labels_``/``skills_``
contract: :class:`MultiLabelAggregator`, :class:`SpanAggregator`, :class:`BoxAggregator`,
:class:`TranscriptionAggregator`, :class:`PreferenceAggregator`.

Categorical aggregators follow the scikit-learn contract (see :mod:`datafair.quality.base`);
:func:`get_aggregator` builds one by name. ``"auto"`` is :class:`BayesianDawidSkene` with its
crowd-level prior: it keeps Dawid-Skene's per-class confusion matrices where the data support
them and shrinks workers with few answers toward the average worker, so it needs no tuning and
never looks at the truth.
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

    ``auto`` → :class:`BayesianDawidSkene` (crowd prior), ``mv`` → :class:`MajorityVote`,
    ``wmv`` → :class:`WeightedMajorityVote`, ``ds`` → :class:`DawidSkene`,
    ``onecoin`` → :class:`OneCoin`, ``bds`` → :class:`BayesianDawidSkene`.
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
    return factories[key](**params)


__all__ = [
    "METHODS",
    "MIN_COMPETENCE",
    "SPAM_THRESHOLD",
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
