"""The embedded chain over Ethereum JSON-RPC, at ``POST /rpc``.

So that wallets (MetaMask, the browser's dev wallet), ethers, web3.py and datafair's own
``RpcChain`` work against the demo's chain exactly as against anvil. JSON-RPC 2.0, single
requests and batches. The methods:

* reads: ``eth_chainId``, ``net_version``, ``web3_clientVersion``, ``eth_blockNumber``,
  ``eth_getBalance``, ``eth_getTransactionCount``, ``eth_getCode``, ``eth_call``,
  ``eth_estimateGas``, ``eth_gasPrice``, ``eth_maxPriorityFeePerGas``, ``eth_feeHistory``,
  ``eth_getBlockByNumber``, ``eth_getLogs``, ``eth_getTransactionReceipt``,
  ``eth_getTransactionByHash``, ``eth_accounts`` (none: the node holds no key),
  ``eth_syncing``;
* ``eth_sendRawTransaction``: a signed legacy, EIP-2930 or EIP-1559 transaction is checked
  (chain id, nonce = the sender's count of transactions, no value: the embedded chain has no
  native currency) and applied as a message from its recovered sender. Its hash is
  ``keccak256`` of the raw bytes, as on any node, and its receipt is kept in
  ``chain/rpc.sqlite3`` so a client can poll for it.

The embedded chain charges no gas: gas prices are 0 and every block's base fee is 0; a
transaction's ``gasUsed`` is what it would cost on a real chain. Errors are JSON-RPC errors
(``-32602`` bad params, ``-32601`` unknown method, ``3`` execution reverted with its data, as
geth and anvil answer).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from datafair import __version__
from datafair.api.deps import NodeDep
from datafair.core.errors import ChainError

router = APIRouter(tags=["chain"])
BLOCK_GAS_LIMIT = 30_000_000
ZERO_HASH = "0x" + "00" * 32
_RECEIPTS = """
CREATE TABLE IF NOT EXISTS receipts (
    hash TEXT PRIMARY KEY, body TEXT NOT NULL, tx TEXT NOT NULL
)
"""


class RpcError(Exception):
    """A JSON-RPC error: code, message and optional data."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


def _hex(value: int) -> str:
    return hex(int(value))


def _quantity(value: Any, name: str) -> int:
    if isinstance(value, str) and value.startswith(("0x", "0X")):
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise RpcError(-32602, f"{name}: expected a 0x-hex quantity, got {value!r}")


def _data(value: Any, name: str) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str) and value.startswith(("0x", "0X")):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise RpcError(-32602, f"{name}: expected 0x-hex data, got {value!r}")


def _address(value: Any, name: str) -> str:
    raw = _data(value, name)
    if len(raw) != 20:
        raise RpcError(-32602, f"{name}: expected a 20-byte address, got {value!r}")
    from eth_utils.address import to_checksum_address

    return str(to_checksum_address(raw))


