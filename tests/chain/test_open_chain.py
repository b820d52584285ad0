"""open_chain picks the embedded chain from settings, or a node with a keystore signer."""

from __future__ import annotations

from pathlib import Path

import pytest

from datafair.chain import open_chain
from datafair.chain.embedded import EmbeddedChain
from datafair.core.errors import ChainError, InvalidInput
from datafair.settings import load_settings
from datafair.store.keystore import KeyStore

from ._anvil import free_port


def test_embedded_chain_lives_in_the_chain_dir(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, chain_id=530)
    with open_chain(settings) as chain:
        assert isinstance(chain, EmbeddedChain) and chain.chain_id == 530
        assert chain.path == settings.chain_dir


def test_rpc_needs_the_password_of_the_account(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    KeyStore(settings.keys_dir).new("ops", "secret")
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(InvalidInput, match="password: is needed to unlock account 'ops'"):
        open_chain(settings, url, "ops")
    with pytest.raises(InvalidInput, match="wrong keystore password"):
        open_chain(settings, url, "ops", "wrong")
    with pytest.raises(ChainError, match="cannot reach the node"):
        open_chain(settings, url, "ops", "secret")
