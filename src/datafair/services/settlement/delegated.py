"""Audit of the session-key delegations a bundle's submissions used.

A row of the bundle's submissions listed in ``delegations.row`` is signed by a session key, not
by its contributor. It is valid only if the delegation it names (``delegations.delegation``)

1. is signed by its ``wallet`` under the bundle's chain id (EIP-712 ``Delegation``,
   :mod:`datafair.crypto.delegation`), and that wallet is the row's contributor (who is paid);
2. covers the bundle's task;
3. is not used by more rows than its ``maxAnswers`` over the whole bundle.

The row's own signature must then recover to the delegation's ``sessionKey``
(:func:`datafair.services.settlement.signatures.first_bad_signature` is given the expected
signer). Expiry and revocation are enforced by the server when it accepts an answer; the bundle
carries no trusted clock to re-check them.
"""

from __future__ import annotations

from collections import Counter

from datafair.core.errors import DatafairError
from datafair.crypto.delegation import DelegationMessage, verify_delegation
from datafair.crypto.eip712 import SubmissionDomain, contributor_bytes
from datafair.services.settlement.bundle import EpochInputs


def session_keys(inputs: EpochInputs) -> dict[int, bytes]:
    """The 20-byte session key expected to have signed each delegated submission row."""
    delegations = inputs.delegations
    keys = [
        contributor_bytes(str(message.get("sessionKey", ""))) for message in delegations.message
    ]
    return {
        row: keys[index] for row, index in zip(delegations.row, delegations.delegation, strict=True)
    }


def first_bad_delegation(inputs: EpochInputs) -> str | None:
    """What is wrong with the first invalid delegation or delegated row; ``None`` if none."""
    delegations = inputs.delegations
    domain = SubmissionDomain(inputs.chain_id)
    parsed: list[DelegationMessage] = []
    for index, (message, signature) in enumerate(
        zip(delegations.message, delegations.signature, strict=True)
    ):
        try:
            delegation = DelegationMessage.from_dict(message)
            verify_delegation(domain, delegation, signature)
        except DatafairError as error:
            return f"delegation {index}: {error}"
        if delegation.as_dict() != message:
            return f"delegation {index}: its message is not in canonical EIP-712 JSON form"
        if not delegation.covers(inputs.task_id):
            return f"delegation {index}: does not cover task 0x{inputs.task_id.hex()}"
        parsed.append(delegation)
    subs = inputs.submissions
    for row, index in zip(delegations.row, delegations.delegation, strict=True):
        contributor = contributor_bytes(subs.accounts[subs.contributor[row]])
        if contributor != contributor_bytes(parsed[index].wallet):
            return (
                f"submission {row}: its contributor is not the wallet of delegation {index}, "
                "which would pay another account"
            )
    for index, used in Counter(delegations.delegation).items():
        if used > parsed[index].max_answers:
            return (
                f"delegation {index}: signs {used} submissions, over its limit of "
                f"{parsed[index].max_answers}"
            )
    return None
