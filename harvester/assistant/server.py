"""The stdio MCP server: harvester's journal, drafts and report as tools, resources and a
self-review prompt, on the official `mcp` SDK. Errors come back as the CLI's one-line messages."""

from __future__ import annotations

import functools
import json
from typing import Any, Callable

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, Resource, TextContent, ToolAnnotations
from pydantic import ValidationError

from harvester.assistant.prompt import write_self_review_prompt
from harvester.assistant.tools import JournalTools
from harvester.errors import HarvesterError, NotFoundError
from harvester.redact import redact
from harvester.safe_text import one_line

ENTRY_URI = "harvester://entries/{entry_id}"
REPORT_URI = "harvester://report/current"
READING = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITING = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)

READ_TOOLS = {
    "search_journal": ("Find confirmed journal entries by words (every word must appear, stemmed), best first. "
                       "Narrow by period (2026, 2026-H2, 2026-Q3, 2026-07), rubric dimension ids (tags, all must "
                       "match) and source instances (e.g. mlflow-prod, manual); include_drafts adds pending drafts."),
    "list_drafts": ("Drafted accomplishments waiting for the engineer, newest first. status: pending (default), "
                    "confirmed, rejected, superseded or all; kinds, e.g. metric_lift; sources; since: 30d, 6m or "
                    "a date."),
    "show_draft": "One draft with its statement, metrics (exact logged values), evidence links, tags and history.",
    "show_entry": "One journal entry with its text, date, tags, outcome, metrics, evidence links and history.",
    "get_report": ("The Performance Report and Period Recap for a review period (2026, 2026-H2, 2026-Q3, 2026-07; "
                   "default the current half-year) as Markdown: entries per rubric dimension with evidence links."),
    "rubric_gaps": "The rubric dimensions with no journal evidence in a period (default the current half-year).",
}
WRITE_TOOLS = {
    "log_entry": ("Add a manual journal entry the engineer dictated. date: a date or a span such as 3d (default "
                  "now); tags: rubric dimension ids (default: from its words); links: evidence URLs."),
    "confirm_draft": ("Confirm a pending draft into the journal, with the engineer's final wording in text "
                      "(default the draft's statement). Only on the engineer's say-so."),
    "edit_draft": "Reword a pending draft (later harvests keep the new wording).",
    "reject_draft": "Reject a pending draft, with the engineer's reason; the same finding is never drafted again.",
}


class JournalServer(MCPServer):
    """An MCPServer whose resource list holds one resource per journal entry, read when asked,
    and whose refusals (writing off, arguments off the schema) are one line."""

    def __init__(self, tools: JournalTools, writes_refusal: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.journal = tools
        self.writes_refusal = writes_refusal  # "" when writing is on

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        if name in WRITE_TOOLS and self.writes_refusal:
            return refuse(self.writes_refusal)
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if not isinstance(exc.__cause__, ValidationError):
                raise
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                                 for e in exc.__cause__.errors())
            return refuse(f"Error: {name} cannot take these arguments ({one_line(problems)}).")

    async def list_resources(self) -> list[Resource]:
        listed = await super().list_resources()
        for entry in self.journal.list_entries():
            tags = f" [{', '.join(entry.tags)}]" if entry.tags else ""
            listed.append(Resource(uri=ENTRY_URI.format(entry_id=entry.id), name=f"entry-{entry.id}",
                                   title=redact(one_line(entry.text))[:120],
                                   description=f"Journal entry of {entry.occurred_at:%Y-%m-%d}{tags}",
                                   mime_type="application/json"))
        return listed


def build_server(tools: JournalTools, allow_writes: bool, config_label: str) -> JournalServer:
    refusal = "" if allow_writes else (f"Error: writing is off; to let the assistant change the journal, set "
                                       f"`[mcp] allow_writes = true` in {config_label}.")
    server = JournalServer(tools, refusal, name="harvester", instructions=describe_server(allow_writes, config_label),
                           log_level="WARNING")
    for name, description in READ_TOOLS.items():
        server.add_tool(answer(getattr(tools, name), tools), name=name,
                        description=description, annotations=READING, structured_output=False)
    if allow_writes:
        for name, description in WRITE_TOOLS.items():
            server.add_tool(answer(getattr(tools, name), tools), name=name, description=description,
                            annotations=WRITING, structured_output=False)
    add_resources(server, tools)

    @server.prompt(name="self-review", title="Self-review for a period",
                   description="Draft a self-review for PERIOD (2026-H2, 2026-Q3, ...) citing only journal "
                               "entries and their evidence links, and naming rubric dimensions without evidence.")
    def self_review(period: str) -> str:
        try:
            return redact(write_self_review_prompt(tools, period))
        except HarvesterError as exc:
            raise MCPError(INVALID_PARAMS, f"Error: {one_line(exc)}") from None

    return server


def add_resources(server: MCPServer, tools: JournalTools) -> None:
    @server.resource(ENTRY_URI, name="entry", title="Journal entry", mime_type="application/json",
                     description="A journal entry with its evidence, outcome and history.")
    def read_entry(entry_id: str) -> str:
        if not entry_id.isdigit():
            raise ResourceNotFoundError(f"Error: no journal entry {entry_id!r}; entry ids are numbers.")
        return read_resource(lambda: tools.show_entry(int(entry_id)), tools)

    @server.resource(REPORT_URI, name="report", title="Report of the current half-year", mime_type="text/markdown",
                     description="The Performance Report and Period Recap of the current half-year, as Markdown.")
    def read_report() -> str:
        return read_resource(tools.get_report, tools)


def describe_server(allow_writes: bool, config_label: str) -> str:
    writes = ("Writing tools are on: log, confirm, edit or reject only when the engineer asks; every change is "
              "recorded as made through the assistant." if allow_writes else
              f"Read-only: to let the assistant log entries and decide drafts, the engineer sets "
              f"`[mcp] allow_writes = true` in {config_label}.")
    return ("harvester holds the engineer's confirmed career journal: accomplishments with their exact numbers "
            "and evidence links, tagged with rubric dimensions, plus drafts awaiting a decision. Cite only "
            "journal entries and their evidence links; never invent numbers or work. " + writes)


def render_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return redact(text)


def describe_failure(exc: Exception, tools: JournalTools) -> str | None:
    """The CLI's one line for an error a user can cause; None for a bug (the SDK hides it)."""
    if isinstance(exc, HarvesterError):
        return f"Error: {one_line(exc)}"
    if type(exc).__module__.startswith("sqlalchemy"):
        from harvester.store.faults import store_error_from

        error = store_error_from(exc, tools.store.label)
        return None if error is None else f"Error: {one_line(error)}"
    return None


def answer(fn: Callable[..., Any], tools: JournalTools) -> Callable[..., CallToolResult]:
    """Run a tool; its result, or the error's one line, as the tool's text."""

    @functools.wraps(fn)
    def run(**arguments: Any) -> CallToolResult:
        try:
            result = fn(**arguments)
        except Exception as exc:
            message = describe_failure(exc, tools)
            if message is None:
                raise
            return refuse(message)
        return CallToolResult(content=[TextContent(type="text", text=render_text(result))])

    return run


def refuse(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=redact(message))], is_error=True)


def read_resource(read: Callable[[], Any], tools: JournalTools) -> str:
    try:
        return render_text(read())
    except Exception as exc:
        message = describe_failure(exc, tools)
        if message is None:
            raise
        raise (ResourceNotFoundError if isinstance(exc, NotFoundError) else ResourceError)(message) from None
