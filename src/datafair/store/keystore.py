"""Accounts as encrypted keystore v3 JSON files (the format of geth, MetaMask exports, eth-account).

Each account is ``KEYS_DIR/<name>.json``. Names are short slugs chosen by the user; the address is
stored unencrypted in the file (as geth does) so that ``list`` needs no password.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from datafair.core.errors import Conflict, InvalidInput, NotFound
from datafair.store.private import private_dir

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
# scrypt with n=2**14: ~50 ms to unlock; eth-account's default (2**18) takes ~1 s per unlock.
SCRYPT_N = 2**14


@dataclass(frozen=True)
class AccountInfo:
    """A stored account: its name, checksummed address and keystore path."""

    name: str
    address: str
    path: Path


def check_account_name(name: str) -> str:
    """Return ``name`` if it is a valid account name, else raise ``InvalidInput``."""
    if not _NAME.match(name):
        raise InvalidInput(
            "name",
            f"{name!r} is not a valid account name",
            "use 1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return name


class KeyStore:
    """Encrypted key files in one directory: create, import, list, unlock."""

    def __init__(self, keys_dir: Path) -> None:
        self.keys_dir = Path(keys_dir)

    def _path(self, name: str) -> Path:
        return self.keys_dir / f"{check_account_name(name)}.json"

    def new(self, name: str, password: str) -> AccountInfo:
        """Create a fresh random key pair, encrypt it with ``password`` and store it."""
        return self._store(name, Account.create(), password)

    def import_key(self, name: str, private_key: str, password: str) -> AccountInfo:
        """Store an existing private key (hex, with or without ``0x``) under ``name``."""
        key = private_key.strip()
        try:
            account = Account.from_key(key)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(
                "private key", "not a valid secp256k1 private key", "give 32 bytes as 64 hex digits"
            ) from exc
        return self._store(name, account, password)

    def import_keystore(self, name: str, keystore_file: Path, password: str) -> AccountInfo:
        """Import a keystore v3 JSON file (e.g. a geth or MetaMask export) under ``name``."""
        data = self._read_json(keystore_file)
        key = self._decrypt(data, password, str(keystore_file))
        return self._store(name, Account.from_key(key), password)

    def _store(self, name: str, account: LocalAccount, password: str) -> AccountInfo:
        if not password:
            raise InvalidInput("password", "is empty", "choose a non-empty password")
        path = self._path(name)
        if path.exists():
            raise Conflict(f"account {name!r} already exists at {path}; choose another name")
        for existing in self.list():
            if existing.address == account.address:
                raise Conflict(
                    f"address {account.address} is already stored as account {existing.name!r}"
                )
        encrypted = Account.encrypt(account.key, password, kdf="scrypt", iterations=SCRYPT_N)
        private_dir(self.keys_dir)
        fd, tmp = tempfile.mkstemp(dir=self.keys_dir, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump({**encrypted, "name": name}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        return AccountInfo(name, account.address, path)

    def list(self) -> list[AccountInfo]:
        """Every stored account, sorted by name."""
        if not self.keys_dir.is_dir():
            return []
        found = []
        for path in sorted(self.keys_dir.glob("*.json")):
            data = self._read_json(path)
            found.append(AccountInfo(path.stem, to_checksum_address("0x" + data["address"]), path))
        return found

    def info(self, name: str) -> AccountInfo:
        """The stored account called ``name``; ``NotFound`` if there is none."""
        path = self._path(name)
        if not path.exists():
            raise NotFound(f"no account named {name!r}; create one with 'datafair account new'")
        data = self._read_json(path)
        return AccountInfo(name, to_checksum_address("0x" + data["address"]), path)

    def load(self, name: str, password: str) -> LocalAccount:
        """Unlock account ``name``; a wrong password raises ``InvalidInput`` naming it."""
        path = self.info(name).path
        key = self._decrypt(self._read_json(path), password, f"account {name!r}")
        account: LocalAccount = Account.from_key(key)
        return account

    @staticmethod
    def _decrypt(data: dict[str, Any], password: str, what: str) -> bytes:
        try:
            key: bytes = Account.decrypt(data, password)
        except ValueError as exc:
            raise InvalidInput(
                "password", f"wrong keystore password for {what}", "check $DATAFAIR_PASSWORD"
            ) from exc
        return key

    @staticmethod
    def _read_json(path: Path) -> dict[str, Any]:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise NotFound(f"keystore file {path} does not exist") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInput(str(path), "is not a keystore v3 JSON file") from exc
        if not isinstance(data, dict) or ("crypto" not in data and "Crypto" not in data):
            raise InvalidInput(str(path), "is not a keystore v3 JSON file", "it has no 'crypto'")
        return data
