"""EIP-712 typed signatures over labelling submissions and their reviews.

A contributor signs, with the key of their wallet::

    EIP712Domain(string name, string version, uint256 chainId)
    Submission(bytes32 taskId, string itemCid, bytes32 answerHash, address contributor,
               uint64 nonce, uint32 durationMs)

``taskId`` is the keccak-256 of the task spec's canonical JSON, ``answerHash`` the keccak-256 of
the canonical answer (``datafair.core.canonical``), ``durationMs`` the time spent on the item.
Any wallet that speaks ``eth_signTypedData_v4`` (MetaMask, ethers ``signTypedData``) produces the
same signature; ``typed_data`` gives the JSON those wallets take.

Verification is the hot path of the marketplace, so the type hashes and the domain separator are
computed once, the struct hash is the fixed-layout concatenation EIP-712 defines for these static
fields, and the public key is recovered with libsecp256k1 (coincurve). The tests check every
digest against eth-account's general ``encode_typed_data``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from coincurve import PrivateKey, PublicKey
from eth_utils.address import to_checksum_address

from datafair.core.canonical import keccak256
from datafair.core.errors import InvalidInput, SignatureError

DOMAIN_NAME = "datafair"
DOMAIN_VERSION = "1"

DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId)"
SUBMISSION_TYPE = (
    "Submission(bytes32 taskId,string itemCid,bytes32 answerHash,address contributor,"
    "uint64 nonce,uint32 durationMs)"
)
DOMAIN_TYPEHASH = keccak256(DOMAIN_TYPE.encode())
SUBMISSION_TYPEHASH = keccak256(SUBMISSION_TYPE.encode())

EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
    ],
    "Submission": [
        {"name": "taskId", "type": "bytes32"},
        {"name": "itemCid", "type": "string"},
        {"name": "answerHash", "type": "bytes32"},
        {"name": "contributor", "type": "address"},
        {"name": "nonce", "type": "uint64"},
        {"name": "durationMs", "type": "uint32"},
    ],
}

# secp256k1 group order; signatures with s above half of it are refused (EIP-2 malleability).
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N = _SECP256K1_N // 2
_UINT64_MAX = 2**64 - 1
_UINT32_MAX = 2**32 - 1


@dataclass(frozen=True)
class SubmissionDomain:
    """The EIP-712 domain: it ties signatures to datafair, its version, and one chain."""

    chain_id: int
    name: str = DOMAIN_NAME
    version: str = DOMAIN_VERSION

    @cached_property
    def separator(self) -> bytes:
        """``hashStruct(EIP712Domain)``."""
        return keccak256(
            DOMAIN_TYPEHASH
            + keccak256(self.name.encode())
            + keccak256(self.version.encode())
            + self.chain_id.to_bytes(32, "big")
        )

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "chainId": self.chain_id}


@dataclass(frozen=True)
class SubmissionMessage:
    """What a contributor signs: task, item, answer hash, their address, nonce, time on item."""

    task_id: bytes
    item_cid: str
    answer_hash: bytes
    contributor: str
    nonce: int
    duration_ms: int

    def check(self) -> None:
        """Raise ``InvalidInput`` naming the first field outside its EIP-712 type."""
        if len(self.task_id) != 32:
            raise InvalidInput("task_id", "must be 32 bytes")
        if len(self.answer_hash) != 32:
            raise InvalidInput("answer_hash", "must be 32 bytes")
        if not 0 <= self.nonce <= _UINT64_MAX:
            raise InvalidInput("nonce", "must fit in uint64")
        if not 0 <= self.duration_ms <= _UINT32_MAX:
            raise InvalidInput("duration_ms", "must fit in uint32")
        contributor_bytes(self.contributor)

    def struct_hash_fields(self) -> bytes:
        """The 32-byte encoding of each field, in order (what follows the type hash)."""
        return (
            self.task_id
            + keccak256(self.item_cid.encode())
            + self.answer_hash
            + contributor_bytes(self.contributor).rjust(32, b"\0")
            + self.nonce.to_bytes(32, "big")
            + self.duration_ms.to_bytes(32, "big")
        )

    def struct_hash(self) -> bytes:
        """``hashStruct(Submission)``: typehash and the 32-byte encoding of each field."""
        return keccak256(SUBMISSION_TYPEHASH + self.struct_hash_fields())

    def as_dict(self) -> dict[str, Any]:
        """The message in EIP-712 JSON form (hex strings for bytes)."""
        return {
            "taskId": "0x" + self.task_id.hex(),
            "itemCid": self.item_cid,
            "answerHash": "0x" + self.answer_hash.hex(),
            "contributor": to_checksum_address(self.contributor),
            "nonce": self.nonce,
            "durationMs": self.duration_ms,
        }


def contributor_bytes(address: str) -> bytes:
    """The 20 bytes of a hex address; ``InvalidInput`` if it is not one."""
    text = address[2:] if address[:2] in ("0x", "0X") else address
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != 20:
        raise InvalidInput("contributor", f"{address!r} is not a 20-byte hex address")
    return raw


def signing_digest(domain: SubmissionDomain, message: SubmissionMessage) -> bytes:
    """``keccak256(0x1901 || domainSeparator || hashStruct(message))``."""
    return keccak256(b"\x19\x01" + domain.separator + message.struct_hash())


def typed_data(domain: SubmissionDomain, message: SubmissionMessage) -> dict[str, Any]:
    """The full ``eth_signTypedData_v4`` JSON for wallets and ethers."""
    return {
        "types": EIP712_TYPES,
        "primaryType": "Submission",
        "domain": domain.as_dict(),
        "message": message.as_dict(),
    }


def sign_submission(
    private_key: bytes, domain: SubmissionDomain, message: SubmissionMessage
) -> bytes:
    """The 65-byte signature ``r || s || v`` (v = 27 or 28) of ``message`` under ``domain``."""
    signature = PrivateKey(private_key).sign_recoverable(
        signing_digest(domain, message), hasher=None
    )
    return signature[:64] + bytes((signature[64] + 27,))


def recover_signer(digest: bytes, signature: bytes) -> bytes:
    """The 20-byte address whose key made ``signature`` over ``digest``.

    Accepts v in {0, 1, 27, 28}; refuses lengths other than 65 and high-s signatures.
    """
    if len(signature) != 65:
        raise SignatureError(f"signature: must be 65 bytes (r, s, v), got {len(signature)}")
    v = signature[64]
    recovery_id = v - 27 if v >= 27 else v
    if recovery_id not in (0, 1):
        raise SignatureError(f"signature: bad recovery byte v={v}")
    if int.from_bytes(signature[32:64], "big") > _HALF_N:
        raise SignatureError("signature: high s value (not canonical, EIP-2)")
    try:
        public_key = PublicKey.from_signature_and_message(
            signature[:64] + bytes((recovery_id,)), digest, hasher=None
        )
    except Exception as exc:  # coincurve raises plain Exception on invalid points
        raise SignatureError("signature: does not recover to any public key") from exc
    return keccak256(public_key.format(compressed=False)[1:])[-20:]


def verify_submission(
    domain: SubmissionDomain, message: SubmissionMessage, signature: bytes
) -> None:
    """Raise ``SignatureError`` unless ``signature`` is ``message.contributor``'s over it.

    A signature made for another task, item, answer, nonce or chain recovers to some other
    address, so it fails here too.
    """
    message.check()
    signer = recover_signer(signing_digest(domain, message), signature)
    if signer != contributor_bytes(message.contributor):
        raise SignatureError(
            f"signature: signed by {to_checksum_address(signer)}, not by the contributor "
            f"{to_checksum_address(message.contributor)} (wrong key, task, answer or chain)"
        )


# --------------------------------------------------------------------------- reviews
#
# A reviewer signs, under the same domain:
#
#     Review(bytes32 taskId, bytes32 submissionHash, address reviewer, uint8 verdict,
#            uint8 rating)
#
# ``submissionHash`` is keccak-256 of the reviewed submission's 65-byte signature: the same
# hash the inference provenance and the settlement bundle publish for each submission, so a
# review points at exactly one signed record (a signature covers the task, item, answer,
# contributor, nonce and time on item). ``verdict`` is 0 (none), 1 (accept) or 2 (reject);
# ``rating`` is 0 (none) or 1..5; a review carries at least one of them. There is no nonce:
# a reviewer reviews a submission once (the store refuses a second review), and every field
# is recomputable from the stored review, so anyone can re-verify it from a bundle.

REVIEW_TYPE = (
    "Review(bytes32 taskId,bytes32 submissionHash,address reviewer,uint8 verdict,uint8 rating)"
)
REVIEW_TYPEHASH = keccak256(REVIEW_TYPE.encode())

REVIEW_EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": EIP712_TYPES["EIP712Domain"],
    "Review": [
        {"name": "taskId", "type": "bytes32"},
        {"name": "submissionHash", "type": "bytes32"},
        {"name": "reviewer", "type": "address"},
        {"name": "verdict", "type": "uint8"},
        {"name": "rating", "type": "uint8"},
    ],
}

VERDICT_NONE = 0
VERDICT_ACCEPT = 1
VERDICT_REJECT = 2
MAX_RATING = 5


def submission_hash(signature: bytes) -> bytes:
    """The ``submissionHash`` a review signs: keccak-256 of the submission's signature."""
    return keccak256(signature)


