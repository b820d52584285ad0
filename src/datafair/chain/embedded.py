"""``EmbeddedChain``: titanoboa's in-process py-evm, its state persisted in the data directory.

The chain lives in one SQLite file (``chain/state.sqlite3``) as a journal of applied
transactions plus periodic snapshots of py-evm's world state:

* ``journal`` holds every successful transaction (sender, target, calldata, block number and
  time) in order; committing a transaction appends one row, its logs and the new head in one
  SQLite write transaction, so an acknowledged transaction is durable and a process killed
  mid-write leaves the last committed one intact (SQLite rolls the open transaction back);
* ``snapshots`` maps a transaction count to the state root of py-evm's Merkle-Patricia trie
  after that many transactions; the trie nodes live in ``kv`` (content-addressed, never
  deleted). A snapshot is taken every ``SNAPSHOT_EVERY`` transactions, when the state root is
  asked for, and on ``close()``;
* start-up, and any process that finds the head moved by another process, loads the newest
  snapshot at or below the head and replays the journal rows after it, so separate ``datafair``
  processes see the same chain (SQLite serialises the writers). The EVM is deterministic, so a
  replay reproduces the state root exactly.

Keeping the trie out of the per-transaction commit is what makes the chain fast: a claim costs
one interpretation of its ~1,200-1,500 instructions and one small row, not a re-hash of the
touched trie paths. ``batch()`` groups many transactions in one SQLite commit (all persist,
or none). With ``path=None`` the same code runs on an in-memory database (tests).

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
from datafair.chain.interpreter import (
    embedded_computation_class,
    use_fast_keccak,
    without_read_logs,
)
from datafair.core.errors import ChainError
from datafair.store.private import private_dir, private_file, sqlite_companions, tighten

STATE_FILE = "state.sqlite3"
BLOCK_GAS_LIMIT = 30_000_000
SNAPSHOT_EVERY = 500
_NODE_CACHE_LIMIT = 500_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (seq INTEGER PRIMARY KEY, root BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY, block INTEGER NOT NULL, timestamp INTEGER NOT NULL,
    sender BLOB NOT NULL, target BLOB, data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS logs (
    block INTEGER NOT NULL, log_index INTEGER NOT NULL, tx_hash TEXT NOT NULL,
    address TEXT NOT NULL, topic0 BLOB, topic1 BLOB, topic2 BLOB, topic3 BLOB, data BLOB NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX IF NOT EXISTS logs_by_topic ON logs (address, topic0, block);
"""


@dataclass(frozen=True)
class Head:
    """The committed tip: latest block, its time, the dev clock offset and the history size.

    ``tx_count`` is the number of journal rows; ``generation`` changes when :meth:`revert`
    rewrites history, so a process holding a replaced history reloads instead of extending it.
    """

    block: int
    timestamp: int
    time_offset: int
    chain_id: int
    tx_count: int
    generation: int = 0

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Head:
        data = json.loads(text)
        data.pop("root", None)  # heads written before the journal carried their root
        return cls(**data)


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


_UNKNOWN = Head(block=-1, timestamp=0, time_offset=0, chain_id=0, tx_count=-1, generation=-1)


@dataclass(frozen=True)
class _Entry:
    """One journal row: a transaction to apply in the block ``block`` at ``timestamp``."""

    seq: int
    block: int
    timestamp: int
    sender: str
    target: str | None
    data: bytes


