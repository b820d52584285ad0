"""Simulated crowds: skilled, careless, spamming and adversarial contributors, each a wallet.

Each contributor answers through a confusion matrix ``C`` (row = true class, column = answer),
the generative model of Dawid & Skene (1979):

* ``skilled``: accuracy drawn from U(0.75, 0.95) per class, errors spread by a Dirichlet(1);
* ``careless``: accuracy U(0.45, 0.65) per class (better than chance, far from reliable);
* ``spammer``: every row uniform (answers carry no information);
* ``adversary``: every row one-hot on one fixed class (a constant answer);
* ``ring``: members of a coordinated ring: on each item all of them give the same answer, one
  uniform draw per item (:meth:`Population.answer_item`), so they agree and carry no
  information (its confusion is uniform);
* ``copier``: repeats one mediocre worker's answer on each item (the population's
  ``original``: its first careless contributor, else its first skilled one), whether the
  original answered it first or answers it later; its confusion is the original's.

``make_population``'s default mix has no ring or copier; the demo adds them
(``datafair.services.demo.DEMO_MIX``); :mod:`datafair.sim.adversaries` builds larger
adversarial crowds.

Time on item is log-normal: skilled and careless contributors take ~20 s and ~8 s per item,
spammers and adversaries ~2 s. Everything is drawn from one ``numpy`` generator seeded by the
caller, and each wallet's key is derived from (seed, index), so a seed fixes the whole crowd.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from coincurve import PrivateKey

from datafair.core.canonical import keccak256

_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class ContributorKind(StrEnum):
    """How a simulated contributor behaves."""

    SKILLED = "skilled"
    CARELESS = "careless"
    SPAMMER = "spammer"
    ADVERSARY = "adversary"
    RING = "ring"
    COPIER = "copier"


MEDIAN_SECONDS: Mapping[ContributorKind, float] = {
    ContributorKind.SKILLED: 20.0,
    ContributorKind.CARELESS: 8.0,
    ContributorKind.SPAMMER: 2.0,
    ContributorKind.ADVERSARY: 2.0,
    ContributorKind.RING: 2.0,
    ContributorKind.COPIER: 3.0,
}

DEFAULT_MIX: Mapping[ContributorKind, int] = {
    ContributorKind.SKILLED: 12,
    ContributorKind.CARELESS: 4,
    ContributorKind.SPAMMER: 3,
    ContributorKind.ADVERSARY: 1,
}


@dataclass(frozen=True)
class SimContributor:
    """One simulated wallet with its answering behaviour."""

    index: int
    kind: ContributorKind
    private_key: bytes
    address: str
    confusion: np.ndarray = field(repr=False)

    @property
    def accuracy(self) -> float:
        """Mean of the confusion diagonal: accuracy under a uniform class prior."""
        return float(np.mean(np.diag(self.confusion)))


def derive_key(seed: int, index: int) -> bytes:
    """A valid secp256k1 private key derived from (seed, index)."""
    counter = 0
    while True:
        key = keccak256(f"datafair-sim:{seed}:{index}:{counter}".encode())
        if 0 < int.from_bytes(key, "big") < _SECP256K1_N:
            return key
        counter += 1


def address_of(private_key: bytes) -> str:
    """The checksum-free lowercase hex address of ``private_key``."""
    public = PrivateKey(private_key).public_key.format(compressed=False)[1:]
    return "0x" + keccak256(public)[-20:].hex()


def _confusion(kind: ContributorKind, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    if kind in (ContributorKind.SPAMMER, ContributorKind.RING):
        return np.full((n_classes, n_classes), 1.0 / n_classes)
    if kind is ContributorKind.ADVERSARY:
        matrix = np.zeros((n_classes, n_classes))
        matrix[:, rng.integers(n_classes)] = 1.0
        return matrix
    low, high = (0.75, 0.95) if kind is ContributorKind.SKILLED else (0.45, 0.65)
    matrix = np.zeros((n_classes, n_classes))
    for true_class in range(n_classes):
        accuracy = rng.uniform(low, high)
        others = rng.dirichlet(np.ones(n_classes - 1)) * (1.0 - accuracy)
        matrix[true_class] = np.insert(others, true_class, accuracy)
    return matrix


@dataclass
class Population:
    """A crowd of simulated contributors answering a categorical task."""

    contributors: list[SimContributor]
    n_classes: int
    rng: np.random.Generator
    original: int | None = None
    """Index of the contributor copiers copy (``None`` when nobody does)."""
    _ring_answer: dict[Hashable, int] = field(default_factory=dict, repr=False)
    _latent: dict[Hashable, int] = field(default_factory=dict, repr=False)

    def by_kind(self) -> dict[ContributorKind, list[SimContributor]]:
        grouped: dict[ContributorKind, list[SimContributor]] = {
            kind: [] for kind in ContributorKind
        }
        for contributor in self.contributors:
            grouped[contributor.kind].append(contributor)
        return grouped

    def answer(self, contributor: SimContributor, true_class: int) -> int:
        """The class index ``contributor`` answers for an item whose truth is ``true_class``."""
        return int(self.rng.choice(self.n_classes, p=contributor.confusion[true_class]))

    def answer_item(self, contributor: SimContributor, item: Hashable, true_class: int) -> int:
        """The class index ``contributor`` answers for ``item`` (true class ``true_class``).

        Like :meth:`answer`, except that ring members all give the item's ring answer and
        copiers give the original's answer for the item (drawn once, whoever asks first).
        """
        if contributor.kind is ContributorKind.RING:
            if item not in self._ring_answer:
                self._ring_answer[item] = int(self.rng.integers(self.n_classes))
            return self._ring_answer[item]
        copies = contributor.kind is ContributorKind.COPIER or contributor.index == self.original
        if self.original is None or not copies:
            return self.answer(contributor, true_class)
        if item not in self._latent:
            self._latent[item] = self.answer(self.contributors[self.original], true_class)
        return self._latent[item]

    def answers(self, contributor_index: np.ndarray, true_class: np.ndarray) -> np.ndarray:
        """Vectorised answers: one per (contributor index, true class) pair."""
        stack = np.stack([c.confusion for c in self.contributors])
        rows = stack[contributor_index, true_class]
        cumulative = np.cumsum(rows, axis=1)
        draws = self.rng.random(len(rows))[:, None]
        chosen: np.ndarray = np.minimum((draws > cumulative).sum(axis=1), self.n_classes - 1)
        return chosen

    def seconds_on_item(self, contributor: SimContributor) -> float:
        """Time spent on one item, log-normal around the kind's median."""
        return float(MEDIAN_SECONDS[contributor.kind] * self.rng.lognormal(0.0, 0.35))


