"""Settings read from the environment (prefix ``DATAFAIR_``) with pydantic-settings.

One data directory, ``DATAFAIR_HOME`` (default ``./.datafair``), holds everything a node keeps:
the SQLite database, the content-addressed blobs, the keystore files and the embedded chain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where datafair keeps its state and how it reaches its services."""

    model_config = SettingsConfigDict(env_prefix="DATAFAIR_", extra="ignore")

    home: Path = Field(default=Path(".datafair"), description="data directory")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file datafair.db inside the home",
    )
    sqlite_synchronous: Literal["full", "normal"] = Field(
        default="full",
        description="SQLite's synchronous mode: full (a commit survives a power loss) or normal "
        "(in WAL mode a commit survives any crash of the process, not of the machine; no fsync "
        "per commit)",
    )
    password: str | None = Field(
        default=None, description="keystore password used instead of a prompt"
    )
    chain_id: int = Field(default=31337, description="chain id of the embedded chain")
    cache: Path | None = Field(
        default=None, description="compiled-contract cache (default: HOME/cache)"
    )
    fair_pay_floor: int = Field(default=0, ge=0, description="fair-pay floor, base units/hour")
    royalty_floor_bps: int = Field(
        default=1_000,
        ge=0,
        le=10_000,
        description="least royalty share (basis points) a task may promise its contributors",
    )
    near_duplicate_text: float = Field(
        default=0.8,
        gt=0.0,
        le=1.0,
        description="estimated Jaccard similarity from which a text is a near duplicate",
    )
    near_duplicate_image_bits: int = Field(
        default=6,
        ge=0,
        le=64,
        description="pHash Hamming distance up to which an image is a near duplicate",
    )
    download_secret: str | None = Field(
        default=None,
        description="HMAC key of signed download URLs (default: a random key kept in HOME)",
    )
    download_ttl: int = Field(
        default=600, ge=1, description="seconds a signed download URL stays valid"
    )
    licence_cache_ttl: int = Field(
        default=30, ge=0, description="seconds a licence check on chain is cached"
    )
    # --- the HTTP server (datafair serve)
    rpc_url: str | None = Field(
        default=None, description="JSON-RPC URL of the chain the server uses (default: embedded)"
    )
    siwe_domain: str | None = Field(
        default=None,
        description="domain sign-in messages must name (default: the request's Host header)",
    )
    session_ttl_s: int = Field(default=86_400, ge=60, description="signed-in session lifetime")
    nonce_ttl_s: int = Field(default=600, ge=10, description="sign-in nonce lifetime")
    operators: str = Field(
        default="", description="comma-separated addresses allowed to settle tasks over HTTP"
    )
    relayer_account: str | None = Field(
        default=None,
        description="keystore account that sends relayed claims (default on the embedded "
        "chain: the deployment's owner)",
    )
    claim_rate_limit: int = Field(
        default=10, ge=0, description="relayed claim transactions per address per hour"
    )
    max_body_bytes: int = Field(
        default=4_000_000, ge=1024, description="largest JSON request body, bytes"
    )
    public_rpc_url: str | None = Field(
        default=None,
        description="JSON-RPC URL browser wallets use (default: the server's /rpc on the "
        "embedded chain, else rpc_url)",
    )
    chain_name: str = Field(default="datafair local", description="chain name shown to wallets")
    explorer_url: str | None = Field(
        default=None, description="block explorer base URL for transaction links"
    )
    max_upload_bytes: int = Field(
        default=256_000_000, ge=1024, description="largest dataset upload, bytes"
    )

    @property
    def operator_addresses(self) -> frozenset[str]:
        """The ``operators`` setting as a set of lower-case addresses."""
        return frozenset(part.strip().lower() for part in self.operators.split(",") if part.strip())

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``sqlite:///HOME/datafair.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'datafair.db').resolve()}"

    @property
    def blobs_dir(self) -> Path:
        return self.home / "blobs"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def chain_dir(self) -> Path:
        return self.home / "chain"

    @property
    def cache_dir(self) -> Path:
        """Compiled contracts, keyed by source hash (``DATAFAIR_CACHE``, default HOME/cache)."""
        return self.cache if self.cache is not None else self.home / "cache"

    @property
    def exports_dir(self) -> Path:
        return self.home / "exports"

    def ensure_home(self) -> Path:
        """Create the home and its sub-directories if missing, private (0700); the home.

        ``InvalidInput`` naming the folder and the fix if it cannot be created.
        """
        from datafair.store.private import private_dir

        for path in (self.home, self.blobs_dir, self.keys_dir, self.chain_dir):
            private_dir(path)
        return self.home


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (``None`` values ignored)."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**clean)  # type: ignore[arg-type]
