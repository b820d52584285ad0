"""datafair.sim."""
