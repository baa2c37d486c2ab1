"""The library's exceptions. The CLI turns each into one clear message and an exit code."""

from __future__ import annotations


class HarvesterError(Exception):
    """Base class. `exit_code` is what the CLI exits with."""

    exit_code = 1


class ConfigError(HarvesterError):
    """Bad or missing configuration: the message names the file, the key and the fix."""

    exit_code = 2


class ConnectorError(HarvesterError):
    """A source answered with an error, or could not be reached."""

    def __init__(self, source: str, message: str, status: int | None = None):
        self.source = source
        self.status = status
        super().__init__(f"{source}: {message}")


class AuthError(ConnectorError):
    """A source refused our credentials."""


class TransientError(ConnectorError):
    """Worth retrying later: timeouts, 5xx, rate limits."""


class StoreError(HarvesterError):
    """The store could not be opened or is from a newer version."""


class NotFoundError(HarvesterError):
    """A draft or entry id that does not exist."""

    exit_code = 2
