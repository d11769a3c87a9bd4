"""Prefect flows that drive the cycle, their tasks (one I/O step each), and the `cchc` CLI."""
