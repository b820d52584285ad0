"""Chain adapter tests: embedded chain persistence, RPC against anvil, deployment, CLI."""
