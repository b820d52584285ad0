"""Command-line interface (typer + rich). Commands parse, call a service, and render."""
