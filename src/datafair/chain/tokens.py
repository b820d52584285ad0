"""``TokenClient``: the ERC-20 calls datafair makes (balances, allowances, minting DevToken)."""

from __future__ import annotations

from datafair.chain.base import Chain, Contract, Receipt, Sender, address_of


class TokenClient:
    """An ERC-20 token on a chain."""

    def __init__(self, chain: Chain, token: Contract) -> None:
        """Wrap ``token`` (any ERC-20 ABI; ``mint`` needs DevToken's)."""
        self.chain = chain
        self.contract = token

    @property
    def address(self) -> str:
        """The token's address."""
        return self.contract.address

    def balance_of(self, account: str) -> int:
        """Token balance of ``account`` in base units."""
        return int(self.chain.call(self.contract, "balanceOf", address_of(account)))

    def allowance(self, owner: str, spender: str) -> int:
        """What ``spender`` may pull from ``owner``."""
        return int(self.chain.call(self.contract, "allowance", address_of(owner), spender))

    def approve(self, spender: str, amount: int, *, sender: Sender) -> Receipt:
        """Allow ``spender`` to pull ``amount`` from ``sender``."""
        return self.chain.transact(self.contract, "approve", spender, amount, sender=sender)

    def transfer(self, to: str, amount: int, *, sender: Sender) -> Receipt:
        """Send ``amount`` from ``sender`` to ``to``."""
        return self.chain.transact(self.contract, "transfer", address_of(to), amount, sender=sender)

    def mint(self, to: str, amount: int, *, sender: Sender) -> Receipt:
        """Mint DevToken to ``to`` (``sender`` must be a minter)."""
        return self.chain.transact(self.contract, "mint", address_of(to), amount, sender=sender)

    def ensure_allowance(self, spender: str, amount: int, *, sender: Sender) -> Receipt | None:
        """Approve ``amount`` if the current allowance is lower; returns the receipt if sent."""
        if self.allowance(address_of(sender), spender) >= amount:
            return None
        return self.approve(spender, amount, sender=sender)