class EmbeddedChain(Chain):
    """An in-process EVM (titanoboa / py-evm) whose history lives in ``path/state.sqlite3``."""

    def __init__(self, path: Path | None = None, chain_id: int = 31337) -> None:
        """Open (or create) the chain stored in directory ``path``; ``None`` keeps it in memory."""
        self.name = "embedded"
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            # private (0700 folder, 0600 state file and its -wal/-shm), whatever the umask
            private_dir(self.path, "chain")
            target = str(private_file(self.path / STATE_FILE, "chain"))
        else:
            target = ":memory:"
        try:
            # One chain object may serve several threads of a server, one at a time (the node's
            # chain lock); the connection follows the object, not the thread that opened it.
            self._conn = sqlite3.connect(
                target, timeout=60, isolation_level=None, check_same_thread=False
            )
            if self.path is not None:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
                tighten(sqlite_companions(target))
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise ChainError(f"cannot open the embedded chain at {target}: {exc}") from exc
        use_fast_keccak()
        self._kv = SqliteKV(self._conn)
        self._env = boa.Env()
        self._evm = self._env.evm
        self._evm.vm.state.computation_class = embedded_computation_class(
            self._evm.vm.state.computation_class
        )
        self._batch_depth = 0
        self._dirty = False  # in-memory state ahead of what SQLite holds
        self._snapshot_seq = 0
        self._snapshot_root: bytes = BLANK_ROOT_HASH
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._adopt_legacy_head()
            head = self._read_head() or self._genesis(chain_id)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self.chain_id = head.chain_id
        self._evm.patch.chain_id = head.chain_id
        self._head = head
        self._load(head)

    # -- state plumbing ---------------------------------------------------------------------------

    @property
    def _state(self) -> Any:
        return self._evm.vm.state

    def _genesis(self, chain_id: int) -> Head:
        head = Head(0, int(time.time()), 0, chain_id, 0)
        self._conn.execute("INSERT OR REPLACE INTO snapshots VALUES (0, ?)", (BLANK_ROOT_HASH,))
        self._write_head(head)
        return head

    def _read_head(self) -> Head | None:
        row = self._conn.execute("SELECT v FROM meta WHERE k = 'head'").fetchone()
        if row is None:
            return None
        return Head.from_json(row[0])

    def _adopt_legacy_head(self) -> None:
        """A head written before the journal carried its state root: make it a snapshot."""
        row = self._conn.execute("SELECT v FROM meta WHERE k = 'head'").fetchone()
        data = json.loads(row[0]) if row else {}
        if "root" in data:
            self._conn.execute(
                "INSERT OR IGNORE INTO snapshots VALUES (?, ?)",
                (data["tx_count"], bytes.fromhex(data["root"])),
            )
            self._write_head(Head.from_json(row[0]))

    def _write_head(self, head: Head) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO meta (k, v) VALUES ('head', ?)", (head.to_json(),)
        )

    def _load(self, head: Head) -> None:
        """Rebuild the in-memory state of ``head``: newest snapshot at or below it, then replay."""
        self._dirty = True
        self._head = _UNKNOWN  # until the replay completes: a failure forces a reload
        row = self._conn.execute(
            "SELECT seq, root FROM snapshots WHERE seq <= ? ORDER BY seq DESC LIMIT 1",
            (head.tx_count,),
        ).fetchone()
        if row is None:
            raise ChainError(
                f"embedded chain at {self.path} has no snapshot at or below transaction "
                f"{head.tx_count}; the state file is damaged"
            )
        self._snapshot_seq, self._snapshot_root = int(row[0]), bytes(row[1])
        state = self._state
        account_db = state.get_account_db_class()(self._kv, self._snapshot_root)
        state._account_db = without_read_logs(account_db)
        self._replay(self._snapshot_seq, head.tx_count)
        self._head = head
        self._dirty = False

    def _replay(self, after: int, upto: int) -> None:
        """Apply journal rows ``after < seq <= upto`` to the in-memory state."""
        rows = self._conn.execute(
            "SELECT seq, block, timestamp, sender, target, data FROM journal"
            " WHERE seq > ? AND seq <= ? ORDER BY seq",
            (after, upto),
        ).fetchall()
        if len(rows) != upto - after:
            raise ChainError(
                f"embedded chain journal is missing transactions {after + 1}..{upto}; "
                "the state file is damaged"
            )
        for seq, block, timestamp, sender, target, data in rows:
            entry = _Entry(
                seq,
                block,
                timestamp,
                "0x" + bytes(sender).hex(),
                "0x" + bytes(target).hex() if target is not None else None,
                bytes(data),
            )
            computation, _ = self._apply(entry)
            if computation.is_error:
                raise ChainError(
                    f"embedded chain journal transaction {seq} no longer applies "
                    f"({type(computation.error).__name__}); the state file is damaged"
                )

    def _sync(self) -> None:
        """Adopt a head committed by another process (or restored by a rollback).

        Outside a write, the head and the journal are read in one read transaction, so they
        are consistent with each other.
        """
        if self._conn.in_transaction:
            self._adopt_head()
            return
        self._conn.execute("BEGIN")
        try:
            self._adopt_head()
        finally:
            self._conn.execute("COMMIT")

    def _adopt_head(self) -> None:
        head = self._read_head()
        if head is None or head == self._head:
            return
        mine = self._head
        if head.generation == mine.generation and head.tx_count >= mine.tx_count:
            self._dirty = True
            self._head = _UNKNOWN  # until the replay completes: a failure forces a reload
            self._replay(mine.tx_count, head.tx_count)
            self._head = head
            self._dirty = False
        else:
            self._load(head)

    def _take_snapshot(self) -> None:
        """Persist the trie of the current state and record its root (inside a write)."""
        state = self._state
        state.persist()
        self._snapshot_root = state.state_root
        self._snapshot_seq = self._head.tx_count
        self._kv.flush()
        self._conn.execute(
            "INSERT OR REPLACE INTO snapshots VALUES (?, ?)",
            (self._snapshot_seq, self._snapshot_root),
        )

    @property
    def state_root(self) -> bytes:
        """Root of the world state's Merkle-Patricia trie at the committed head."""
        if not self._batch_depth:
            self._sync()
            if self._snapshot_seq == self._head.tx_count:
                return self._snapshot_root
        with self._writing():
            if self._snapshot_seq != self._head.tx_count:
                self._take_snapshot()
        return self._snapshot_root

    def _next_block(self) -> Head:
        head = self._head
        now = max(head.timestamp + 1, int(time.time()) + head.time_offset)
        return replace(head, block=head.block + 1, timestamp=now)

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
        if self._head.tx_count - self._snapshot_seq >= SNAPSHOT_EVERY:
            self._take_snapshot()
        self._write_head(self._head)
        self._conn.execute("COMMIT")
        self._dirty = False

    def _rollback(self) -> None:
        with suppress(sqlite3.Error):
            self._conn.execute("ROLLBACK")
        self._kv.discard()
        if self._dirty:  # the in-memory state holds transactions that did not commit
            head = self._read_head()
            assert head is not None
            self._load(head)

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

    def _apply(self, entry: _Entry) -> tuple[Any, str | None]:
        """Run one transaction on the in-memory state; an error leaves the state unchanged.

        Returns the computation and, for a creation, the new contract's address. Between
        transactions the storage values are locked, so EIP-2200 sees each transaction's own
        original values, as a node does.
        """
        self._evm.patch.block_number = entry.block
        self._evm.patch.timestamp = entry.timestamp
        state = self._state
        self._evm.reset_access_counters()
        state.clear_transient_storage()
        snapshot = state.snapshot()
        origin = Address(entry.sender)
        created: str | None = None
        if entry.target is None:
            address = self._evm.generate_create_address(origin)
            created = to_checksum_address(address.canonical_address)
            computation = self._evm.deploy_code(
                origin, origin, address, BLOCK_GAS_LIMIT, 0, 0, entry.data
            )
        else:
            computation = self._evm.execute_code(
                origin,
                Address(entry.target),
                BLOCK_GAS_LIMIT,
                0,
                0,
                self._evm.get_code(Address(entry.target)),
                entry.data,
                False,
                None,
                0,
                None,
                None,
            )
        if computation.is_error:
            state.revert(snapshot)
        else:
            state.commit(snapshot)
            state.lock_changes()
        return computation, created

    def _run(self, to: str | None, data: bytes, sender: str, label: str) -> Receipt:
        with self._writing():
            head = self._next_block()
            if to is not None and not self._evm.get_code(Address(to)):
                raise ChainError(f"{label}: no contract at {to} on the embedded chain")
            entry = _Entry(head.tx_count + 1, head.block, head.timestamp, sender, to, data)
            self._dirty = True
            computation, created = self._apply(entry)
            if computation.is_error:
                raise self._error(label, computation)
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
            self._conn.execute(
                "INSERT INTO journal VALUES (?, ?, ?, ?, ?, ?)",
                (
                    entry.seq,
                    entry.block,
                    entry.timestamp,
                    bytes.fromhex(sender[2:]),
                    bytes.fromhex(to[2:]) if to is not None else None,
                    data,
                ),
            )
            self._store_logs(logs)
            self._head = replace(head, tx_count=entry.seq)
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
        return self._execute_then_revert(to, data, sender, label, static=True)

    def simulate(self, to: str, data: bytes, sender: str | None, label: str) -> bytes:
        """Run ``data`` as a transaction from ``sender`` and throw the changes away; its output.

        What a node's ``eth_estimateGas`` does: state-changing code runs (a call would refuse
        it), a revert raises ``ChainError``, and nothing is kept.
        """
        return self._execute_then_revert(to, data, sender, label, static=False)

    def _execute_then_revert(
        self, to: str, data: bytes, sender: str | None, label: str, *, static: bool
    ) -> bytes:
        if not self._batch_depth:
            self._sync()
        head = self._next_block()
        self._evm.patch.block_number = head.block
        self._evm.patch.timestamp = head.timestamp
        state = self._state
        self._evm.reset_access_counters()
        snapshot = state.snapshot()
        try:
            code = self._evm.get_code(Address(to))
            if not code:
                raise ChainError(f"{label}: no contract at {to} on the embedded chain")
            origin = Address(sender or "0x" + "00" * 20)
            computation = self._evm.execute_code(
                origin, Address(to), BLOCK_GAS_LIMIT, 0, 0, code, data, static, None, 0, None, None
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

    def sent_by(self, address: str) -> int:
        """How many transactions ``address`` sent (its account nonce, for JSON-RPC clients)."""
        self._sync()
        row = self._conn.execute(
            "SELECT COUNT(*) FROM journal WHERE sender = ?",
            (bytes.fromhex(address_of(address)[2:]),),
        ).fetchone()
        return int(row[0])

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

    def storage_summary(self) -> str:
        """One line on the stored history: transactions, the newest snapshot, the file size."""
        self._sync()
        newest = self._conn.execute("SELECT MAX(seq) FROM snapshots").fetchone()[0] or 0
        where = "in memory"
        if self.path is not None:
            size = sum(f.stat().st_size for f in self.path.glob(f"{STATE_FILE}*") if f.is_file())
            where = f"{self.path / STATE_FILE}, {size / 1e6:,.1f} MB"
        return (
            f"{self._head.tx_count:,} transactions, newest state snapshot after {newest:,} "
            f"({self._head.tx_count - newest:,} to replay at start-up); {where}"
        )

    def snapshot(self) -> Head:
        """The current head, to :meth:`revert` to later (tests); persists a state snapshot."""
        self.state_root  # noqa: B018 - reading the root takes the snapshot
        return self._head

    def revert(self, head: Head) -> None:
        """Return to a head taken by :meth:`snapshot`, dropping the later history and logs."""
        with self._writing():
            if head.tx_count > self._head.tx_count or head.chain_id != self._head.chain_id:
                raise ChainError("can only revert the embedded chain to an earlier head of it")
            self._conn.execute("DELETE FROM journal WHERE seq > ?", (head.tx_count,))
            self._conn.execute("DELETE FROM snapshots WHERE seq > ?", (head.tx_count,))
            self._conn.execute("DELETE FROM logs WHERE block > ?", (head.block,))
            self._load(replace(head, generation=self._head.generation + 1))
            self._dirty = True

    def close(self) -> None:
        """Snapshot the state if transactions were applied since the last one, then close."""
        if self.path is not None and self._snapshot_seq != self._head.tx_count:
            with suppress(ChainError, sqlite3.Error):
                self.state_root  # noqa: B018 - taking the snapshot is the point
        with suppress(sqlite3.Error):
            self._conn.close()
