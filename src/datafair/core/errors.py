"""Domain errors. Each renders as one line that names what is wrong and how to fix it.

The CLI prints ``error: <message>`` and exits 1; the API (round 2) maps each class to one HTTP
status in one place.
"""

from __future__ import annotations


class DatafairError(Exception):
    """Base class of every error a user can cause or meet; its message is one line."""

    exit_code = 1


class InvalidInput(DatafairError):
    """Input rejected at a boundary: names the field, what is wrong, and the fix."""

    def __init__(self, field: str, problem: str, fix: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        message = f"{field}: {problem}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)


class NotFound(DatafairError):
    """A referenced thing (task, dataset, account, item) does not exist."""


class Conflict(DatafairError):
    """The request contradicts stored state (replayed nonce, item full, task closed)."""


class SignatureError(DatafairError):
    """A signature does not verify, or verifies to another signer or domain."""


class ChainError(DatafairError):
    """The chain refused or failed: revert with reason, wrong chain id, unreachable node."""


class Unauthenticated(DatafairError):
    """No signed-in session, or one that expired or was revoked: sign in again."""


class Forbidden(DatafairError):
    """The signed-in account may not do this (not the task's requester, not an operator)."""


class RateLimited(Conflict):
    """Too many requests of one kind from one account; the message says when to retry."""
