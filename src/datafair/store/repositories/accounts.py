"""Known wallets (requesters, contributors, reviewers) by checksummed address.

Inputs: an open ``Session``; callers own the transaction (repositories never commit).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafair.store.models import (
    Account,
)


class AccountRepository:
    """Known wallets by checksummed address."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, address: str) -> Account | None:
        return self.session.scalar(select(Account).where(Account.address == address))

    def ensure(self, address: str, *, now_ms: int, name: str | None = None) -> Account:
        """The account of ``address``, created if missing (``name`` set when given)."""
        account = self.get(address)
        if account is None:
            account = Account(address=address, name=name, created_at=now_ms)
            self.session.add(account)
            self.session.flush()
        elif name is not None and account.name != name:
            account.name = name
        return account

    def all(self) -> list[Account]:
        return list(self.session.scalars(select(Account).order_by(Account.id)))
