"""``RpcChain``: any EVM JSON-RPC node through web3.py, signing with keystore accounts.

Transactions are built here (nonce, gas estimate with a margin, EIP-1559 fees when the node
reports a base fee), signed locally with an unlocked ``LocalAccount`` (a keystore account),
sent raw, and waited for with a timeout. Every failure becomes one line: a revert with its
reason, a wrong chain id, insufficient funds or gas, an unreachable node, a receipt timeout.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import requests
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import (
    ContractLogicError,
    ProviderConnectionError,
    TimeExhausted,
    Web3Exception,
    Web3RPCError,
)
from web3.providers.rpc import HTTPProvider

from datafair.chain.base import Chain, Log, Receipt, Sender, address_of, revert_error
from datafair.core.errors import ChainError

GAS_MARGIN_NUM, GAS_MARGIN_DEN = 6, 5  # send 20 % above the estimate
_REVERT_PREFIX = "execution reverted"
_UNSUPPORTED_OPCODE = ("notactivated", "not activated", "invalid opcode", "opcodenotfound")
"""How nodes report an instruction their EVM version lacks (revm/anvil, geth, Ethermint)."""


def _hex_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            return b""
    return b""


def _revert_data(exc: ContractLogicError) -> bytes | None:
    """Raw revert data carried by web3's exception, if any."""
    data = exc.data
    if isinstance(data, dict):
        data = data.get("data")
    raw = _hex_bytes(data)
    return raw or None


def _reason_text(exc: Exception) -> str:
    message = exc.args[0] if exc.args else str(exc)
    response = getattr(exc, "rpc_response", None)
    if isinstance(response, dict) and isinstance(response.get("error"), dict):
        message = response["error"]  # the node's own error object, not web3's repr of it
    if isinstance(message, dict):
        message = message.get("message", str(message))
    return " ".join(str(message).split())


