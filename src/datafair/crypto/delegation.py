"""EIP-712 session-key delegations: one wallet signature lets an ephemeral key sign answers.

Labelling with a wallet pop-up per answer is unusable, so a wallet signs once, under the same
domain as its submissions (:class:`datafair.crypto.eip712.SubmissionDomain`)::

    Delegation(address wallet, address sessionKey, bytes32[] taskIds, uint64 expiresAt,
               uint32 maxAnswers, uint64 nonce)

``sessionKey`` is the address of a key the browser (or a script) generated and holds;
``taskIds`` the tasks it may answer (at least one); ``expiresAt`` Unix seconds after which the
server refuses its signatures; ``maxAnswers`` how many submissions it may sign in all; ``nonce``
makes two otherwise equal delegations distinct. The session key then signs ordinary
``Submission`` messages whose ``contributor`` is the *wallet*: they are paid to the wallet,
and anyone holding the delegation and its signature can check the chain of authority
(wallet → session key → answer) without trusting the server. The settlement bundle carries the
delegations its submissions used, so the public audit stays self-contained.

Encoding follows EIP-712: a dynamic array is hashed as ``keccak256`` of its elements' 32-byte
encodings concatenated. The tests check the digest against eth-account's general encoder and
a signature made by ethers v6 ``signTypedData``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coincurve import PrivateKey
from eth_utils.address import to_checksum_address

from datafair.core.canonical import keccak256
from datafair.core.errors import InvalidInput, SignatureError
from datafair.crypto.eip712 import (
    EIP712_TYPES,
    SubmissionDomain,
    contributor_bytes,
    recover_signer,
)

DELEGATION_TYPE = (
    "Delegation(address wallet,address sessionKey,bytes32[] taskIds,uint64 expiresAt,"
    "uint32 maxAnswers,uint64 nonce)"
)
DELEGATION_TYPEHASH = keccak256(DELEGATION_TYPE.encode())

DELEGATION_EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": EIP712_TYPES["EIP712Domain"],
    "Delegation": [
        {"name": "wallet", "type": "address"},
        {"name": "sessionKey", "type": "address"},
        {"name": "taskIds", "type": "bytes32[]"},
        {"name": "expiresAt", "type": "uint64"},
        {"name": "maxAnswers", "type": "uint32"},
        {"name": "nonce", "type": "uint64"},
    ],
}

MAX_TASKS = 64
_UINT64_MAX = 2**64 - 1
_UINT32_MAX = 2**32 - 1


def _address(value: str, field: str) -> str:
    try:
        return to_checksum_address(contributor_bytes(value))
    except InvalidInput:
        raise InvalidInput(field, f"{value!r} is not a 20-byte hex address") from None


@dataclass(frozen=True)
class DelegationMessage:
    """What a wallet signs to let ``session_key`` answer ``task_ids`` on its behalf."""

    wallet: str
    session_key: str
    task_ids: tuple[bytes, ...]
    expires_at: int
    max_answers: int
    nonce: int

    def check(self) -> None:
        """Raise ``InvalidInput`` naming the first field outside its EIP-712 type or limits."""
        _address(self.wallet, "wallet")
        _address(self.session_key, "session_key")
        if contributor_bytes(self.wallet) == contributor_bytes(self.session_key):
            raise InvalidInput("session_key", "is the wallet itself", "generate a fresh key")
        if not 1 <= len(self.task_ids) <= MAX_TASKS:
            raise InvalidInput("task_ids", f"must name 1 to {MAX_TASKS} tasks")
        if any(len(task_id) != 32 for task_id in self.task_ids):
            raise InvalidInput("task_ids", "each task id must be 32 bytes")
        if not 0 < self.expires_at <= _UINT64_MAX:
            raise InvalidInput("expires_at", "must be Unix seconds that fit in uint64")
        if not 0 < self.max_answers <= _UINT32_MAX:
            raise InvalidInput("max_answers", "must be at least 1 and fit in uint32")
        if not 0 <= self.nonce <= _UINT64_MAX:
            raise InvalidInput("nonce", "must fit in uint64")

    def covers(self, task_id: bytes) -> bool:
        """Whether the delegation lets its key answer ``task_id``."""
        return task_id in self.task_ids

    def struct_hash(self) -> bytes:
        """``hashStruct(Delegation)``, the array hashed as EIP-712 prescribes."""
        return keccak256(
            DELEGATION_TYPEHASH
            + contributor_bytes(self.wallet).rjust(32, b"\0")
            + contributor_bytes(self.session_key).rjust(32, b"\0")
            + keccak256(b"".join(self.task_ids))
            + self.expires_at.to_bytes(32, "big")
            + self.max_answers.to_bytes(32, "big")
            + self.nonce.to_bytes(32, "big")
        )

    def as_dict(self) -> dict[str, Any]:
        """The message in EIP-712 JSON form (checksummed addresses, 0x-hex task ids)."""
        return {
            "wallet": to_checksum_address(self.wallet),
            "sessionKey": to_checksum_address(self.session_key),
            "taskIds": ["0x" + task_id.hex() for task_id in self.task_ids],
            "expiresAt": self.expires_at,
            "maxAnswers": self.max_answers,
            "nonce": self.nonce,
        }

    @classmethod
    def from_dict(cls, data: Any) -> DelegationMessage:
        """Parse the EIP-712 JSON form; ``InvalidInput`` naming the first bad field."""
        if not isinstance(data, dict):
            raise InvalidInput("delegation", "must be an object with the Delegation fields")
        try:
            raw_ids = data["taskIds"]
            if not isinstance(raw_ids, list):
                raise InvalidInput("taskIds", "must be a list of 0x-hex task ids")
            task_ids = tuple(_task_id(value) for value in raw_ids)
            numbers = {}
            for name in ("expiresAt", "maxAnswers", "nonce"):
                value = data[name]
                if isinstance(value, str) and value.isdigit():
                    value = int(value)
                if isinstance(value, bool) or not isinstance(value, int):
                    raise InvalidInput(name, f"must be an integer, got {value!r}")
                numbers[name] = value
            message = cls(
                wallet=_address(str(data["wallet"]), "wallet"),
                session_key=_address(str(data["sessionKey"]), "sessionKey"),
                task_ids=task_ids,
                expires_at=numbers["expiresAt"],
                max_answers=numbers["maxAnswers"],
                nonce=numbers["nonce"],
            )
        except KeyError as missing:
            raise InvalidInput(str(missing.args[0]), "is missing from the delegation") from None
        message.check()
        return message


def _task_id(value: Any) -> bytes:
    text = value[2:] if isinstance(value, str) and value[:2] in ("0x", "0X") else None
    try:
        raw = bytes.fromhex(text) if text is not None else b""
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise InvalidInput("taskIds", f"{value!r} is not a 0x-hex 32-byte task id")
    return raw


def delegation_digest(domain: SubmissionDomain, message: DelegationMessage) -> bytes:
    """``keccak256(0x1901 || domainSeparator || hashStruct(delegation))``."""
    return keccak256(b"\x19\x01" + domain.separator + message.struct_hash())


def delegation_typed_data(domain: SubmissionDomain, message: DelegationMessage) -> dict[str, Any]:
    """The ``eth_signTypedData_v4`` JSON a wallet signs for this delegation."""
    return {
        "types": DELEGATION_EIP712_TYPES,
        "primaryType": "Delegation",
        "domain": domain.as_dict(),
        "message": message.as_dict(),
    }


def sign_delegation(
    private_key: bytes, domain: SubmissionDomain, message: DelegationMessage
) -> bytes:
    """The wallet's 65-byte signature ``r || s || v`` (v = 27 or 28) of ``message``."""
    signature = PrivateKey(private_key).sign_recoverable(
        delegation_digest(domain, message), hasher=None
    )
    return signature[:64] + bytes((signature[64] + 27,))


def verify_delegation(
    domain: SubmissionDomain, message: DelegationMessage, signature: bytes
) -> None:
    """Raise ``SignatureError`` unless ``signature`` is the wallet's over ``message``."""
    message.check()
    signer = recover_signer(delegation_digest(domain, message), signature)
    if signer != contributor_bytes(message.wallet):
        raise SignatureError(
            f"delegation: signed by {to_checksum_address(signer)}, not by the wallet "
            f"{to_checksum_address(message.wallet)} (wrong key or chain)"
        )
