"""Dataset cards and task specs: the published, hashed descriptions of datasets and tasks.

A task's id is the keccak-256 of its spec's canonical JSON, so the id binds the dataset, the
schema, the price, overlap and deadline: a signature over a task id is a signature over all of
them, and the escrow keys its funds by the same 32 bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from datafair.core.assignment_rules import AssignmentRules, assignment_rules
from datafair.core.canonical import canonical_hash
from datafair.core.errors import InvalidInput
from datafair.core.schemas import LabelSchema, TaskType
from datafair.core.terms import token_amount, unix_time

MAX_OVERLAP = 100
MAX_GOLD_RATIO = 0.5
_SPDX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*( (AND|OR|WITH) [A-Za-z0-9][A-Za-z0-9.+-]*)*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
MODALITIES = ("text", "image", "pair")


@dataclass(frozen=True)
class DatasetCard:
    """What a dataset is: title, description, SPDX licence id, languages, modalities, source."""

    title: str
    description: str = ""
    license: str = "CC-BY-4.0"
    languages: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise InvalidInput("title", "is empty", "give the dataset a title with --title")
        if not _SPDX.match(self.license):
            raise InvalidInput(
                "license",
                f"{self.license!r} is not an SPDX licence id",
                "use an id from spdx.org/licenses, e.g. CC-BY-4.0, MIT, CC0-1.0",
            )
        for language in self.languages:
            if not _LANGUAGE.match(language):
                raise InvalidInput(
                    "languages", f"{language!r} is not a BCP-47 language tag", "e.g. en, pt-BR"
                )
        for modality in self.modalities:
            if modality not in MODALITIES:
                raise InvalidInput(
                    "modalities",
                    f"unknown modality {modality!r}",
                    f"use {', '.join(MODALITIES)}",
                )

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "description": self.description,
            "license": self.license,
            "languages": list(self.languages),
            "modalities": list(self.modalities),
            "source": self.source,
        }


@dataclass(frozen=True)
class TaskSpec:
    """A labelling task as published: everything a contributor agrees to by signing.

    ``price_per_answer`` is in the token's base units (at most 2**256-1); ``deadline`` in Unix
    seconds (0: none; a new task's must be within ten years, see :mod:`datafair.core.terms`);
    ``overlap`` is k, the number of answers each item receives; ``gold_ratio`` the share of
    assignments that are gold items (whose answers are known and never shown).
    """

    dataset_cid: str
    title: str
    schema: LabelSchema
    instructions: str = ""
    overlap: int = 3
    gold_ratio: float = 0.0
    price_per_answer: int = 0
    deadline: int = 0
    chain_id: int = 31337
    token: str = ""
    salt: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise InvalidInput("title", "is empty", "give the task a title with --title")
        if not 1 <= self.overlap <= MAX_OVERLAP:
            raise InvalidInput("overlap", f"must be 1..{MAX_OVERLAP}, got {self.overlap}")
        if not 0.0 <= self.gold_ratio <= MAX_GOLD_RATIO:
            raise InvalidInput(
                "gold_ratio", f"must be between 0 and {MAX_GOLD_RATIO}, got {self.gold_ratio}"
            )
        token_amount(self.price_per_answer, "price_per_answer")
        unix_time(self.deadline, "deadline")

    @property
    def task_type(self) -> TaskType:
        return self.schema.task_type

    def assignment_rules(self) -> AssignmentRules:
        """The assignment rules in ``extra`` (:func:`datafair.core.assignment_rules.
        assignment_rules`; ``InvalidInput`` naming the field for a bad value)."""
        return assignment_rules(dict(self.extra), has_gold=self.gold_ratio > 0)

    def to_dict(self) -> dict[str, Any]:
        """The spec as canonical-JSON-ready data (what ``task_id`` hashes)."""
        return {
            "dataset_cid": self.dataset_cid,
            "title": self.title,
            "instructions": self.instructions,
            "schema": self.schema.to_dict(),
            "overlap": self.overlap,
            "gold_ratio": self.gold_ratio,
            "price_per_answer": str(self.price_per_answer),
            "deadline": self.deadline,
            "chain_id": self.chain_id,
            "token": self.token,
            "salt": self.salt,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskSpec:
        schema = data["schema"]
        return cls(
            dataset_cid=data["dataset_cid"],
            title=data["title"],
            instructions=data.get("instructions", ""),
            schema=LabelSchema(TaskType(schema["task_type"]), tuple(schema["classes"])),
            overlap=int(data["overlap"]),
            gold_ratio=float(data["gold_ratio"]),
            price_per_answer=int(data["price_per_answer"]),
            deadline=int(data["deadline"]),
            chain_id=int(data["chain_id"]),
            token=data.get("token", ""),
            salt=int(data.get("salt", 0)),
            extra=dict(data.get("extra", {})),
        )

    @property
    def task_id(self) -> bytes:
        """keccak-256 of the spec's canonical JSON (32 bytes)."""
        return canonical_hash(self.to_dict())
