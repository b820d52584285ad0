"""What a release keeps beside its row: the full-text search entry and the encrypted data.

* :func:`index_release` adds a release's title and card to SQLite's FTS5 table
  ``release_search`` (PostgreSQL indexes the columns themselves, see
  :mod:`datafair.store.market_models`);
* the release data is kept in the blob store (what a node publishes to IPFS) as AES-256-GCM
  ciphertext under a key derived from the node's download secret and the manifest
  (:func:`release_key`, HMAC-SHA256), so a CID alone gives no access
  (:func:`encrypt_release_data`, :func:`decrypt_release_data`);
* :func:`download_secret` is that secret: the configured one, else a random key kept in the
  home.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from datafair.core.errors import Forbidden
from datafair.store.blobs import BlobStore
from datafair.store.market_models import Release

_ENCRYPTED_MAGIC = b"DFENC1"


class AccessDenied(Forbidden):
    """A download asked for by someone who holds no licence, or with a bad or expired URL."""


def index_release(session: Session, row: Release) -> None:
    """Add a release's title and card to the full-text index (SQLite; PostgreSQL indexes the
    columns themselves)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            text("INSERT INTO release_search(rowid, title, body) VALUES (:id, :title, :body)"),
            {"id": row.id, "title": row.title, "body": row.card_text},
        )


def download_secret(home: Path, configured: str | None = None) -> bytes:
    """The node's download secret: the configured one, else a random key kept in
    ``HOME/keys/download.secret`` (created on first use, readable by its owner only)."""
    if configured:
        return configured.encode("utf-8")
    path = home / "keys" / "download.secret"
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32).encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(value)
    return value


def release_key(secret: bytes, manifest_cid: str) -> bytes:
    """The AES-256 key of a release's data: HMAC-SHA256(secret, "release:" + manifest CID)."""
    return hmac.new(secret, b"release:" + manifest_cid.encode(), hashlib.sha256).digest()


def encrypt_release_data(blobs: BlobStore, secret: bytes, manifest_cid: str, data_cid: str) -> str:
    """Store the release data encrypted (AES-256-GCM, random 96-bit nonce, the manifest CID as
    associated data); the ciphertext's CID."""
    from Crypto.Cipher import AES

    nonce = secrets.token_bytes(12)
    cipher = AES.new(release_key(secret, manifest_cid), AES.MODE_GCM, nonce=nonce)
    cipher.update(manifest_cid.encode())
    body, tag = cipher.encrypt_and_digest(blobs.get(data_cid))
    return blobs.put(_ENCRYPTED_MAGIC + nonce + tag + body)


def decrypt_release_data(blobs: BlobStore, secret: bytes, manifest_cid: str, cid: str) -> bytes:
    """The plain release data of an encrypted blob (``AccessDenied`` on a wrong key)."""
    from Crypto.Cipher import AES

    data = blobs.get(cid)
    if not data.startswith(_ENCRYPTED_MAGIC):
        raise AccessDenied(f"release data {cid}: not an encrypted release blob")
    nonce, tag, body = data[6:18], data[18:34], data[34:]
    cipher = AES.new(release_key(secret, manifest_cid), AES.MODE_GCM, nonce=nonce)
    cipher.update(manifest_cid.encode())
    try:
        return bytes(cipher.decrypt_and_verify(body, tag))
    except ValueError:
        raise AccessDenied(
            "release data: the key does not open it (another node's secret)"
        ) from None