class ChainRpc:
    """The methods, over one embedded chain (used under the server's chain lock)."""

    def __init__(self, chain: Any, chain_dir: Path) -> None:
        self.chain = chain
        chain_dir.mkdir(parents=True, exist_ok=True)
        self.receipts = sqlite3.connect(
            chain_dir / "rpc.sqlite3", check_same_thread=False, isolation_level=None
        )
        self.receipts.execute("PRAGMA journal_mode=WAL")
        self.receipts.execute(_RECEIPTS)
        self.methods: dict[str, Callable[[list[Any]], Any]] = {
            "eth_chainId": lambda p: _hex(self.chain.chain_id),
            "net_version": lambda p: str(self.chain.chain_id),
            "web3_clientVersion": lambda p: f"datafair/{__version__}/embedded",
            "eth_blockNumber": lambda p: _hex(self.chain.block_number()),
            "eth_getBalance": lambda p: _hex(self.chain.balance(_address(p[0], "address"))),
            "eth_getTransactionCount": lambda p: _hex(
                self.chain.sent_by(_address(p[0], "address"))
            ),
            "eth_getCode": lambda p: "0x" + self.chain.code_at(_address(p[0], "address")).hex(),
            "eth_call": self.call,
            "eth_estimateGas": self.estimate_gas,
            "eth_gasPrice": lambda p: "0x0",
            "eth_maxPriorityFeePerGas": lambda p: "0x0",
            "eth_feeHistory": self.fee_history,
            "eth_getBlockByNumber": self.block_by_number,
            "eth_getLogs": self.get_logs,
            "eth_sendRawTransaction": self.send_raw_transaction,
            "eth_getTransactionReceipt": lambda p: self._stored(p, "body"),
            "eth_getTransactionByHash": lambda p: self._stored(p, "tx"),
            "eth_accounts": lambda p: [],
            "eth_syncing": lambda p: False,
            # development methods, as anvil and hardhat answer them
            "evm_increaseTime": self.increase_time,
            "evm_mine": lambda p: self.increase_time([0]) and "0x0",
        }

    def close(self) -> None:
        self.receipts.close()

    # ------------------------------------------------------------------------- dispatch

    def handle(self, request: Any) -> dict[str, Any] | None:
        """Answer one JSON-RPC request object (``None`` for a notification)."""
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
            return _error(None, -32600, "invalid request: expected a JSON-RPC 2.0 object")
        ident = request.get("id")
        method = request.get("method")
        params = request.get("params", [])
        if not isinstance(params, list):
            return _error(ident, -32602, "params: expected a list")
        handler = self.methods.get(method) if isinstance(method, str) else None
        if handler is None:
            return _error(ident, -32601, f"method {method!r} is not supported")
        try:
            result = handler(params)
        except RpcError as error:
            return _error(ident, error.code, str(error), error.data)
        except ChainError as error:
            data = getattr(error, "revert_data", None)
            if data:
                return _error(ident, 3, "execution reverted", "0x" + bytes(data).hex())
            return _error(ident, -32000, str(error))
        except (IndexError, TypeError):
            return _error(ident, -32602, f"{method}: missing or mistyped params")
        if "id" not in request:
            return None
        return {"jsonrpc": "2.0", "id": ident, "result": result}

    # ------------------------------------------------------------------------- calls

    def _message(self, params: list[Any]) -> tuple[str | None, bytes, str | None]:
        call = params[0]
        if not isinstance(call, dict):
            raise RpcError(-32602, "transaction: expected an object")
        to = None if call.get("to") in (None, "0x", "") else _address(call["to"], "to")
        data = _data(call.get("data", call.get("input")), "data")
        sender = None if call.get("from") is None else _address(call["from"], "from")
        if call.get("value") not in (None, "0x0", "0x", "0x00") and _quantity(
            call["value"], "value"
        ):
            raise RpcError(-32602, "value: the embedded chain has no native currency to send")
        return to, data, sender

    def call(self, params: list[Any]) -> str:
        to, data, sender = self._message(params)
        if to is None:
            raise RpcError(-32602, "to: eth_call needs a target address")
        _, output = self.chain.simulate(to, data, sender)
        return "0x" + bytes(output).hex()

    def estimate_gas(self, params: list[Any]) -> str:
        to, data, sender = self._message(params)
        gas, _ = self.chain.simulate(to, data, sender)
        return _hex(gas)

    def increase_time(self, params: list[Any]) -> str:
        seconds = params[0] if isinstance(params[0], int) else _quantity(params[0], "seconds")
        if seconds < 0:
            raise RpcError(-32602, "seconds: the clock only moves forward")
        self.chain.advance_time(seconds)
        return _hex(seconds)

    def fee_history(self, params: list[Any]) -> dict[str, Any]:
        wanted = params[0]
        wanted = wanted if isinstance(wanted, int) else _quantity(wanted, "blockCount")
        count = max(1, min(wanted, 1024))
        newest = self.chain.block_number()
        return {
            "oldestBlock": _hex(max(newest - count + 1, 0)),
            "baseFeePerGas": ["0x0"] * (count + 1),
            "gasUsedRatio": [0.0] * count,
            "reward": [["0x0"] * len(params[2] if len(params) > 2 else []) for _ in range(count)],
        }

    def block_by_number(self, params: list[Any]) -> dict[str, Any] | None:
        latest = self.chain.block_number()
        tag = params[0] if params else "latest"
        number = (
            latest
            if tag in ("latest", "pending", "safe", "finalized")
            else (0 if tag == "earliest" else _quantity(tag, "block"))
        )
        if number > latest:
            return None
        timestamp = self.chain.timestamp() if number == latest else 0
        return {
            "number": _hex(number),
            "hash": _block_hash(number),
            "parentHash": ZERO_HASH if number == 0 else _block_hash(number - 1),
            "timestamp": _hex(timestamp),
            "gasLimit": _hex(BLOCK_GAS_LIMIT),
            "gasUsed": "0x0",
            "baseFeePerGas": "0x0",
            "miner": "0x" + "00" * 20,
            "difficulty": "0x0",
            "totalDifficulty": "0x0",
            "extraData": "0x",
            "nonce": "0x0000000000000000",
            "sha3Uncles": ZERO_HASH,
            "logsBloom": "0x" + "00" * 256,
            "transactionsRoot": ZERO_HASH,
            "stateRoot": ZERO_HASH,
            "receiptsRoot": ZERO_HASH,
            "mixHash": ZERO_HASH,
            "size": "0x0",
            "uncles": [],
            "transactions": [],
        }

    def get_logs(self, params: list[Any]) -> list[dict[str, Any]]:
        query = params[0] if params else {}
        if not isinstance(query, dict):
            raise RpcError(-32602, "filter: expected an object")
        latest = self.chain.block_number()

        def block(value: Any, default: int) -> int:
            if value in (None, "latest", "pending", "safe", "finalized"):
                return default if value is None else latest
            if value == "earliest":
                return 0
            return _quantity(value, "block")

        addresses = query.get("address")
        if addresses is None or isinstance(addresses, str):
            addresses = [addresses]
        topics = []
        for topic in (query.get("topics") or [])[:4]:
            if isinstance(topic, list):
                raise RpcError(-32602, "topics: alternatives (lists) are not supported")
            topics.append(None if topic is None else _data(topic, "topic"))
        start, end = block(query.get("fromBlock"), latest), block(query.get("toBlock"), latest)
        found = []
        for address in addresses:
            emitter = None if address is None else _address(address, "address")
            found.extend(self.chain.get_logs(emitter, topics, start, end))
        found.sort(key=lambda log: (log.block_number, log.log_index))
        return [_log(log, log.tx_hash) for log in found]

    # ------------------------------------------------------------------------- transactions

    def send_raw_transaction(self, params: list[Any]) -> str:
        from eth_account import Account
        from eth_utils.crypto import keccak

        raw = _data(params[0], "transaction")
        tx_hash = "0x" + keccak(raw).hex()
        if self._stored([tx_hash], "body") is not None:
            return tx_hash  # the same signed transaction again: already applied
        try:
            sender = Account.recover_transaction(raw)
        except Exception:  # eth-account raises several types for bytes it cannot decode
            raise RpcError(-32602, "transaction: not a signed transaction") from None
        fields = _decode(raw)
        chain_id = fields.get("chainId")
        if chain_id is not None and chain_id != self.chain.chain_id:
            raise RpcError(-32000, f"chain id {chain_id} is not this chain's {self.chain.chain_id}")
        expected = self.chain.sent_by(sender)
        if fields["nonce"] != expected:
            raise RpcError(-32000, f"nonce {fields['nonce']} is not the sender's next, {expected}")
        if fields.get("value"):
            raise RpcError(-32000, "value: the embedded chain has no native currency to send")
        to = None if not fields.get("to") else _address("0x" + bytes(fields["to"]).hex(), "to")
        receipt = self.chain.send_message(to, bytes(fields.get("data", b"")), sender)
        body = {
            "transactionHash": tx_hash,
            "transactionIndex": "0x0",
            "blockNumber": _hex(receipt.block_number),
            "blockHash": _block_hash(receipt.block_number),
            "from": sender,
            "to": to,
            "cumulativeGasUsed": _hex(receipt.gas_used),
            "gasUsed": _hex(receipt.gas_used),
            "effectiveGasPrice": "0x0",
            "contractAddress": receipt.contract_address,
            "logs": [_log(log, tx_hash) for log in receipt.logs],
            "logsBloom": "0x" + "00" * 256,
            "status": "0x1",
            "type": _hex(fields.get("type", 0)),
        }
        tx = {
            "hash": tx_hash,
            "from": sender,
            "to": to,
            "nonce": _hex(fields["nonce"]),
            "input": "0x" + bytes(fields.get("data", b"")).hex(),
            "value": "0x0",
            "gas": _hex(fields.get("gas", 0)),
            "gasPrice": "0x0",
            "blockNumber": body["blockNumber"],
            "blockHash": body["blockHash"],
            "transactionIndex": "0x0",
            "chainId": _hex(self.chain.chain_id),
            "type": body["type"],
        }
        self.receipts.execute(
            "INSERT OR IGNORE INTO receipts VALUES (?, ?, ?)",
            (tx_hash, json.dumps(body), json.dumps(tx)),
        )
        return tx_hash

    def _stored(self, params: list[Any], column: str) -> Any:
        tx_hash = str(params[0]).lower()
        row = self.receipts.execute(
            f"SELECT {column} FROM receipts WHERE hash = ?",
            (tx_hash,),
        ).fetchone()
        return None if row is None else json.loads(row[0])


