"""datafair.chain."""
