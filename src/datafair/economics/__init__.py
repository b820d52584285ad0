"""datafair.economics."""
