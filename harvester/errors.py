"""The library's exceptions. The CLI turns each into one clear message and an exit code."""

from __future__ import annotations

from harvester.redact import redact


class HarvesterError(Exception):
    """Base class. `exit_code` is what the CLI exits with. Its text never holds a secret: a
    server may echo credentials in the error body a message quotes."""

    exit_code = 1

    def __str__(self) -> str:
        return redact(super().__str__())


class ConfigError(HarvesterError):
    """Bad or missing configuration: the message names the file, the key and the fix."""

    exit_code = 2


class ConnectorError(HarvesterError):
    """A source answered with an error, or could not be reached."""

    def __init__(self, source: str, message: str, status: int | None = None):
        self.source = source
        self.status = status
        super().__init__(f"{source}: {message}")  # redacted when shown, as every HarvesterError


class AuthError(ConnectorError):
    """A source refused our credentials."""


class TransientError(ConnectorError):
    """Worth retrying later: timeouts, 5xx, rate limits."""


class StoreError(HarvesterError):
    """The store cannot be used: not reachable, not a harvester store, from a newer version,
    read-only, full or damaged. The message names the store and the fix."""


class RuleError(HarvesterError):
    """A rule (a plugin's, usually) raised while reading its records. The records stay stored;
    drafting runs again once the rule is fixed or turned off."""


class NotFoundError(HarvesterError):
    """A draft or entry id that does not exist."""

    exit_code = 2


class StateError(HarvesterError):
    """A draft or entry not in a state the change applies to, e.g. confirming a rejected draft."""

    exit_code = 2


class InputError(HarvesterError):
    """An argument a change cannot use, e.g. an empty wording or an unknown rubric dimension,
    whichever front end (the CLI, the MCP server) it came from."""

    exit_code = 2


class MalformedItemError(HarvesterError):
    """One item of a source's answer cannot be read (a required field missing or of the wrong
    type). The connector skips and counts it; the rest of the source goes on."""

    def __init__(self, what: str, item_id: str, reason: str):
        self.what = what
        self.item_id = item_id
        self.reason = reason
        super().__init__(f"{what} {item_id or '(no id)'}: {reason}")
