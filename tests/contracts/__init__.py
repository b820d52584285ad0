"""Contract tests (titanoboa / py-evm through the embedded chain)."""
