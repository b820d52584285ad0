"""Pure domain layer: types, label schemas, answer validation, domain errors (no I/O)."""