@dataclass(frozen=True)
class ReviewMessage:
    """What a reviewer signs: task, reviewed submission, their address, verdict, rating."""

    task_id: bytes
    submission_hash: bytes
    reviewer: str
    verdict: int
    rating: int

    def check(self) -> None:
        """Raise ``InvalidInput`` naming the first field outside its allowed values."""
        if len(self.task_id) != 32:
            raise InvalidInput("task_id", "must be 32 bytes")
        if len(self.submission_hash) != 32:
            raise InvalidInput("submission_hash", "must be 32 bytes")
        if self.verdict not in (VERDICT_NONE, VERDICT_ACCEPT, VERDICT_REJECT):
            raise InvalidInput("verdict", f"must be 0, 1 or 2, got {self.verdict!r}")
        if not 0 <= self.rating <= MAX_RATING:
            raise InvalidInput("rating", f"must be 0 (none) or 1..5, got {self.rating!r}")
        if self.verdict == VERDICT_NONE and self.rating == 0:
            raise InvalidInput("verdict", "a review needs a verdict or a rating", "give one")
        try:
            contributor_bytes(self.reviewer)
        except InvalidInput:
            raise InvalidInput(
                "reviewer", f"{self.reviewer!r} is not a 20-byte hex address"
            ) from None

    def struct_hash(self) -> bytes:
        """``hashStruct(Review)``: typehash and the 32-byte encoding of each static field."""
        return keccak256(
            REVIEW_TYPEHASH
            + self.task_id
            + self.submission_hash
            + contributor_bytes(self.reviewer).rjust(32, b"\0")
            + self.verdict.to_bytes(32, "big")
            + self.rating.to_bytes(32, "big")
        )

    def as_dict(self) -> dict[str, Any]:
        """The message in EIP-712 JSON form (hex strings for bytes)."""
        return {
            "taskId": "0x" + self.task_id.hex(),
            "submissionHash": "0x" + self.submission_hash.hex(),
            "reviewer": to_checksum_address(self.reviewer),
            "verdict": self.verdict,
            "rating": self.rating,
        }


