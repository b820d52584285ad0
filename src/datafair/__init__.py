"""datafair: an open, self-hostable, decentralized marketplace for AI training data."""

__version__ = "0.1.0"
