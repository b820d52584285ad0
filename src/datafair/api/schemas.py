"""Request and response bodies of the HTTP API (pydantic), with the examples /docs shows.

Token amounts are decimal strings (they exceed JSON's safe integers); bytes are 0x-hex;
addresses are EIP-55 checksummed; times are Unix milliseconds unless named ``*_s``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

HEX_ADDRESS = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
TASK_ID = "0x" + "ab" * 32
ITEM_CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
SIGNATURE = "0x" + "11" * 65

AnswerValue = Any


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ----------------------------------------------------------------------------- auth


class NonceOut(BaseModel):
    """A sign-in nonce and the fields the EIP-4361 message must carry."""

    nonce: str = Field(examples=["6b1f0c2d9e8a7b6c5d4e3f20"])
    expires_at: int
    domain: str = Field(examples=["127.0.0.1:8000"])
    uri: str = Field(examples=["http://127.0.0.1:8000"])
    chain_id: int = Field(examples=[31337])
    statement: str = Field(examples=["Sign in to datafair."])


class SignInIn(Strict):
    """The EIP-4361 message text the wallet signed, and its ``personal_sign`` signature."""

    message: str = Field(max_length=4000, examples=["127.0.0.1:8000 wants you to sign in ..."])
    signature: str = Field(max_length=2000, examples=[SIGNATURE])


class SessionOut(BaseModel):
    """A session: the bearer token (also set as the HttpOnly cookie), its address, expiry."""

    token: str
    address: str = Field(examples=[HEX_ADDRESS])
    chain_id: int
    expires_at: int


class MeOut(BaseModel):
    address: str | None = Field(examples=[HEX_ADDRESS])
    operator: bool


# ----------------------------------------------------------------------------- datasets


class DatasetOut(BaseModel):
    manifest_cid: str = Field(examples=["bafkreidatasetmanifest"])
    title: str
    card: dict[str, Any]
    owner: str | None
    item_count: int
    created_at: int


class ImportOut(BaseModel):
    manifest_cid: str
    format: str
    items: int
    new_items: int
    duplicates: int
    skipped: int
    already_imported: bool


# ----------------------------------------------------------------------------- tasks


class TaskCreateIn(Strict):
    """A labelling task over a stored dataset (same validation as ``datafair task create``)."""

    dataset_cid: str = Field(max_length=100, examples=["bafkreidatasetmanifest"])
    title: str = Field(min_length=1, max_length=300, examples=["Review sentiment"])
    task_type: str = Field(default="classification", max_length=32, examples=["classification"])
    classes: list[str] = Field(default_factory=list, max_length=1000, examples=[["pos", "neg"]])
    instructions: str = Field(default="", max_length=20_000)
    overlap: int = Field(default=3, ge=1, le=100)
    gold: dict[str, AnswerValue] = Field(
        default_factory=dict, description="gold answers by item CID (never shown to anyone)"
    )
    gold_ratio: float = Field(default=0.0, ge=0.0, le=1.0)
    price_per_answer: str = Field(
        default="0", pattern=r"^[0-9]{1,40}$", examples=["1000000000000000"]
    )
    deadline: int = Field(ge=0, le=2**63 - 1, examples=[1_900_000_000], description="Unix s")
    token: str = Field(default="", max_length=42, examples=[HEX_ADDRESS])
    extra: dict[str, Any] = Field(
        default_factory=dict,
        examples=[{"review_bps": 1000, "assigned_only": True}],
        description="task settings, e.g. mechanism, review_bps, reviews_per_submission, "
        "royalty_bps, min_reputation_bps, hold_min_answers, max_share_bps, max_skips, "
        "onboarding_items, onboarding_gold, collection, and assigned_only (answers only on items "
        "taken with POST /tasks/{task_id}/next); each is checked when the task is created",
    )


class TaskOut(BaseModel):
    task_id: str = Field(examples=[TASK_ID])
    title: str
    task_type: str
    classes: list[str]
    instructions: str
    dataset_cid: str
    overlap: int
    price_per_answer: str
    deadline: int
    chain_id: int
    token: str
    status: Literal["open", "closed"] | str
    requester: str | None
    median_seconds: float | None = Field(description="median time on item of the answers so far")
    hourly_pay: str | None = Field(
        description="effective pay per hour at the median time, base units"
    )
    assigned_only: bool = Field(
        default=False,
        description="answers are taken only on items the contributor holds through "
        "POST /tasks/{task_id}/next (extra.assigned_only)",
    )


class ProgressOut(BaseModel):
    items: int
    gold_items: int
    answers: int
    reserved: int
    full_items: int


class FundingIn(Strict):
    amount: str = Field(pattern=r"^[0-9]{1,40}$", examples=["5000000000000000000"])
    deadline: int | None = Field(default=None, ge=1, le=2**63 - 1)
    token: str | None = Field(default=None, max_length=42)


class CallOut(BaseModel):
    to: str
    function: str
    args: list[str]
    data: str


class FundingOut(BaseModel):
    """The transactions the requester's wallet sends, in order, to fund the task."""

    task_id: str
    escrow: str
    token: str
    amount: str
    deadline: int
    gold_commitment: str
    calls: list[CallOut]


