"""heatmeter: the application (domain core, storage, CLI, Qt UI)."""

__version__ = "0.1.0"