def _decode(raw: bytes) -> dict[str, Any]:
    """Nonce, recipient, value, data, gas, chain id and type of a signed transaction."""
    import rlp

    if raw and raw[0] <= 0x7F:  # EIP-2718 typed transaction
        from eth_account.typed_transactions.typed_transaction import TypedTransaction
        from hexbytes import HexBytes

        typed = TypedTransaction.from_bytes(HexBytes(raw))
        fields = dict(typed.as_dict())
        fields["type"] = raw[0]
        return {
            "nonce": int(fields["nonce"]),
            "to": fields.get("to") or b"",
            "value": int(fields.get("value", 0)),
            "data": bytes(fields.get("data", b"")),
            "gas": int(fields.get("gas", 0)),
            "chainId": int(fields["chainId"]),
            "type": raw[0],
        }
    nonce, _, gas, to, value, data, v, _, _ = rlp.decode(raw)
    v = int.from_bytes(v, "big")
    return {
        "nonce": int.from_bytes(nonce, "big"),
        "to": to,
        "value": int.from_bytes(value, "big"),
        "data": data,
        "gas": int.from_bytes(gas, "big"),
        "chainId": (v - 35) // 2 if v >= 35 else None,  # EIP-155
        "type": 0,
    }


def _log(log: Any, tx_hash: str) -> dict[str, Any]:
    return {
        "address": log.address,
        "topics": ["0x" + topic.hex() for topic in log.topics],
        "data": "0x" + log.data.hex(),
        "blockNumber": _hex(log.block_number),
        "blockHash": _block_hash(log.block_number),
        "transactionHash": tx_hash,
        "transactionIndex": "0x0",
        "logIndex": _hex(log.log_index),
        "removed": False,
    }


