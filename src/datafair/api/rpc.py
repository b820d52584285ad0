"""The embedded chain over Ethereum JSON-RPC, at ``POST /rpc``.

Wallets and libraries (MetaMask, ethers, web3.py, datafair's own ``RpcChain``) talk to the
demo's in-process chain as to any node. Methods: ``eth_chainId``, ``net_version``,
``web3_clientVersion``, ``eth_blockNumber``, ``eth_getBalance``, ``eth_getTransactionCount``,
``eth_getCode``, ``eth_call``, ``eth_estimateGas``, ``eth_gasPrice``,
``eth_maxPriorityFeePerGas``, ``eth_feeHistory``, ``eth_getBlockByNumber``,
``eth_sendRawTransaction``, ``eth_getTransactionReceipt``, ``eth_getTransactionByHash``,
``eth_getLogs``, ``eth_accounts``, ``eth_syncing``, and anvil's ``evm_increaseTime`` /
``evm_mine`` (the embedded chain's clock, as tests move anvil's).

The embedded chain charges no gas: gas prices and base fees are 0, so a wallet with no native
balance can send. A raw transaction is decoded and its sender recovered with eth-account; its
chain id must be the chain's and its nonce the sender's count of sent transactions. One
transaction is one block. Receipts of transactions sent over RPC are kept by the worker that
executed them (use one worker for the embedded chain, as ``datafair serve`` does on SQLite).
Errors follow JSON-RPC 2.0; a revert is code 3 with the ABI-encoded reason as ``data``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from datafair.api.context import ServerContext
from datafair.core.errors import ChainError, DatafairError

router = APIRouter(tags=["chain"])
ZERO32 = "0x" + "00" * 32
ERROR_SELECTOR = bytes.fromhex("08c379a0")
ESTIMATE_CALL = 3_000_000
ESTIMATE_CREATE = 12_000_000


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def _hex(value: int) -> str:
    return hex(value)


def _bytes(text: Any, what: str) -> bytes:
    if not isinstance(text, str) or not text.startswith("0x"):
        raise RpcError(-32602, f"{what}: expected 0x-hex")
    try:
        return bytes.fromhex(text[2:])
    except ValueError:
        raise RpcError(-32602, f"{what}: expected 0x-hex") from None


def _revert(error: ChainError) -> RpcError:
    from eth_abi.abi import encode

    text = str(error)
    reason = text.split(" reverted: ", 1)[1] if " reverted: " in text else text
    data = "0x" + (ERROR_SELECTOR + encode(["string"], [reason])).hex()
    return RpcError(3, f"execution reverted: {reason}", data)


class RpcService:
    """The methods, over one worker's node (every call runs on its chain thread)."""

    def __init__(self, node: ServerContext) -> None:
        self.node = node
        self.receipts: dict[str, dict[str, Any]] = {}
        self.transactions: dict[str, dict[str, Any]] = {}

    @property
    def chain(self) -> Any:
        return self.node.chain

    def call(self, method: str, params: list[Any]) -> Any:
        handler = getattr(self, "m_" + method, None)
        if handler is None:
            raise RpcError(-32601, f"method {method} is not supported")
        return self.node.run_on_chain(lambda: handler(*params))

    # -- identity and fees
    def m_eth_chainId(self) -> str:
        return _hex(self.chain.chain_id)

    def m_net_version(self) -> str:
        return str(self.chain.chain_id)

    def m_web3_clientVersion(self) -> str:
        return "datafair-embedded/1"

    def m_eth_syncing(self) -> bool:
        return False

    def m_eth_accounts(self) -> list[str]:
        return []

    def m_eth_gasPrice(self) -> str:
        return "0x0"

    def m_eth_maxPriorityFeePerGas(self) -> str:
        return "0x0"

    def m_eth_feeHistory(self, count: Any, newest: Any = "latest", *_: Any) -> dict[str, Any]:
        blocks = max(1, int(count, 16) if isinstance(count, str) else int(count))
        latest = self.chain.block_number()
        return {
            "oldestBlock": _hex(max(0, latest - blocks + 1)),
            "baseFeePerGas": ["0x0"] * (blocks + 1),
            "gasUsedRatio": [0.0] * blocks,
            "reward": [["0x0"] for _ in range(blocks)],
        }

    # -- state
    def m_eth_blockNumber(self) -> str:
        return _hex(self.chain.block_number())

    def m_eth_getBalance(self, address: str, *_: Any) -> str:
        return _hex(self.chain.balance(address))

    def m_eth_getCode(self, address: str, *_: Any) -> str:
        return "0x" + bytes(self.chain.code_at(address)).hex()

    def m_eth_getTransactionCount(self, address: str, *_: Any) -> str:
        return _hex(self.chain.sent_by(address))

    def m_eth_getBlockByNumber(self, tag: Any = "latest", full: bool = False) -> dict[str, Any]:
        latest = self.chain.block_number()
        number = (
            latest
            if tag in ("latest", "pending", "safe", "finalized")
            else (0 if tag == "earliest" else int(tag, 16))
        )
        from eth_utils.crypto import keccak

        return {
            "number": _hex(number),
            "hash": "0x" + keccak(b"datafair block" + number.to_bytes(8, "big")).hex(),
            "parentHash": "0x"
            + keccak(b"datafair block" + max(0, number - 1).to_bytes(8, "big")).hex(),
            "timestamp": _hex(self.chain.timestamp()),
            "gasLimit": _hex(30_000_000),
            "gasUsed": "0x0",
            "baseFeePerGas": "0x0",
            "miner": "0x" + "00" * 20,
            "difficulty": "0x0",
            "extraData": "0x",
            "nonce": "0x0000000000000000",
            "logsBloom": "0x" + "00" * 256,
            "sha3Uncles": ZERO32,
            "stateRoot": ZERO32,
            "transactionsRoot": ZERO32,
            "receiptsRoot": ZERO32,
            "mixHash": ZERO32,
            "size": "0x0",
            "totalDifficulty": "0x0",
            "transactions": [],
            "uncles": [],
        }

    def m_eth_call(self, call: dict[str, Any], *_: Any) -> str:
        if not call.get("to"):
            raise RpcError(-32602, "eth_call: 'to' is required")
        data = _bytes(call.get("data") or call.get("input") or "0x", "data")
        try:
            output = self.chain._call_raw(call["to"], data, call.get("from"), "eth_call")
        except ChainError as error:
            raise _revert(error) from None
        return "0x" + bytes(output).hex()

    def m_eth_estimateGas(self, call: dict[str, Any], *_: Any) -> str:
        if not call.get("to"):
            return _hex(ESTIMATE_CREATE)
        data = _bytes(call.get("data") or call.get("input") or "0x", "data")
        try:  # the transaction runs and is thrown away: a revert is reported now, as a node does
            self.chain.simulate(call["to"], data, call.get("from"), "eth_estimateGas")
        except ChainError as error:
            raise _revert(error) from None
        return _hex(ESTIMATE_CALL)

    # -- transactions
    def m_eth_sendRawTransaction(self, raw_hex: str) -> str:
        from eth_account import Account
        from eth_utils.crypto import keccak

        raw = _bytes(raw_hex, "transaction")
        try:
            sender = Account.recover_transaction(raw)
            fields = _decode(raw)
        except Exception as error:  # a malformed or unsigned transaction
            raise RpcError(-32602, f"transaction: cannot decode ({error})") from None
        chain_id = fields.get("chainId")
        if chain_id is not None and int(chain_id) != self.chain.chain_id:
            raise RpcError(
                -32000, f"invalid chain id {chain_id}, this chain is {self.chain.chain_id}"
            )
        expected = self.chain.sent_by(sender)
        if int(fields["nonce"]) != expected:
            raise RpcError(
                -32000, f"nonce too low or too high: got {fields['nonce']}, expected {expected}"
            )
        to = fields.get("to") or None
        to_text = (
            ("0x" + bytes(to).hex()) if isinstance(to, bytes | bytearray) and to else (to or None)
        )
        data = bytes(fields.get("data") or b"")
        tx_hash = "0x" + keccak(raw).hex()
        try:
            if to_text:
                receipt = self.chain._transact_raw(to_text, data, sender, "eth_sendRawTransaction")
            else:
                receipt = self.chain._deploy_raw(data, sender, "eth_sendRawTransaction")
        except ChainError as error:
            raise _revert(error) from None
        self.receipts[tx_hash] = _receipt_json(receipt, tx_hash, sender, to_text)
        self.transactions[tx_hash] = {
            "hash": tx_hash,
            "from": sender,
            "to": to_text,
            "input": "0x" + data.hex(),
            "nonce": _hex(int(fields["nonce"])),
            "value": _hex(int(fields.get("value") or 0)),
            "gas": _hex(int(fields.get("gas") or 0)),
            "gasPrice": "0x0",
            "blockNumber": _hex(receipt.block_number),
            "blockHash": self.receipts[tx_hash]["blockHash"],
            "transactionIndex": "0x0",
            "chainId": _hex(self.chain.chain_id),
            "type": "0x0",
        }
        return tx_hash

    def m_eth_getTransactionReceipt(self, tx_hash: str) -> dict[str, Any] | None:
        return self.receipts.get(tx_hash.lower())

    def m_eth_getTransactionByHash(self, tx_hash: str) -> dict[str, Any] | None:
        return self.transactions.get(tx_hash.lower())

    def m_eth_getLogs(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        def block(tag: Any, default: int | None) -> int | None:
            if tag in (None, "latest", "pending", "safe", "finalized"):
                return default
            return 0 if tag == "earliest" else int(tag, 16)

        topics = [None if t is None else _bytes(t, "topic") for t in query.get("topics") or []]
        logs = self.chain.get_logs(
            query.get("address"),
            topics,
            block(query.get("fromBlock"), 0) or 0,
            block(query.get("toBlock"), None),
        )
        return [_log_json(log, log.tx_hash) for log in logs]

    # -- dev node (anvil's names)
    def m_evm_increaseTime(self, seconds: Any) -> str:
        value = int(seconds, 16) if isinstance(seconds, str) else int(seconds)
        self.chain.advance_time(value)
        return _hex(value)

    def m_evm_mine(self, *_: Any) -> str:
        return "0x0"


def _decode(raw: bytes) -> dict[str, Any]:
    if raw[0] < 0x80:
        from eth_account.typed_transactions import TypedTransaction  # type: ignore[attr-defined]
        from hexbytes import HexBytes

        return dict(TypedTransaction.from_bytes(HexBytes(raw)).as_dict())
    from eth_account._utils.legacy_transactions import Transaction

    legacy = Transaction.from_bytes(raw)
    fields = legacy.as_dict()
    v = int(fields["v"])
    fields["chainId"] = (v - 35) // 2 if v >= 35 else None
    return dict(fields)


def _block_hash(number: int) -> str:
    from eth_utils.crypto import keccak

    return "0x" + keccak(b"datafair block" + number.to_bytes(8, "big")).hex()


def _log_json(log: Any, tx_hash: str) -> dict[str, Any]:
    return {
        "address": log.address,
        "topics": ["0x" + bytes(t).hex() for t in log.topics],
        "data": "0x" + bytes(log.data).hex(),
        "blockNumber": _hex(log.block_number),
        "blockHash": _block_hash(log.block_number),
        "transactionHash": tx_hash,
        "transactionIndex": "0x0",
        "logIndex": _hex(log.log_index),
        "removed": False,
    }


def _receipt_json(receipt: Any, tx_hash: str, sender: str, to: str | None) -> dict[str, Any]:
    return {
        "transactionHash": tx_hash,
        "transactionIndex": "0x0",
        "blockNumber": _hex(receipt.block_number),
        "blockHash": _block_hash(receipt.block_number),
        "from": sender,
        "to": to,
        "contractAddress": receipt.contract_address,
        "gasUsed": _hex(receipt.gas_used),
        "cumulativeGasUsed": _hex(receipt.gas_used),
        "effectiveGasPrice": "0x0",
        "status": "0x1",
        "type": "0x2",
        "logs": [_log_json(log, tx_hash) for log in receipt.logs],
        "logsBloom": "0x" + "00" * 256,
    }


def _service(request: Request) -> RpcService:
    state = request.app.state
    service: RpcService | None = getattr(state, "rpc_service", None)
    if service is None or service.node is not state.node:
        service = RpcService(state.node)
        state.rpc_service = service
    return service


def _answer(service: RpcService, message: Any) -> dict[str, Any]:
    ident = message.get("id") if isinstance(message, dict) else None
    try:
        if not isinstance(message, dict) or not isinstance(message.get("method"), str):
            raise RpcError(-32600, "invalid request")
        params = message.get("params") or []
        if not isinstance(params, list):
            raise RpcError(-32602, "params must be a list")
        result = service.call(message["method"], params)
        return {"jsonrpc": "2.0", "id": ident, "result": result}
    except RpcError as error:
        body: dict[str, Any] = {"code": error.code, "message": error.message}
        if error.data is not None:
            body["data"] = error.data
        return {"jsonrpc": "2.0", "id": ident, "error": body}
    except (DatafairError, TypeError, ValueError, KeyError) as error:
        return {"jsonrpc": "2.0", "id": ident, "error": {"code": -32602, "message": str(error)}}


@router.post(
    "/rpc",
    summary="The embedded chain over Ethereum JSON-RPC (eth_* methods, for wallets and web3)",
    response_model=None,
)
async def rpc(request: Request) -> JSONResponse:
    from starlette.concurrency import run_in_threadpool

    try:
        message = await request.json()
    except ValueError:
        return JSONResponse(
            {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
        )
    service = _service(request)
    if isinstance(message, list):
        answers = [await run_in_threadpool(_answer, service, item) for item in message]
        return JSONResponse(answers)
    return JSONResponse(await run_in_threadpool(_answer, service, message))
