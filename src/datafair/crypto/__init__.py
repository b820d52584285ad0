"""datafair.crypto."""
