"""The one ``Chain`` interface every adapter implements, and the values it returns.

A :class:`Chain` deploys compiled contracts, calls and transacts against them, reads their
events and balances. Adapters implement a handful of raw operations (``_deploy_raw``,
``_call_raw``, ``_transact_raw``, ``get_logs``, ...); the ABI-aware methods (:meth:`Chain.call`,
:meth:`Chain.transact`, :meth:`Chain.events`) are shared. Every failure surfaces as one-line
:class:`~datafair.core.errors.ChainError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import is_address, to_checksum_address

from datafair.chain import abi as abi_codec
from datafair.contracts import CompiledContract
from datafair.core.errors import ChainError, InvalidInput

Sender = str | LocalAccount
"""Who sends a transaction: an address (embedded chain) or an unlocked account (any chain)."""


def address_of(sender: Sender) -> str:
    """The checksummed address of a sender or address string."""
    raw = sender.address if isinstance(sender, LocalAccount) else sender
    if not isinstance(raw, str) or not is_address(raw):
        raise InvalidInput("address", f"{raw!r} is not an address", "give 0x and 40 hex digits")
    return to_checksum_address(raw)


@dataclass(frozen=True)
class Log:
    """One raw log entry as emitted by a contract."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    tx_hash: str
    log_index: int


@dataclass(frozen=True)
class Receipt:
    """The outcome of a mined transaction; ``gas_used`` is whole-transaction gas."""

    tx_hash: str
    block_number: int
    gas_used: int
    logs: tuple[Log, ...] = ()
    contract_address: str | None = None


@dataclass(frozen=True)
class Event:
    """A decoded event: its name, arguments and where it was emitted."""

    name: str
    args: dict[str, Any]
    address: str
    block_number: int
    tx_hash: str
    log_index: int


@dataclass(frozen=True)
class Contract:
    """A deployed contract: name, address and ABI."""

    name: str
    address: str
    abi: list[dict[str, Any]] = field(repr=False)

    def function(self, name: str) -> Mapping[str, Any]:
        """The ABI entry of function ``name``."""
        try:
            return abi_codec.find(self.abi, "function", name)
        except KeyError:
            raise ChainError(f"{self.name} has no function {name!r}") from None

    def event(self, name: str) -> Mapping[str, Any]:
        """The ABI entry of event ``name``."""
        try:
            return abi_codec.find(self.abi, "event", name)
        except KeyError:
            raise ChainError(f"{self.name} has no event {name!r}") from None

    def decode_logs(self, logs: Sequence[Log], name: str | None = None) -> list[Event]:
        """Decode this contract's logs (optionally only event ``name``), skipping others."""
        by_topic = {
            abi_codec.event_topic(entry): entry
            for entry in self.abi
            if entry.get("type") == "event" and (name is None or entry["name"] == name)
        }
        events = []
        for log in logs:
            if log.address != self.address or not log.topics:
                continue
            entry = by_topic.get(log.topics[0])
            if entry is None:
                continue
            args = abi_codec.decode_event(entry, log.topics, log.data)
            events.append(
                Event(
                    entry["name"], args, log.address, log.block_number, log.tx_hash, log.log_index
                )
            )
        return events


def revert_error(label: str, data: bytes) -> ChainError:
    """The one-line error of a reverted call: ``TaskEscrow.claim reverted: <reason>``."""
    return ChainError(f"{label} reverted: {abi_codec.revert_reason(data)}")