class EscrowStateOut(BaseModel):
    task_id: str
    exists: bool
    deposited: str
    unallocated: str
    outstanding: str
    deadline: int


class LabelOut(BaseModel):
    item_cid: str
    label: Any
    confidence: float
    n_answers: int


class SkillOut(BaseModel):
    contributor: str
    accuracy: float
    low: float | None = None
    high: float | None = None
    answers: int
    dependence_group: int | None = None
    """The contributor's dependent group (copiers, rings), counted as one voice; ``None``."""
    dependence: dict[str, Any] | None = None
    """Evidence of the group: score, partner, shared items, agreements on wrong answers,
    expected under independence, p-value."""


class QualityOut(BaseModel):
    """Inferred labels, contributor skills with intervals, spam flags and agreement."""

    method: str
    labels: list[LabelOut]
    skills: list[SkillOut]
    spammers: list[str]
    agreement: dict[str, float | None]


# ----------------------------------------------------------------------------- contributing


class TypedDataChoice(BaseModel):
    answer: Any
    answer_hash: str
    typed_data: dict[str, Any] = Field(description="eth_signTypedData_v4 JSON")


class NextItemOut(BaseModel):
    """The item held for you, and what to sign: the ``typed_data`` of each possible answer
    (set ``message.durationMs`` to the time you spent), or POST /sign-request for any answer."""

    task_id: str
    assignment_id: int
    item_cid: str
    kind: str
    text: str | None
    image_url: str | None
    meta: dict[str, Any]
    expires_at: int
    nonce: str
    choices: list[TypedDataChoice]


class SignRequestIn(Strict):
    item_cid: str = Field(max_length=100, examples=[ITEM_CID])
    answer: Any = Field(examples=["pos"])
    nonce: str = Field(pattern=r"^[0-9]{1,20}$", examples=["17"])
    duration_ms: int = Field(default=0, ge=0, le=2**32 - 1)


class SubmissionIn(Strict):
    """One answer and the contributor's EIP-712 signature over it."""

    item_cid: str = Field(max_length=100, examples=[ITEM_CID])
    answer: Any = Field(examples=["pos"])
    contributor: str = Field(max_length=42, examples=[HEX_ADDRESS])
    nonce: str = Field(pattern=r"^[0-9]{1,20}$", examples=["17"])
    duration_ms: int = Field(ge=0, le=2**32 - 1, examples=[12000])
    signature: str = Field(max_length=200, examples=[SIGNATURE])
    answer_hash: str | None = Field(default=None, max_length=66)


class SubmissionBatchIn(Strict):
    submissions: list[SubmissionIn] = Field(description="at most 1000 entries")