def _block_hash(number: int) -> str:
    """A stable stand-in hash of block ``number`` (the embedded chain keeps no block headers)."""
    from eth_utils.crypto import keccak

    return "0x" + keccak(b"datafair block" + number.to_bytes(8, "big")).hex()


def _error(ident: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": ident, "error": error}


_lock = threading.Lock()


def chain_rpc(node: Any) -> ChainRpc:
    """The worker's JSON-RPC front of its embedded chain (made on first use)."""
    with _lock:
        front: ChainRpc | None = getattr(node, "_rpc_front", None)
        if front is None:
            if node.settings.rpc_url is not None:
                raise RpcError(-32601, "this server uses a remote chain: send JSON-RPC to it")
            front = ChainRpc(node.chain, node.settings.chain_dir)
            setattr(node, "_rpc_front", front)  # noqa: B010 - one per worker's context
        return front


@router.post(
    "/rpc",
    summary="The embedded chain over Ethereum JSON-RPC (single requests and batches)",
    response_class=JSONResponse,
)
async def rpc(request: Request, node: NodeDep) -> JSONResponse:
    from starlette.concurrency import run_in_threadpool

    try:
        payload = json.loads(await request.body())
    except ValueError:
        return JSONResponse(_error(None, -32700, "parse error: the body is not JSON"))

    def answer() -> Any:
        try:
            front = chain_rpc(node)
        except RpcError as error:
            return _error(None, error.code, str(error))
        with node.chain_lock:
            if isinstance(payload, list):
                if not payload:
                    return _error(None, -32600, "invalid request: empty batch")
                answers = [front.handle(item) for item in payload[:1000]]
                return [a for a in answers if a is not None]
            return front.handle(payload)

    result = await run_in_threadpool(answer)
    return JSONResponse(result if result is not None else {})
