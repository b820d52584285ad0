"""ABI encoding helpers shared by every chain adapter (all built on eth_abi / eth_utils).

Functions and events are looked up by name in a contract's JSON ABI; struct (tuple) values go in
as tuples or dicts and come back as dicts keyed by component name; addresses come back
checksummed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

ERROR_SELECTOR = bytes.fromhex("08c379a0")
PANIC_SELECTOR = bytes.fromhex("4e487b71")
_PANICS = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
    0x21: "invalid enum value",
    0x31: "pop from an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
}


def type_string(param: Mapping[str, Any]) -> str:
    """The canonical ABI type of one parameter, expanding tuples: ``(bytes32,uint256[])[]``."""
    kind: str = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(type_string(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def find(abi: Sequence[Mapping[str, Any]], kind: str, name: str) -> Mapping[str, Any]:
    """The ABI entry of type ``kind`` ("function"/"event") called ``name``."""
    for entry in abi:
        if entry.get("type") == kind and entry.get("name") == name:
            return entry
    raise KeyError(f"no {kind} named {name!r} in the ABI")


def signature(entry: Mapping[str, Any]) -> str:
    """``name(type,...)`` of a function or event."""
    types = ",".join(type_string(p) for p in entry.get("inputs", []))
    return f"{entry['name']}({types})"


def _to_abi(value: Any, param: Mapping[str, Any]) -> Any:
    kind: str = param["type"]
    if kind.endswith("[]") or (kind.endswith("]") and "[" in kind):
        element = {**param, "type": kind[: kind.rindex("[")]}
        return [_to_abi(v, element) for v in value]
    if kind == "tuple":
        components = param["components"]
        if isinstance(value, Mapping):
            value = [value[c["name"]] for c in components]
        return tuple(_to_abi(v, c) for v, c in zip(value, components, strict=True))
    if kind == "address":
        return to_checksum_address(value)
    return value


def _from_abi(value: Any, param: Mapping[str, Any]) -> Any:
    kind: str = param["type"]
    if kind.endswith("]"):
        element = {**param, "type": kind[: kind.rindex("[")]}
        return [_from_abi(v, element) for v in value]
    if kind == "tuple":
        return {c["name"]: _from_abi(v, c) for v, c in zip(value, param["components"], strict=True)}
    if kind == "address":
        return to_checksum_address(value)
    return value


def encode_call(entry: Mapping[str, Any], args: Sequence[Any]) -> bytes:
    """Selector and ABI-encoded arguments of a function call."""
    inputs = entry.get("inputs", [])
    if len(args) != len(inputs):
        raise TypeError(f"{entry['name']} takes {len(inputs)} arguments, got {len(args)}")
    types = [type_string(p) for p in inputs]
    values = [_to_abi(a, p) for a, p in zip(args, inputs, strict=True)]
    return function_signature_to_4byte_selector(signature(entry)) + encode(types, values)


def encode_constructor(abi: Sequence[Mapping[str, Any]], args: Sequence[Any]) -> bytes:
    """ABI-encoded constructor arguments (appended to the creation bytecode)."""
    inputs: list[Mapping[str, Any]] = []
    for entry in abi:
        if entry.get("type") == "constructor":
            inputs = entry.get("inputs", [])
    if len(args) != len(inputs):
        raise TypeError(f"the constructor takes {len(inputs)} arguments, got {len(args)}")
    values = [_to_abi(a, p) for a, p in zip(args, inputs, strict=True)]
    return encode([type_string(p) for p in inputs], values)


def decode_output(entry: Mapping[str, Any], data: bytes) -> Any:
    """Decoded return value: ``None``, the single value, or a tuple of values."""
    outputs = entry.get("outputs", [])
    if not outputs:
        return None
    raw = decode([type_string(p) for p in outputs], data)
    values = [_from_abi(v, p) for v, p in zip(raw, outputs, strict=True)]
    return values[0] if len(values) == 1 else tuple(values)


def event_topic(entry: Mapping[str, Any]) -> bytes:
    """topic0 of an event: keccak of its signature."""
    return keccak(text=signature(entry))


def decode_event(entry: Mapping[str, Any], topics: Sequence[bytes], data: bytes) -> dict[str, Any]:
    """The arguments of one log of event ``entry``, by name."""
    inputs = entry.get("inputs", [])
    indexed = [p for p in inputs if p.get("indexed")]
    plain = [p for p in inputs if not p.get("indexed")]
    args: dict[str, Any] = {}
    for param, topic in zip(indexed, topics[1:], strict=True):
        kind = type_string(param)
        if kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("("):
            args[param["name"]] = topic  # dynamic indexed values are stored as their hash
        else:
            args[param["name"]] = _from_abi(decode([kind], topic)[0], param)
    values = decode([type_string(p) for p in plain], data)
    for param, value in zip(plain, values, strict=True):
        args[param["name"]] = _from_abi(value, param)
    return {p["name"]: args[p["name"]] for p in inputs}


def encode_topic(entry: Mapping[str, Any], name: str, value: Any) -> bytes:
    """The topic that an indexed argument ``name`` with ``value`` produces (for filtering)."""
    for param in entry.get("inputs", []):
        if param["name"] == name and param.get("indexed"):
            return encode([type_string(param)], [_to_abi(value, param)])
    raise KeyError(f"event {entry['name']} has no indexed argument {name!r}")


def revert_reason(data: bytes) -> str:
    """A readable reason from revert data: ``Error(string)``, ``Panic(uint256)`` or raw hex."""
    if data[:4] == ERROR_SELECTOR:
        try:
            reason: str = decode(["string"], data[4:])[0]
        except Exception:  # malformed revert data
            return "reverted with malformed reason 0x" + data.hex()
        return reason
    if data[:4] == PANIC_SELECTOR and len(data) >= 36:
        code = int.from_bytes(data[4:36], "big")
        return f"panic 0x{code:02x} ({_PANICS.get(code, 'unknown panic')})"
    if not data:
        return "reverted without a reason"
    return "reverted with data 0x" + data.hex()