def review_digest(domain: SubmissionDomain, message: ReviewMessage) -> bytes:
    """``keccak256(0x1901 || domainSeparator || hashStruct(review))``."""
    return keccak256(b"\x19\x01" + domain.separator + message.struct_hash())


def review_typed_data(domain: SubmissionDomain, message: ReviewMessage) -> dict[str, Any]:
    """The full ``eth_signTypedData_v4`` JSON of a review, for wallets and ethers."""
    return {
        "types": REVIEW_EIP712_TYPES,
        "primaryType": "Review",
        "domain": domain.as_dict(),
        "message": message.as_dict(),
    }


def sign_review(private_key: bytes, domain: SubmissionDomain, message: ReviewMessage) -> bytes:
    """The 65-byte signature ``r || s || v`` (v = 27 or 28) of a review under ``domain``."""
    signature = PrivateKey(private_key).sign_recoverable(
        review_digest(domain, message), hasher=None
    )
    return signature[:64] + bytes((signature[64] + 27,))


def verify_review(domain: SubmissionDomain, message: ReviewMessage, signature: bytes) -> None:
    """Raise ``SignatureError`` unless ``signature`` is ``message.reviewer``'s over it."""
    message.check()
    signer = recover_signer(review_digest(domain, message), signature)
    if signer != contributor_bytes(message.reviewer):
        raise SignatureError(
            f"signature: signed by {to_checksum_address(signer)}, not by the reviewer "
            f"{to_checksum_address(message.reviewer)} (wrong key, submission, verdict or chain)"
        )


