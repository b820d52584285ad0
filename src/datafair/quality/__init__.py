"""datafair.quality."""
