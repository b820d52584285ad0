"""datafair.store."""