class Chain(ABC):
    """Deploy, call, transact, read events and balances on one EVM chain."""

    chain_id: int
    name: str

    # -- raw operations each adapter implements -------------------------------------------------

    @abstractmethod
    def _deploy_raw(self, initcode: bytes, sender: Sender, label: str) -> Receipt:
        """Create a contract from ``initcode``; the receipt carries its address."""

    @abstractmethod
    def _call_raw(self, to: str, data: bytes, sender: str | None, label: str) -> bytes:
        """Execute a read-only call; revert raises ``ChainError``."""

    @abstractmethod
    def _transact_raw(self, to: str, data: bytes, sender: Sender, label: str) -> Receipt:
        """Send a state-changing transaction and wait for it; revert raises ``ChainError``."""

    @abstractmethod
    def get_logs(
        self,
        address: str | None = None,
        topics: Sequence[bytes | None] = (),
        from_block: int = 0,
        to_block: int | None = None,
    ) -> list[Log]:
        """Logs in a block range, filtered by emitter and topics (``None`` matches any)."""

    @abstractmethod
    def balance(self, address: str) -> int:
        """Native-coin balance of ``address`` in wei."""

    @abstractmethod
    def block_number(self) -> int:
        """Number of the latest block."""

    @abstractmethod
    def timestamp(self) -> int:
        """Timestamp of the latest block."""

    @abstractmethod
    def code_at(self, address: str) -> bytes:
        """Runtime bytecode at ``address`` (empty if none)."""

    def advance_time(self, seconds: int) -> None:
        """Move the chain's clock forward (development chains only)."""
        raise ChainError(f"{self.name} cannot move its clock; wait for real time to pass")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (connections, files)."""

    def __enter__(self) -> Chain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ABI-aware operations ---------------------------------------------------------------------

    def deploy(
        self, compiled: CompiledContract, args: Sequence[Any], sender: Sender
    ) -> tuple[Contract, Receipt]:
        """Deploy ``compiled`` with constructor ``args``; returns the contract and receipt."""
        initcode = compiled.bytecode + abi_codec.encode_constructor(compiled.abi, args)
        receipt = self._deploy_raw(initcode, sender, compiled.name)
        if receipt.contract_address is None:
            raise ChainError(f"deploying {compiled.name} created no contract")
        return Contract(compiled.name, receipt.contract_address, compiled.abi), receipt

    def at(self, compiled: CompiledContract, address: str) -> Contract:
        """The contract ``compiled`` at an existing ``address`` (checked to hold code)."""
        checksummed = address_of(address)
        if not self.code_at(checksummed):
            raise ChainError(f"no contract at {checksummed} on {self.name}; deploy first")
        return Contract(compiled.name, checksummed, compiled.abi)

    def call(
        self, contract: Contract, function: str, *args: Any, sender: Sender | None = None
    ) -> Any:
        """Call a view function and return its decoded result."""
        entry = contract.function(function)
        data = abi_codec.encode_call(entry, args)
        label = f"{contract.name}.{function}"
        caller = address_of(sender) if sender is not None else None
        return abi_codec.decode_output(entry, self._call_raw(contract.address, data, caller, label))

    def transact(self, contract: Contract, function: str, *args: Any, sender: Sender) -> Receipt:
        """Send a transaction calling ``function``; a revert raises a one-line ``ChainError``."""
        entry = contract.function(function)
        data = abi_codec.encode_call(entry, args)
        return self._transact_raw(contract.address, data, sender, f"{contract.name}.{function}")

    def events(
        self,
        contract: Contract,
        event: str,
        from_block: int = 0,
        to_block: int | None = None,
        **indexed: Any,
    ) -> list[Event]:
        """Decoded events ``event`` of ``contract``, filtered by indexed argument values."""
        entry = contract.event(event)
        topics: list[bytes | None] = [abi_codec.event_topic(entry)]
        for param in [p for p in entry["inputs"] if p.get("indexed")]:
            value = indexed.pop(param["name"], None)
            topics.append(
                None if value is None else abi_codec.encode_topic(entry, param["name"], value)
            )
        if indexed:
            raise ChainError(f"{contract.name}.{event} has no indexed argument {sorted(indexed)}")
        while topics and topics[-1] is None:
            topics.pop()
        logs = self.get_logs(contract.address, topics, from_block, to_block)
        return contract.decode_logs(logs, event)
