"""What the MCP server's tools do, each through the store and report functions the CLI uses:
the member's store, so in team mode nothing of another member is ever read or written."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from harvester.config import Config

# The JSON schema of list_drafts offers these; kept equal to models.DRAFT_STATUSES by a test.
DraftStatus = Literal["pending", "confirmed", "rejected", "superseded", "all"]

# How the audit trail names changes made through the MCP server.
VIA_ASSISTANT = "assistant"


class JournalTools:
    def __init__(self, store, config: Config):
        self.store = store
        self.config = config

    # Reading

    def search_journal(self, query: str, period: str | None = None, tags: list[str] | None = None,
                       sources: list[str] | None = None, include_drafts: bool = False,
                       limit: Annotated[int, Field(ge=1, le=1000)] = 20) -> list[dict[str, Any]]:
        from harvester.store.search import SearchFilters

        since, until = self.window(period) if period else (None, None)
        statuses = ("confirmed", "pending") if include_drafts else ("confirmed",)
        filters = SearchFilters(since=since, until=until, tags=tuple(tags or ()), sources=tuple(sources or ()),
                                statuses=statuses, limit=limit)
        return [hit.as_json() for hit in self.store.search(query, filters)]

    def list_drafts(self, status: DraftStatus = "pending", kinds: list[str] | None = None,
                    sources: list[str] | None = None, since: str | None = None) -> list[dict[str, Any]]:
        from harvester.timeutil import parse_past

        drafts = self.store.list_drafts(None if status == "all" else [status],
                                        since=parse_past(since) if since else None,
                                        kinds=tuple(kinds or ()), sources=tuple(sources or ()))
        return [d.as_json() for d in drafts]

    def show_draft(self, draft_id: int) -> dict[str, Any]:
        from harvester.documents import describe_draft

        draft = self.store.get_draft(draft_id)
        return describe_draft(draft, self.store.history("draft", draft_id))

    def show_entry(self, entry_id: int) -> dict[str, Any]:
        from harvester.documents import describe_entry

        entry = self.store.get_entry(entry_id, include_deleted=True)
        return describe_entry(entry, self.store.history("entry", entry_id))

    def list_entries(self):
        return self.store.list_entries()

    def get_report(self, period: str | None = None) -> str:
        from harvester.report.formats import render_report

        return render_report(self.build_report(period), "md")

    def rubric_gaps(self, period: str | None = None) -> dict[str, Any]:
        built = self.build_report(period)
        return {"period": built.period, "entries": built.total,
                "dimensions_without_evidence": [{"id": d.id, "title": d.title, "description": d.description}
                                                for d in built.empty_dimensions]}

    def build_report(self, period: str | None):
        from harvester.report.period import build_config_report, period_window

        label, since, until = period_window(period)
        return build_config_report(self.store, self.config, since=since, until=until, period=label)

    @staticmethod
    def window(period: str):
        from harvester.report.period import period_window

        _, since, until = period_window(period)
        return since, until

    # Writing, each change recorded in the audit trail as made through the assistant

    def log_entry(self, text: str, date: str | None = None, tags: list[str] | None = None,
                  links: list[str] | None = None) -> str:
        from harvester.journal_input import log_manual_entry

        entry = log_manual_entry(self.store, self.config.framework, text, date, tuple(tags or ()),
                                 tuple(links or ()), via=VIA_ASSISTANT)
        return f"Logged entry {entry.id} ({', '.join(entry.tags) or 'untagged'})."

    def confirm_draft(self, draft_id: int, text: str | None = None) -> str:
        from harvester.journal_input import EMPTY_CONFIRMATION, check_wording

        wording = None if text is None else check_wording(text, EMPTY_CONFIRMATION)
        entry = self.store.confirm_draft(draft_id, wording, via=VIA_ASSISTANT)
        return f"Confirmed #{draft_id} as journal entry {entry.id}."

    def edit_draft(self, draft_id: int, text: str) -> str:
        from harvester.journal_input import check_wording

        self.store.edit_draft(draft_id, check_wording(text), via=VIA_ASSISTANT)
        return f"Draft #{draft_id} updated."

    def reject_draft(self, draft_id: int, reason: str | None = None) -> str:
        self.store.reject_drafts([draft_id], reason, via=VIA_ASSISTANT)
        return f"Rejected #{draft_id}."
