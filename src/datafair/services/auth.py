"""Sign-in with Ethereum (EIP-4361): nonces, sign-in, sessions, sign-out.

Inputs: an open ``Session`` (every write call commits, or rolls back and raises leaving nothing
stored); a clock (Unix seconds); what the server expects of a message (its domain, its chain
id); optionally an EIP-1271 checker for contract wallets.

The flow (https://eips.ethereum.org/EIPS/eip-4361):

1. :func:`issue_nonce` stores a fresh random nonce valid ``ttl_s`` seconds;
2. the wallet signs a SIWE message naming the server's domain, a URI, the chain id, that nonce,
   an issued-at time and an expiration time (``personal_sign``, EIP-191);
3. :func:`sign_in` parses the message with the ``siwe`` library (the ABNF grammar of EIP-4361),
   then refuses, each with a one-line error naming the field: another domain or chain id, a
   missing or past expiration time, an issued-at in the future, an unknown, expired or already
   used nonce, and a signature that does not recover to the message's address (or, for a
   contract wallet, that its ``isValidSignature`` refuses, EIP-1271). The nonce is consumed by
   a conditional update, so two concurrent sign-ins with one nonce give one session;
4. the session is a random bearer token (also sent as an HttpOnly cookie by the API); only its
   SHA-256 is stored. :func:`session_address` resolves a token, :func:`sign_out` revokes it.

No password and no key of the user is ever held by the server.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from datafair.core.errors import Conflict, InvalidInput, SignatureError, Unauthenticated
from datafair.services.tasks import Clock, checksum_address, now_ms
from datafair.store.api_models import ApiSession, SiweNonce

DEFAULT_NONCE_TTL_S = 600
DEFAULT_SESSION_TTL_S = 86_400
MAX_MESSAGE_CHARS = 4_000
CLOCK_SKEW_S = 60

ContractSignatureCheck = Callable[[str, bytes, bytes], bool]
"""``(address, EIP-191 digest, signature) -> bool``: asks a contract wallet (EIP-1271)."""


@dataclass(frozen=True)
class NonceGrant:
    """A sign-in nonce and when it stops being accepted (Unix ms)."""

    nonce: str
    expires_at: int


@dataclass(frozen=True)
class SessionGrant:
    """A signed-in session: the bearer token (shown once), its address and expiry (Unix ms)."""

    token: str
    address: str
    chain_id: int
    expires_at: int


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def issue_nonce(
    session: Session, *, clock: Clock = time.time, ttl_s: int = DEFAULT_NONCE_TTL_S
) -> NonceGrant:
    """Store and return a fresh nonce (17 random alphanumeric characters, as EIP-4361 asks
    for at least 8), valid ``ttl_s`` seconds."""
    nonce = secrets.token_hex(12)
    issued = now_ms(clock)
    grant = NonceGrant(nonce, issued + ttl_s * 1000)
    try:
        session.add(SiweNonce(nonce=nonce, issued_at=issued, expires_at=grant.expires_at))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return grant


def _parse(message: str) -> object:
    if not isinstance(message, str) or not message.strip():
        raise InvalidInput("message", "is empty", "send the EIP-4361 message the wallet signed")
    if len(message) > MAX_MESSAGE_CHARS:
        raise InvalidInput("message", f"is longer than {MAX_MESSAGE_CHARS} characters")
    from siwe import SiweMessage

    try:
        return SiweMessage.from_message(message=message)
    except Exception as error:  # the parser raises several kinds for malformed text
        raise InvalidInput(
            "message",
            f"is not an EIP-4361 sign-in message ({type(error).__name__})",
            "sign the text built from GET /api/v1/auth/nonce",
        ) from None


def _timestamp_ms(value: object, field: str) -> int:
    text = str(value)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(field, f"{text!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _signature(value: str) -> bytes:
    text = value[2:] if isinstance(value, str) and value[:2] in ("0x", "0X") else value
    try:
        raw = bytes.fromhex(text) if isinstance(text, str) else b""
    except ValueError:
        raw = b""
    if not raw:
        raise InvalidInput("signature", "must be 0x-hex bytes", "send the wallet's signature")
    return raw


def _recovered(message: str, signature: bytes) -> str | None:
    from eth_account import Account
    from eth_account.messages import encode_defunct

    if len(signature) != 65:
        return None
    try:
        return str(Account.recover_message(encode_defunct(text=message), signature=signature))
    except Exception:  # bad point, bad v: not a signature of any key
        return None


def eip191_digest(message: str) -> bytes:
    """The EIP-191 ``personal_sign`` digest of ``message`` (what EIP-1271 wallets check)."""
    from eth_account.messages import _hash_eip191_message, encode_defunct

    return bytes(_hash_eip191_message(encode_defunct(text=message)))


def sign_in(
    session: Session,
    message: str,
    signature: str,
    *,
    domain: str,
    chain_id: int,
    clock: Clock = time.time,
    session_ttl_s: int = DEFAULT_SESSION_TTL_S,
    contract_check: ContractSignatureCheck | None = None,
) -> SessionGrant:
    """Verify a signed SIWE message and open a session (see the module docstring)."""
    parsed = _parse(message)
    now = now_ms(clock)
    found_domain = str(getattr(parsed, "domain", ""))
    if found_domain != domain:
        raise InvalidInput(
            "message.domain", f"is {found_domain!r}, not {domain!r}", "sign in to this server"
        )
    found_chain = int(getattr(parsed, "chain_id", 0))
    if found_chain != chain_id:
        raise InvalidInput(
            "message.chain_id", f"is {found_chain}, this market runs on chain {chain_id}"
        )
    expiration = getattr(parsed, "expiration_time", None)
    if not expiration:
        raise InvalidInput("message.expiration_time", "is missing", "give the message an expiry")
    if _timestamp_ms(expiration, "message.expiration_time") <= now:
        raise InvalidInput("message.expiration_time", "has passed", "sign a fresh message")
    issued = _timestamp_ms(getattr(parsed, "issued_at", ""), "message.issued_at")
    if issued > now + CLOCK_SKEW_S * 1000:
        raise InvalidInput("message.issued_at", "is in the future", "check the wallet's clock")
    not_before = getattr(parsed, "not_before", None)
    if not_before and _timestamp_ms(not_before, "message.not_before") > now:
        raise InvalidInput("message.not_before", "is still in the future")
    address = checksum_address(str(getattr(parsed, "address", "")), "message.address")
    raw_signature = _signature(signature)
    signer = _recovered(message, raw_signature)
    own_key = signer is not None and signer.lower() == address.lower()
    if not own_key and (
        contract_check is None or not contract_check(address, eip191_digest(message), raw_signature)
    ):
        raise SignatureError(
            f"signature: not made by {address} over this message "
            f"(recovers to {signer or 'no key'}; sign the exact text with that wallet)"
        )
    nonce = str(getattr(parsed, "nonce", ""))
    try:
        consumed: Any = session.execute(
            update(SiweNonce)
            .where(
                SiweNonce.nonce == nonce,
                SiweNonce.used_at.is_(None),
                SiweNonce.expires_at > now,
            )
            .values(used_at=now)
        )
        if consumed.rowcount != 1:
            stored = session.get(SiweNonce, nonce)
            if stored is None:
                raise InvalidInput(
                    "message.nonce", "was not issued by this server", "GET a fresh nonce"
                )
            if stored.used_at is not None:
                raise Conflict("message.nonce: was already used (a replay; GET a fresh nonce)")
            raise InvalidInput("message.nonce", "has expired", "GET a fresh nonce")
        token = secrets.token_urlsafe(32)
        expires = now + session_ttl_s * 1000
        session.add(
            ApiSession(
                token_hash=_token_hash(token),
                address=address,
                chain_id=chain_id,
                created_at=now,
                expires_at=expires,
            )
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return SessionGrant(token, address, chain_id, expires)


NOT_SIGNED_IN = "session: not signed in, expired or signed out (sign in again)"


def session_address(session: Session, token: str, *, clock: Clock = time.time) -> str:
    """The address signed in with ``token``; ``Unauthenticated`` if unknown, expired or
    revoked."""
    return signed_in_address(session_addresses(session, [token], clock=clock), token)


def signed_in_address(addresses: Mapping[str, str], token: str) -> str:
    """``token``'s address among those :func:`session_addresses` found; ``Unauthenticated``
    when it has none (unknown, expired or revoked)."""
    address = addresses.get(token)
    if address is None:
        raise Unauthenticated(NOT_SIGNED_IN)
    return address


def session_addresses(
    session: Session, tokens: Iterable[str], *, clock: Clock = time.time
) -> dict[str, str]:
    """The signed-in address of each of ``tokens`` that is known, unexpired and not revoked
    (one query for all: the group commit checks a batch's callers at once)."""
    hashes = {_token_hash(token): token for token in set(tokens)}
    if not hashes:
        return {}
    now = now_ms(clock)
    rows = session.connection().execute(_SESSIONS_LOOKUP, {"hashes": list(hashes)})
    return {
        hashes[bytes(row.token_hash)]: str(row.address)
        for row in rows
        if row.revoked_at is None and row.expires_at > now
    }


# built once: every authenticated request runs it (a column read, no ORM identity map)
_SESSIONS_LOOKUP = select(
    ApiSession.token_hash, ApiSession.address, ApiSession.revoked_at, ApiSession.expires_at
).where(ApiSession.token_hash.in_(bindparam("hashes", expanding=True)))


def sign_out(session: Session, token: str, *, clock: Clock = time.time) -> None:
    """Revoke the session of ``token`` (a no-op for an unknown or revoked one) and commit."""
    try:
        session.execute(
            update(ApiSession)
            .where(ApiSession.token_hash == _token_hash(token), ApiSession.revoked_at.is_(None))
            .values(revoked_at=now_ms(clock))
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise


def siwe_text(
    *,
    domain: str,
    address: str,
    uri: str,
    chain_id: int,
    nonce: str,
    issued_at: datetime,
    expires_at: datetime,
    statement: str = "Sign in to datafair.",
) -> str:
    """The EIP-4361 message a wallet signs, as the ``siwe`` library prepares it."""
    from siwe import SiweMessage

    message = SiweMessage(
        domain=domain,
        address=checksum_address(address, "address"),
        statement=statement,
        uri=uri,
        version="1",
        chain_id=chain_id,
        nonce=nonce,
        issued_at=issued_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        expiration_time=expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
    )
    return str(message.prepare_message())
