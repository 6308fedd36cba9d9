"""Workflows used by both the CLI and the GUI, above the register (``app.storage``) and below both front ends."""
