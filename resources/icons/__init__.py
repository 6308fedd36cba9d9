"""Original icons of heatmeter (see README.md here)."""
