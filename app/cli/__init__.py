"""The `heatmeter` command line: a thin layer that formats the core's results."""
