"""The [mcp] table: what the MCP server lets an assistant do."""

from __future__ import annotations

from dataclasses import dataclass

from harvester.config import Config
from harvester.settings import build_settings, setting


@dataclass(frozen=True)
class AssistantSettings:
    allow_writes: bool = setting(False, "let the assistant log entries and confirm, edit or reject drafts; "
                                        "false: the server offers the reading tools only")


def load_assistant_settings(config: Config) -> AssistantSettings:
    return build_settings(AssistantSettings, config.section("mcp"), config.where("mcp"))
