"""harvester: turn an ML engineer's tool trail into a career journal."""

__version__ = "0.1.0"