class StoredOut(BaseModel):
    """A stored submission or review; ``duplicate`` when this repeats an earlier request."""

    id: int
    duplicate: bool


class EntryResultOut(BaseModel):
    index: int
    id: int | None
    duplicate: bool
    problem: dict[str, Any] | None


class BatchOut(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    results: list[EntryResultOut]


class ReviewTargetOut(BaseModel):
    """A submission to review and the typed data of an ``accept`` review (set ``verdict`` 2
    to reject, or ``rating`` 1-5)."""

    task_id: str
    submission_id: int
    item_cid: str
    text: str | None
    answer: Any
    contributor: str
    submission_hash: str
    typed_data: dict[str, Any]


class ReviewIn(Strict):
    submission_id: int = Field(ge=1, le=2**63 - 1)
    reviewer: str = Field(max_length=42, examples=[HEX_ADDRESS])
    verdict: Literal["accept", "reject"] | None = None
    rating: int | None = Field(default=None, ge=1, le=5)
    signature: str = Field(max_length=200, examples=[SIGNATURE])


class ReviewSignRequestIn(Strict):
    submission_id: int = Field(ge=1, le=2**63 - 1)
    verdict: Literal["accept", "reject"] | None = None
    rating: int | None = Field(default=None, ge=1, le=5)


class TypedDataOut(BaseModel):
    typed_data: dict[str, Any] = Field(description="eth_signTypedData_v4 JSON")


class ReviewBatchIn(Strict):
    reviews: list[ReviewIn]


class AnswerOut(BaseModel):
    submission_id: int
    item_cid: str
    contributor: str = Field(description="the contributor (or the task id, in /me/answers)")
    answer: Any
    nonce: str
    duration_ms: int
    accepted_at: int
    signature: str


class EarningOut(BaseModel):
    task_id: str
    epoch: int
    bundle_cid: str | None
    amount: str
    gross: str
    answers_paid: int
    answers_agreeing: int
    gold_answered: int
    gold_correct: int
    spam_flagged: bool
    reviews_made: int
    reviews_agreeing: int


class PendingOut(BaseModel):
    task_id: str
    answers: int
    reason: str


class LeafOut(BaseModel):
    task_id: str
    epoch: int
    index: int
    account: str
    amount: str
    proof: list[str]


class ClaimableOut(BaseModel):
    escrow: str
    leaves: list[LeafOut]
    already_claimed: int


class LeafKeyIn(Strict):
    task_id: str = Field(max_length=66, examples=[TASK_ID])
    epoch: int = Field(ge=1, le=2**32)
    index: int = Field(ge=0, le=2**32)


class ClaimIn(Strict):
    leaves: list[LeafKeyIn] | None = Field(
        default=None, max_length=1000, description="default: every unclaimed leaf"
    )


class ClaimOut(BaseModel):
    account: str
    claims: int
    amount: str
    tx_hashes: list[str]
    already_claimed: int


# ----------------------------------------------------------------------------- public


class ChainOut(BaseModel):
    chain_id: int
    rpc: str = Field(description="JSON-RPC endpoint of the chain (this server's /rpc on demo)")
    addresses: dict[str, str]
    owner: str
    block: int


class FeeOut(BaseModel):
    fee_bps: int
    max_fee_bps: int
    fee_recipient: str


class SettleOut(BaseModel):
    task_id: str
    epoch: int
    state: str
    submissions: int
    leaves: int
    total: str
    fee: str
    root: str | None
    bundle_cid: str | None
    tx_hash: str | None


class AuditOut(BaseModel):
    bundle_cid: str
    task_id: str
    epoch: int
    submissions: int
    reviews: int
    leaves: int
    root: str | None
    total: str
    fee: str
    chain_checked: bool


class HealthOut(BaseModel):
    status: str
    version: str


class ReadyOut(BaseModel):
    status: str
    database: str
    migrations: str
