"""The Commission wizard's parts: bus adapter, state and drafts, step widgets, certificate."""
