"""`mcp`: serve the journal to an AI assistant over the Model Context Protocol (stdio)."""

from __future__ import annotations

import click

from harvester.cli.app import pass_app
from harvester.errors import HarvesterError

INSTALL_HINT = "pip install 'harvester[mcp]'"


class MissingExtraError(HarvesterError):
    """An optional part of harvester whose packages are not installed."""


def register(cli: click.Group) -> None:
    @cli.command("mcp")
    @pass_app
    def serve_mcp(app):
        """Serve the journal to an AI assistant over MCP (stdio); read-only unless [mcp] allow_writes.

        \b
        Tools search the journal, list and show drafts, show an entry with its
        evidence, write a period's report and name the rubric dimensions without
        evidence; with `[mcp] allow_writes = true` also log an entry and confirm,
        edit or reject a draft (recorded as made through the assistant).
        Resources: each journal entry, and the current report. Prompt: self-review.
        In team mode the server acts as one member (--member).

        \b
        Add to an assistant's MCP configuration:
          {"mcpServers": {"harvester": {"command": "harvester", "args": ["mcp"]}}}"""
        try:
            from harvester.assistant.server import build_server
        except ModuleNotFoundError as exc:
            if exc.name != "mcp" and not (exc.name or "").startswith("mcp."):
                raise
            raise MissingExtraError(f"`harvester mcp` needs the MCP SDK: {INSTALL_HINT}") from None
        from harvester.assistant.settings import load_assistant_settings
        from harvester.assistant.tools import JournalTools

        config = app.config
        settings = load_assistant_settings(config)
        where = str(config.path) if config.path else "a config file (`harvester init` writes one)"
        server = build_server(JournalTools(app.store, config), settings.allow_writes, where)
        server.run("stdio")
