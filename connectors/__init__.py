"""Connectors: each reads one source and yields normalised records. None writes the store."""
