"""Keystore v3 accounts: create, import, list, unlock; bad names and passwords refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from datafair.core.errors import Conflict, InvalidInput, NotFound
from datafair.store.keystore import KeyStore

KEY = "0x" + "11" * 32


def test_new_then_load(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    info = store.new("alice", "pw")
    assert store.load("alice", "pw").address == info.address
    assert [a.name for a in store.list()] == ["alice"]
    assert json.loads(info.path.read_text())["version"] == 3
    assert info.path.stat().st_mode & 0o777 == 0o600


def test_import_key_and_keystore_file(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    info = store.import_key("bob", KEY, "pw")
    assert info.address == Account.from_key(KEY).address
    exported = tmp_path / "geth.json"
    other = Account.create()
    exported.write_text(json.dumps(Account.encrypt(other.key, "pw2", kdf="scrypt", iterations=2)))
    assert store.import_keystore("carol", exported, "pw2").address == other.address
    assert store.load("carol", "pw2").key == other.key


def test_wrong_password_is_named(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    store.new("alice", "pw")
    with pytest.raises(InvalidInput, match="wrong keystore password"):
        store.load("alice", "nope")


@pytest.mark.parametrize("name", ["", "Alice", "a b", "../x", "x" * 65])
def test_bad_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput, match="account name"):
        KeyStore(tmp_path).new(name, "pw")
    assert list(tmp_path.iterdir()) == []


def test_duplicates_are_refused_and_nothing_written(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    store.import_key("bob", KEY, "pw")
    with pytest.raises(Conflict, match="already exists"):
        store.new("bob", "pw")
    with pytest.raises(Conflict, match="already stored"):
        store.import_key("bob2", KEY, "pw")
    assert [a.name for a in store.list()] == ["bob"]


def test_bad_key_empty_password_unknown_account(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    with pytest.raises(InvalidInput, match="private key"):
        store.import_key("x", "0x1234", "pw")
    with pytest.raises(InvalidInput, match="password"):
        store.new("x", "")
    with pytest.raises(NotFound, match="no account named 'ghost'"):
        store.load("ghost", "pw")
    not_keystore = tmp_path / "x.json"
    not_keystore.write_text("{}")
    with pytest.raises(InvalidInput, match="keystore"):
        store.import_keystore("y", not_keystore, "pw")
