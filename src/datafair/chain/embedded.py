"""``EmbeddedChain``: titanoboa's in-process py-evm, its state persisted in the data directory.

py-evm keeps the world state as a Merkle-Patricia trie in a key-value store under its
``AccountDB``. Here that store is an SQLite table (``chain/state.sqlite3``): every transaction
runs inside one SQLite write transaction that appends the new trie nodes, the new head (state
root, block number, timestamp) and the transaction's logs, then commits. So:

* separate ``datafair`` processes see the same chain (each write first reloads a newer head,
  SQLite serialises writers);
* a process killed mid-write leaves the last committed state intact (SQLite rolls the open
  transaction back);
* start-up reads one row and does not replay anything, so it does not grow with history.

``batch()`` groups many transactions in one commit (for bulk loads and benchmarks). With
``path=None`` the same code runs on an in-memory database (tests).

Every transaction is mined in its own block. There is no signature check and no gas price: any
address can send, which is what a local development chain is for.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boa
from boa.util.abi import Address
from eth.abc import AtomicWriteBatchAPI
from eth.constants import BLANK_ROOT_HASH
from eth.db.backends.base import BaseAtomicDB
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from datafair.chain.base import Chain, Log, Receipt, Sender, address_of, revert_error
from datafair.chain.gas import transaction_gas
from datafair.core.errors import ChainError

STATE_FILE = "state.sqlite3"
BLOCK_GAS_LIMIT = 30_000_000
_NODE_CACHE_LIMIT = 500_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS logs (
    block INTEGER NOT NULL, log_index INTEGER NOT NULL, tx_hash TEXT NOT NULL,
    address TEXT NOT NULL, topic0 BLOB, topic1 BLOB, topic2 BLOB, topic3 BLOB, data BLOB NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX IF NOT EXISTS logs_by_topic ON logs (address, topic0, block);
"""


@dataclass(frozen=True)
class Head:
    """The committed tip: state root, latest block, its time, and the dev clock offset."""

    root: bytes
    block: int
    timestamp: int
    time_offset: int
    chain_id: int
    tx_count: int

    def to_json(self) -> str:
        data = {**self.__dict__, "root": self.root.hex()}
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Head:
        data = json.loads(text)
        return cls(**{**data, "root": bytes.fromhex(data["root"])})


class SqliteKV(BaseAtomicDB):
    """py-evm key-value store over an SQLite table; writes stay pending until :meth:`flush`.

    Keys are hashes of their values (trie nodes, code), so cached reads never go stale.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._pending: dict[bytes, bytes] = {}
        self._cache: dict[bytes, bytes] = {}

    def __getitem__(self, key: bytes) -> bytes:
        value = self._pending.get(key)
        if value is None:
            value = self._cache.get(key)
        if value is None:
            row = self._conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
            if row is None:
                raise KeyError(key)
            value = bytes(row[0])
            if len(self._cache) >= _NODE_CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = value
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._pending[key] = value

    def __delitem__(self, key: bytes) -> None:
        # Trie nodes are content-addressed and shared by old roots: never delete them.
        self._pending.pop(key, None)

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    @contextmanager
    def atomic_batch(self) -> Iterator[AtomicWriteBatchAPI]:
        # Atomicity comes from the SQLite transaction that ``flush`` runs in.
        yield self  # type: ignore[misc]

    def flush(self) -> None:
        """Write pending entries inside the caller's open SQLite transaction."""
        if self._pending:
            self._conn.executemany(
                "INSERT OR IGNORE INTO kv (k, v) VALUES (?, ?)", self._pending.items()
            )
            self._cache.update(self._pending)
            self._pending.clear()

    def discard(self) -> None:
        """Drop pending entries (after a rollback)."""
        self._pending.clear()