# --------------------------------------------------------------------------- contributions
#
# A contributor to a collection task signs each new item, under the same domain:
#
#     Contribution(bytes32 taskId, string itemCid, bytes32 descriptorHash, address contributor,
#                  uint64 nonce, uint32 durationMs)
#
# ``itemCid`` is the CIDv1 of the item's content bytes, so the signature binds the exact content;
# ``descriptorHash`` the keccak-256 of the canonical descriptor ``{"format": F}``
# (:mod:`datafair.core.collection`). The layout is field for field that of ``Submission``, so
# the settlement audit checks both with one fixed-layout encoding and only the type hash differs.

CONTRIBUTION_TYPE = (
    "Contribution(bytes32 taskId,string itemCid,bytes32 descriptorHash,address contributor,"
    "uint64 nonce,uint32 durationMs)"
)
CONTRIBUTION_TYPEHASH = keccak256(CONTRIBUTION_TYPE.encode())

CONTRIBUTION_EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": EIP712_TYPES["EIP712Domain"],
    "Contribution": [
        {"name": "taskId", "type": "bytes32"},
        {"name": "itemCid", "type": "string"},
        {"name": "descriptorHash", "type": "bytes32"},
        {"name": "contributor", "type": "address"},
        {"name": "nonce", "type": "uint64"},
        {"name": "durationMs", "type": "uint32"},
    ],
}


@dataclass(frozen=True)
class ContributionMessage:
    """What a contributor signs for a new item: task, item CID, descriptor hash, address,
    nonce, time spent."""

    task_id: bytes
    item_cid: str
    descriptor_hash: bytes
    contributor: str
    nonce: int
    duration_ms: int

    def _as_submission(self) -> SubmissionMessage:
        return SubmissionMessage(
            self.task_id,
            self.item_cid,
            self.descriptor_hash,
            self.contributor,
            self.nonce,
            self.duration_ms,
        )

    def check(self) -> None:
        """Raise ``InvalidInput`` naming the first field outside its EIP-712 type."""
        if len(self.descriptor_hash) != 32:
            raise InvalidInput("descriptor_hash", "must be 32 bytes")
        self._as_submission().check()

    def struct_hash(self) -> bytes:
        """``hashStruct(Contribution)``."""
        return keccak256(CONTRIBUTION_TYPEHASH + self._as_submission().struct_hash_fields())

    def as_dict(self) -> dict[str, Any]:
        """The message in EIP-712 JSON form (hex strings for bytes)."""
        return {
            "taskId": "0x" + self.task_id.hex(),
            "itemCid": self.item_cid,
            "descriptorHash": "0x" + self.descriptor_hash.hex(),
            "contributor": to_checksum_address(self.contributor),
            "nonce": self.nonce,
            "durationMs": self.duration_ms,
        }


def contribution_digest(domain: SubmissionDomain, message: ContributionMessage) -> bytes:
    """``keccak256(0x1901 || domainSeparator || hashStruct(contribution))``."""
    return keccak256(b"\x19\x01" + domain.separator + message.struct_hash())


def contribution_typed_data(
    domain: SubmissionDomain, message: ContributionMessage
) -> dict[str, Any]:
    """The full ``eth_signTypedData_v4`` JSON of a contribution, for wallets and ethers."""
    return {
        "types": CONTRIBUTION_EIP712_TYPES,
        "primaryType": "Contribution",
        "domain": domain.as_dict(),
        "message": message.as_dict(),
    }


def sign_contribution(
    private_key: bytes, domain: SubmissionDomain, message: ContributionMessage
) -> bytes:
    """The 65-byte signature ``r || s || v`` (v = 27 or 28) of a contribution."""
    signature = PrivateKey(private_key).sign_recoverable(
        contribution_digest(domain, message), hasher=None
    )
    return signature[:64] + bytes((signature[64] + 27,))


def verify_contribution(
    domain: SubmissionDomain, message: ContributionMessage, signature: bytes
) -> None:
    """Raise ``SignatureError`` unless ``signature`` is ``message.contributor``'s over it."""
    message.check()
    signer = recover_signer(contribution_digest(domain, message), signature)
    if signer != contributor_bytes(message.contributor):
        raise SignatureError(
            f"signature: signed by {to_checksum_address(signer)}, not by the contributor "
            f"{to_checksum_address(message.contributor)} (wrong key, task, item or chain)"
        )