class RpcChain(Chain):
    """A JSON-RPC node (Pundi AIFX, Ethereum, BNB, Base, anvil, ...) and local signers."""

    def __init__(
        self,
        url: str,
        accounts: Sequence[LocalAccount] = (),
        *,
        expected_chain_id: int | None = None,
        request_timeout: float = 30.0,
        receipt_timeout: float = 120.0,
        poll_interval: float = 0.05,
    ) -> None:
        """Connect to ``url``; refuse a node whose chain id is not ``expected_chain_id``."""
        self.url = url
        self.name = url
        self.receipt_timeout = receipt_timeout
        self.poll_interval = poll_interval
        provider = HTTPProvider(
            url, request_kwargs={"timeout": request_timeout}, exception_retry_configuration=None
        )
        self.w3 = Web3(provider)
        self._signers: dict[str, LocalAccount] = {}
        self._nonces: dict[str, int] = {}
        for account in accounts:
            self.add_signer(account)
        with self._rpc("eth_chainId"):
            self.chain_id = int(self.w3.eth.chain_id)
        if expected_chain_id is not None and self.chain_id != expected_chain_id:
            raise ChainError(
                f"node at {url} is chain id {self.chain_id}, expected {expected_chain_id}; "
                "check --rpc or DATAFAIR_CHAIN_ID"
            )

    def add_signer(self, account: LocalAccount) -> None:
        """Make ``account`` available as a transaction sender."""
        self._signers[address_of(account)] = account

    @contextmanager
    def _rpc(self, what: str) -> Iterator[None]:
        """Translate transport failures into one-line ``ChainError``."""
        try:
            yield
        except ChainError:
            raise
        except (requests.exceptions.RequestException, ProviderConnectionError, OSError) as exc:
            detail = type(exc).__name__
            raise ChainError(f"cannot reach the node at {self.url} ({what}: {detail})") from exc

    def _signer(self, sender: Sender) -> LocalAccount:
        if isinstance(sender, LocalAccount):
            self.add_signer(sender)
            return sender
        address = address_of(sender)
        try:
            return self._signers[address]
        except KeyError:
            raise ChainError(
                f"no unlocked key for {address}; pass --account with its keystore name"
            ) from None

    def _fees(self) -> dict[str, int]:
        block = self.w3.eth.get_block("latest")
        base = block.get("baseFeePerGas")
        if base is None:
            return {"gasPrice": int(self.w3.eth.gas_price)}
        try:
            tip = int(self.w3.eth.max_priority_fee)
        except (Web3Exception, ValueError):
            tip = 10**9
        return {"maxFeePerGas": 2 * int(base) + tip, "maxPriorityFeePerGas": tip}

    def _nonce(self, address: str, *, refresh: bool = False) -> int:
        if refresh or address not in self._nonces:
            self._nonces[address] = int(self.w3.eth.get_transaction_count(address, "pending"))  # type: ignore[arg-type]
        return self._nonces[address]

    def _failure(self, label: str, exc: Exception, address: str) -> ChainError:
        """One line for a failed estimate or send."""
        if isinstance(exc, ContractLogicError):
            data = _revert_data(exc)
            if data:
                return revert_error(label, data)
            text = _reason_text(exc)
            if text.startswith(_REVERT_PREFIX):
                text = text[len(_REVERT_PREFIX) :].lstrip(": ") or "reverted without a reason"
            return ChainError(f"{label} reverted: {text}")
        text = _reason_text(exc)
        lowered = text.lower()
        if "insufficient funds" in lowered:
            balance = self.balance(address)
            return ChainError(
                f"{label}: insufficient funds for gas on {address} (balance {balance} wei)"
            )
        if "intrinsic gas too low" in lowered or "out of gas" in lowered:
            return ChainError(f"{label}: out of gas ({text})")
        if any(marker in lowered for marker in _UNSUPPORTED_OPCODE):
            return ChainError(
                f"{label} failed: the node's EVM lacks an instruction the contract uses ({text}); "
                "deploy contracts compiled for its EVM version, e.g. "
                "'datafair chain deploy --evm-version shanghai'"
            )
        return ChainError(f"{label} failed: {text}")

    # -- raw operations ---------------------------------------------------------------------------

    def _send(self, to: str | None, data: bytes, sender: Sender, label: str) -> Receipt:
        account = self._signer(sender)
        address = account.address
        tx: dict[str, Any] = {"from": address, "data": HexBytes(data), "value": 0}
        if to is not None:
            tx["to"] = address_of(to)
        with self._rpc(label):
            try:
                estimate = int(self.w3.eth.estimate_gas(tx))  # type: ignore[arg-type]
            except (ContractLogicError, Web3RPCError, ValueError) as exc:
                raise self._failure(label, exc, address) from exc
            tx.update(self._fees())
            tx["gas"] = estimate * GAS_MARGIN_NUM // GAS_MARGIN_DEN
            tx["chainId"] = self.chain_id
            for attempt in range(2):
                tx["nonce"] = self._nonce(address, refresh=attempt > 0)
                signed = account.sign_transaction(tx)
                try:
                    tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
                except (Web3RPCError, ValueError) as exc:
                    if "nonce" in _reason_text(exc).lower() and attempt == 0:
                        continue  # another process used the nonce: refresh it and retry once
                    raise self._failure(label, exc, address) from exc
                self._nonces[address] = tx["nonce"] + 1
                break
            try:
                raw = self.w3.eth.wait_for_transaction_receipt(
                    tx_hash, timeout=self.receipt_timeout, poll_latency=self.poll_interval
                )
            except TimeExhausted as exc:
                raise ChainError(
                    f"{label}: transaction 0x{bytes(tx_hash).hex()} was not mined within "
                    f"{self.receipt_timeout:g} s; check the node and gas price"
                ) from exc
            if raw["status"] != 1:
                raise self._replay_failure(label, tx, int(raw["blockNumber"]), address)
        return self._receipt(raw)

    def _replay_failure(
        self, label: str, tx: dict[str, Any], block: int, address: str
    ) -> ChainError:
        """Re-run a failed transaction as a call to recover its revert reason."""
        call = {k: tx[k] for k in ("from", "to", "data", "value") if k in tx}
        try:
            self.w3.eth.call(call, block - 1)  # type: ignore[arg-type]
        except (ContractLogicError, Web3RPCError, ValueError) as exc:
            return self._failure(label, exc, address)
        return ChainError(f"{label} failed on chain (out of gas at {tx['gas']} gas?)")

    @staticmethod
    def _receipt(raw: Any) -> Receipt:
        tx_hash = "0x" + bytes(raw["transactionHash"]).hex()
        logs = tuple(
            Log(
                address_of(entry["address"]),
                tuple(bytes(t) for t in entry["topics"]),
                bytes(entry["data"]),
                int(entry["blockNumber"]),
                tx_hash,
                int(entry["logIndex"]),
            )
            for entry in raw["logs"]
        )
        created = raw.get("contractAddress")
        return Receipt(
            tx_hash,
            int(raw["blockNumber"]),
            int(raw["gasUsed"]),
            logs,
            address_of(created) if created else None,
        )

    def _deploy_raw(self, initcode: bytes, sender: Sender, label: str) -> Receipt:
        return self._send(None, initcode, sender, f"{label}.constructor")

    def _transact_raw(self, to: str, data: bytes, sender: Sender, label: str) -> Receipt:
        return self._send(to, data, sender, label)

    def _call_raw(self, to: str, data: bytes, sender: str | None, label: str) -> bytes:
        call: dict[str, Any] = {"to": address_of(to), "data": HexBytes(data)}
        if sender is not None:
            call["from"] = sender
        with self._rpc(label):
            try:
                return bytes(self.w3.eth.call(call))  # type: ignore[arg-type]
            except (ContractLogicError, Web3RPCError, ValueError) as exc:
                raise self._failure(label, exc, sender or "") from exc

    # -- reads ------------------------------------------------------------------------------------

    def get_logs(
        self,
        address: str | None = None,
        topics: Sequence[bytes | None] = (),
        from_block: int = 0,
        to_block: int | None = None,
    ) -> list[Log]:
        """``eth_getLogs`` for the emitter and topics in a block range."""
        query: dict[str, Any] = {
            "fromBlock": from_block,
            "toBlock": "latest" if to_block is None else to_block,
            "topics": ["0x" + t.hex() if t is not None else None for t in topics],
        }
        if address is not None:
            query["address"] = address_of(address)
        with self._rpc("eth_getLogs"):
            entries = self.w3.eth.get_logs(query)  # type: ignore[arg-type]
        return [
            Log(
                address_of(e["address"]),
                tuple(bytes(t) for t in e["topics"]),
                bytes(e["data"]),
                int(e["blockNumber"]),
                "0x" + bytes(e["transactionHash"]).hex(),
                int(e["logIndex"]),
            )
            for e in entries
        ]

    def balance(self, address: str) -> int:
        """Native balance in wei."""
        with self._rpc("eth_getBalance"):
            return int(self.w3.eth.get_balance(address_of(address)))  # type: ignore[arg-type]

    def code_at(self, address: str) -> bytes:
        """Runtime code at ``address``."""
        with self._rpc("eth_getCode"):
            return bytes(self.w3.eth.get_code(address_of(address)))  # type: ignore[arg-type]

    def block_number(self) -> int:
        """Latest block number."""
        with self._rpc("eth_blockNumber"):
            return int(self.w3.eth.block_number)

    def timestamp(self) -> int:
        """Timestamp of the latest block."""
        with self._rpc("eth_getBlockByNumber"):
            return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance_time(self, seconds: int) -> None:
        """Move a development node's clock (anvil, hardhat) and mine a block."""
        with self._rpc("evm_increaseTime"):
            for method, params in (("evm_increaseTime", [seconds]), ("evm_mine", [])):
                response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
                if response.get("error"):
                    raise ChainError(
                        f"{self.url} cannot move its clock ({method}: {response['error']})"
                    )

    def close(self) -> None:
        """Nothing to release: HTTP sessions are pooled by web3."""
