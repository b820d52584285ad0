"""SQLAlchemy models of the server's sign-in state and of relayed claims.

Conventions are those of :mod:`datafair.store.models` (same ``Base``, times in Unix ms,
checksummed addresses). Every worker process of a server reads and writes these rows, so a nonce
is single-use and a session valid whichever worker answers.

* ``siwe_nonces``: the nonces handed out for EIP-4361 sign-in; ``used_at`` is set once, by a
  conditional update, when a message carrying it signs in (a replay finds it set).
* ``api_sessions``: signed-in sessions; only the SHA-256 of the bearer token is stored, so a
  copy of the database cannot be used to act as anyone; ``revoked_at`` is set at sign-out.
* ``claim_relays``: each gasless claim the operator relayed, for the per-address rate limit.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from datafair.store.base import ADDRESS_LEN, Base, BigId

NONCE_LEN = 32
TX_HASH_LEN = 66


class SiweNonce(Base):
    """A sign-in nonce: when it was issued, until when it may be used, when it was used."""

    __tablename__ = "siwe_nonces"

    nonce: Mapped[str] = mapped_column(String(NONCE_LEN), primary_key=True)
    issued_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index(None, "expires_at"),)


class ApiSession(Base):
    """A signed-in session of one address, named by the SHA-256 of its bearer token."""

    __tablename__ = "api_sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    address: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    chain_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index(None, "address"),)


class ClaimRelay(Base):
    """One relayed ``claim_many`` transaction sent for ``address``."""

    __tablename__ = "claim_relays"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    address: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    claims: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str | None] = mapped_column(String(TX_HASH_LEN))
    created_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index(None, "address", "created_at"),)
