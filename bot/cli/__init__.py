"""The `wayfinder` command line (typer)."""