class EmbeddedChain(Chain):
    """An in-process EVM (titanoboa / py-evm) whose state lives in ``path/state.sqlite3``."""

    def __init__(self, path: Path | None = None, chain_id: int = 31337) -> None:
        """Open (or create) the chain stored in directory ``path``; ``None`` keeps it in memory."""
        self.name = "embedded"
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
            target = str(self.path / STATE_FILE)
        else:
            target = ":memory:"
        try:
            self._conn = sqlite3.connect(target, timeout=60, isolation_level=None)
            if self.path is not None:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise ChainError(f"cannot open the embedded chain at {target}: {exc}") from exc
        self._kv = SqliteKV(self._conn)
        self._env = boa.Env()
        self._evm = self._env.evm
        self._unwrap_tracers()
        self._batch_depth = 0
        head = self._read_head()
        if head is None:
            head = Head(BLANK_ROOT_HASH, 0, int(time.time()), 0, chain_id, 0)
            self._conn.execute("BEGIN IMMEDIATE")
            self._write_head(head)
            self._conn.execute("COMMIT")
        self.chain_id = head.chain_id
        self._evm.patch.chain_id = head.chain_id
        self._head = head
        self._load_state(head.root)

    # -- state plumbing ---------------------------------------------------------------------------

    def _unwrap_tracers(self) -> None:
        """Remove titanoboa's SHA3/SSTORE tracers: they keep every preimage forever."""
        computation = self._evm.vm.state.computation_class
        opcodes = dict(computation.opcodes)
        for code, attr in ((0x20, "sha3"), (0x55, "sstore")):
            opcodes[code] = getattr(opcodes[code], attr, opcodes[code])
        computation.opcodes = opcodes

    @property
    def _state(self) -> Any:
        return self._evm.vm.state

    def _load_state(self, root: bytes) -> None:
        state = self._state
        state._account_db = state.get_account_db_class()(self._kv, root)

    def _read_head(self) -> Head | None:
        row = self._conn.execute("SELECT v FROM meta WHERE k = 'head'").fetchone()
        return Head.from_json(row[0]) if row else None

    def _write_head(self, head: Head) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO meta (k, v) VALUES ('head', ?)", (head.to_json(),)
        )

    def _sync(self) -> None:
        """Adopt a head committed by another process (or by a rollback)."""
        head = self._read_head()
        if head is not None and head != self._head:
            self._head = head
            self._load_state(head.root)

    @property
    def state_root(self) -> bytes:
        """Root of the committed world state."""
        self._sync()
        return self._head.root

    def _next_block(self) -> Head:
        head = self._head
        now = max(head.timestamp + 1, int(time.time()) + head.time_offset)
        return replace(head, block=head.block + 1, timestamp=now)

    def _set_context(self, head: Head) -> None:
        self._evm.patch.block_number = head.block
        self._evm.patch.timestamp = head.timestamp

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One SQLite write transaction (or the enclosing batch's)."""
        if self._batch_depth:
            yield
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise ChainError(f"embedded chain is busy or unwritable: {exc}") from exc
        try:
            self._sync()
            yield
            self._commit()
        except BaseException:
            self._rollback()
            raise

    def _commit(self) -> None:
        self._state.persist()
        root = self._state.state_root
        self._head = replace(self._head, root=root)
        self._kv.flush()
        self._write_head(self._head)
        self._conn.execute("COMMIT")

    def _rollback(self) -> None:
        with suppress(sqlite3.Error):
            self._conn.execute("ROLLBACK")
        self._kv.discard()
        head = self._read_head()
        assert head is not None
        self._head = head
        self._load_state(head.root)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Run many transactions in one commit: all of them persist, or none."""
        if self._batch_depth:
            self._batch_depth += 1
            try:
                yield
            finally:
                self._batch_depth -= 1
            return
        with self._writing():
            self._batch_depth = 1
            try:
                yield
            finally:
                self._batch_depth = 0

    # -- execution --------------------------------------------------------------------------------

    def _run(self, to: str | None, data: bytes, sender: str, label: str) -> Receipt:
        with self._writing():
            head = self._next_block()
            self._set_context(head)
            state = self._state
            self._evm.reset_access_counters()
            state.clear_transient_storage()
            snapshot = state.snapshot()
            origin = Address(sender)
            created: str | None = None
            if to is None:
                target = self._evm.generate_create_address(origin)
                created = to_checksum_address(target.canonical_address)
                computation = self._evm.deploy_code(
                    origin, origin, target, BLOCK_GAS_LIMIT, 0, 0, data
                )
            else:
                code = self._evm.get_code(Address(to))
                if not code:
                    state.revert(snapshot)
                    raise ChainError(f"{label}: no contract at {to} on the embedded chain")
                computation = self._evm.execute_code(
                    origin,
                    Address(to),
                    BLOCK_GAS_LIMIT,
                    0,
                    0,
                    code,
                    data,
                    False,
                    None,
                    0,
                    None,
                    None,
                )
            if computation.is_error:
                state.revert(snapshot)
                raise self._error(label, computation)
            state.commit(snapshot)
            gas = transaction_gas(
                data,
                computation.get_gas_used(),
                computation.get_gas_refund(),
                create=to is None,
            )
            tx_hash = (
                "0x"
                + keccak(
                    head.chain_id.to_bytes(8, "big")
                    + head.block.to_bytes(8, "big")
                    + bytes.fromhex(sender[2:])
                    + data
                ).hex()
            )
            logs = tuple(
                Log(
                    to_checksum_address(address),
                    tuple(t.to_bytes(32, "big") for t in topics),
                    bytes(payload),
                    head.block,
                    tx_hash,
                    i,
                )
                for i, (address, topics, payload) in enumerate(computation.get_log_entries())
            )
            self._store_logs(logs)
            self._head = replace(head, tx_count=head.tx_count + 1)
        return Receipt(tx_hash, head.block, gas, logs, created)

    @staticmethod
    def _error(label: str, computation: Any) -> ChainError:
        output = bytes(computation.output or b"")
        error = computation.error
        if output or type(error).__name__ == "Revert":
            return revert_error(label, output)
        return ChainError(f"{label} failed: {type(error).__name__} {error}".rstrip())

    def _store_logs(self, logs: Sequence[Log]) -> None:
        rows = []
        for log in logs:
            topics = [*log.topics, None, None, None, None][:4]
            rows.append(
                (log.block_number, log.log_index, log.tx_hash, log.address, *topics, log.data)
            )
        if rows:
            self._conn.executemany("INSERT INTO logs VALUES (?,?,?,?,?,?,?,?,?)", rows)

    def _deploy_raw(self, initcode: bytes, sender: Sender, label: str) -> Receipt:
        return self._run(None, initcode, address_of(sender), f"{label}.constructor")

    def _transact_raw(self, to: str, data: bytes, sender: Sender, label: str) -> Receipt:
        return self._run(address_of(to), data, address_of(sender), label)

    def _call_raw(self, to: str, data: bytes, sender: str | None, label: str) -> bytes:
        if not self._batch_depth:
            self._sync()
        self._set_context(self._next_block())
        state = self._state
        self._evm.reset_access_counters()
        snapshot = state.snapshot()
        try:
            code = self._evm.get_code(Address(to))
            if not code:
                raise ChainError(f"{label}: no contract at {to} on the embedded chain")
            origin = Address(sender or "0x" + "00" * 20)
            computation = self._evm.execute_code(
                origin, Address(to), BLOCK_GAS_LIMIT, 0, 0, code, data, True, None, 0, None, None
            )
            if computation.is_error:
                raise self._error(label, computation)
            return bytes(computation.output)
        finally:
            state.revert(snapshot)

    # -- reads ------------------------------------------------------------------------------------

    def get_logs(
        self,
        address: str | None = None,
        topics: Sequence[bytes | None] = (),
        from_block: int = 0,
        to_block: int | None = None,
    ) -> list[Log]:
        """Stored logs in ``[from_block, to_block]`` matching the emitter and topics."""
        sql = "SELECT * FROM logs WHERE block >= ?"
        params: list[Any] = [from_block]
        if to_block is not None:
            sql += " AND block <= ?"
            params.append(to_block)
        if address is not None:
            sql += " AND address = ?"
            params.append(address_of(address))
        for i, topic in enumerate(topics[:4]):
            if topic is not None:
                sql += f" AND topic{i} = ?"
                params.append(topic)
        sql += " ORDER BY block, log_index"
        return [
            Log(
                row[3],
                tuple(bytes(t) for t in row[4:8] if t is not None),
                bytes(row[8]),
                row[0],
                row[2],
                row[1],
            )
            for row in self._conn.execute(sql, params)
        ]

    def balance(self, address: str) -> int:
        """Native balance (always 0 unless set: the embedded chain charges no gas)."""
        self._sync()
        return int(self._evm.get_balance(Address(address_of(address))))

    def code_at(self, address: str) -> bytes:
        """Runtime code at ``address``."""
        self._sync()
        return bytes(self._evm.get_code(Address(address_of(address))))

    def block_number(self) -> int:
        """Latest block number (one block per transaction)."""
        self._sync()
        return self._head.block

    def timestamp(self) -> int:
        """Timestamp of the latest block."""
        self._sync()
        return self._head.timestamp

    @property
    def tx_count(self) -> int:
        """Number of transactions applied since genesis."""
        self._sync()
        return self._head.tx_count

    def advance_time(self, seconds: int) -> None:
        """Move the clock forward by ``seconds`` and mine an empty block at the new time."""
        if seconds < 0:
            raise ChainError("the embedded chain's clock only moves forward")
        with self._writing():
            head = self._head
            target = head.timestamp + seconds
            offset = max(head.time_offset, target - int(time.time()))
            self._head = replace(head, block=head.block + 1, timestamp=target, time_offset=offset)

    def snapshot(self) -> Head:
        """The current head, to :meth:`revert` to later (tests)."""
        self._sync()
        return self._head

    def revert(self, head: Head) -> None:
        """Return to a head taken by :meth:`snapshot`, dropping later logs."""
        with self._writing():
            self._conn.execute("DELETE FROM logs WHERE block > ?", (head.block,))
            self._head = head
            self._load_state(head.root)

    def close(self) -> None:
        """Close the database connection."""
        with suppress(sqlite3.Error):
            self._conn.close()
