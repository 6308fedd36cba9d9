"""The Planner page's parts: the due schedule, sampling lots, their charts and the worker functions."""
