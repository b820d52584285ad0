"""datafair.services."""