def _original(contributors: list[SimContributor]) -> int:
    """The worker copiers copy: the first careless contributor, else the first skilled one."""
    for kind in (ContributorKind.CARELESS, ContributorKind.SKILLED):
        for contributor in contributors:
            if contributor.kind is kind:
                return contributor.index
    raise ValueError("copiers need a skilled or careless contributor to copy")


def make_population(
    n_classes: int, mix: Mapping[ContributorKind, int] | None = None, *, seed: int = 0
) -> Population:
    """A seeded crowd with ``mix[kind]`` contributors of each kind (default: 12/4/3/1)."""
    if n_classes < 2:
        raise ValueError("a categorical crowd needs at least two classes")
    rng = np.random.default_rng(seed)
    contributors: list[SimContributor] = []
    mix = mix or DEFAULT_MIX
    original: int | None = None
    for kind in ContributorKind:  # copiers come last: whom they copy exists by then
        for _ in range(mix.get(kind, 0)):
            index = len(contributors)
            key = derive_key(seed, index)
            if kind is ContributorKind.COPIER:
                original = original if original is not None else _original(contributors)
                matrix = contributors[original].confusion.copy()
            else:
                matrix = _confusion(kind, n_classes, rng)
            contributors.append(SimContributor(index, kind, key, address_of(key), matrix))
    return Population(contributors, n_classes, rng, original=original)
