"""ABI helpers: type strings, struct round trips, revert reasons, event topics."""

from __future__ import annotations

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from datafair.chain import abi
from datafair.contracts import load_contract

CLAIM = abi.find(load_contract("TaskEscrow").abi, "function", "claim_many")


def test_tuple_arrays_expand_to_canonical_types() -> None:
    assert (
        abi.signature(CLAIM) == "claim_many(address,(bytes32,uint256,uint256,uint256,bytes32[])[])"
    )


def test_struct_outputs_decode_to_dicts() -> None:
    entry = abi.find(load_contract("TaskEscrow").abi, "function", "task")
    raw = encode(
        ["(address,address,uint256,bytes32,uint256,uint256,uint256)"],
        [("0x" + "ab" * 20, "0x" + "cd" * 20, 5, b"\x01" * 32, 9, 8, 1)],
    )
    decoded = abi.decode_output(entry, raw)
    assert (
        decoded["requester"] == "0x" + "Ab" * 20 or decoded["requester"].lower() == "0x" + "ab" * 20
    )
    assert (decoded["deadline"], decoded["unallocated"], decoded["outstanding"]) == (5, 8, 1)


def test_structs_encode_from_tuples_or_dicts() -> None:
    item = {"task_id": b"\x02" * 32, "epoch": 1, "index": 2, "amount": 3, "proof": [b"\x04" * 32]}
    as_dict = abi.encode_call(CLAIM, ["0x" + "11" * 20, [item]])
    as_tuple = abi.encode_call(CLAIM, ["0x" + "11" * 20, [tuple(item.values())]])
    assert as_dict == as_tuple
    assert as_dict[:4] == keccak(text=abi.signature(CLAIM))[:4]


def test_revert_reasons() -> None:
    error = abi.ERROR_SELECTOR + encode(["string"], ["TaskEscrow: zero amount"])
    assert abi.revert_reason(error) == "TaskEscrow: zero amount"
    panic = abi.PANIC_SELECTOR + encode(["uint256"], [0x11])
    assert abi.revert_reason(panic) == "panic 0x11 (arithmetic overflow or underflow)"
    assert abi.revert_reason(b"") == "reverted without a reason"
    assert abi.revert_reason(b"\xde\xad") == "reverted with data 0xdead"
    assert abi.revert_reason(abi.ERROR_SELECTOR + b"\x00").startswith("reverted with malformed")


def test_events_decode_indexed_and_plain_arguments() -> None:
    entry = abi.find(load_contract("TaskEscrow").abi, "event", "Claimed")
    task = b"\x09" * 32
    topics = [
        abi.event_topic(entry),
        abi.encode_topic(entry, "task_id", task),
        abi.encode_topic(entry, "account", "0x" + "22" * 20),
    ]
    data = encode(["uint256", "uint256", "uint256"], [1, 2, 3])
    args = abi.decode_event(entry, topics, data)
    assert args["task_id"] == task and (args["epoch"], args["index"], args["amount"]) == (1, 2, 3)
    assert args["account"].lower() == "0x" + "22" * 20
