"""Contract wallets (EIP-1271): ask the wallet's contract whether a signature is its own."""

from __future__ import annotations

from collections.abc import Callable

from datafair.api.context import ServerContext

# bytes4(keccak256("isValidSignature(bytes32,bytes)"))
EIP1271_MAGIC = bytes.fromhex("1626ba7e")


def eip1271_check(node: ServerContext) -> Callable[[str, bytes, bytes], bool]:
    """A checker calling ``isValidSignature(digest, signature)`` on the address's contract."""

    def check(address: str, digest: bytes, signature: bytes) -> bool:
        from eth_abi.abi import encode

        from datafair.core.errors import ChainError

        data = EIP1271_MAGIC + encode(["bytes32", "bytes"], [digest, signature])

        def ask() -> bytes:
            chain = node.chain
            if not chain.code_at(address):
                return b""
            try:
                return chain._call_raw(address, data, None, "isValidSignature")
            except ChainError:
                return b""

        return node.run_on_chain(ask)[:4] == EIP1271_MAGIC

    return check
