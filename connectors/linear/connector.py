"""Linear connector: the issues I completed and the projects I lead or worked in that were
completed, through Linear's GraphQL API (POST https://api.linear.app/graphql) with a personal
API key. Queries and filters are in queries.py, HTTP and rate limits in client.py, parsing in
parse.py.

Two streams, each a watermark on `updatedAt`: a harvest asks for what was completed (or
canceled) in the window and updated since the last watermark. Linear orders a connection only
by createdAt or updatedAt, in an undocumented direction, so a stream reads every page of its
query first and yields the records oldest update first: each page the harvest loop commits then
moves the watermark only past records already saved. The watermark is re-read inclusively
(`updatedAt >= watermark`) and the records at that instant are told apart by (id, updatedAt).

Requests per harvest: one per page of issues and one per page of projects (100 to a page);
a nightly harvest with nothing new costs two. Who I am needs no request of its own: issues are
filtered with `assignee: { isMe }`, and the projects query carries `viewer { id }`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator

from harvester.config import read_secret
from harvester.connectors.base import Connector, HarvestWindow, Watermark
from harvester.connectors.linear.client import LinearGraphql
from harvester.connectors.linear.parse import ISSUES, PROJECTS, dedupe_key, parse_issue, parse_project, updated_of
from harvester.connectors.linear.queries import (ISSUES_QUERY, PROJECTS_QUERY, VIEWER_QUERY, issue_filter,
                                                 project_filter)
from harvester.connectors.linear.settings import LinearSettings
from harvester.errors import ConnectorError
from harvester.models import Cursor, Record


class LinearConnector(Connector):
    type_name = "linear"
    settings_class = LinearSettings
    streams = (ISSUES, PROJECTS)
    description = "Linear: issues I completed, with project, cycle, estimate and labels; projects completed."

    def __init__(self, instance, settings: LinearSettings, identity):
        super().__init__(instance, settings, identity)
        self._client: LinearGraphql | None = None
        self._viewer_id: str | None = None

    @property
    def where(self) -> str:
        return f"[connectors.{self.instance}]"

    def check(self) -> None:
        read_secret(self.settings.token_env, f"{self.where} token_env")

    @property
    def client(self) -> LinearGraphql:
        if self._client is None:
            key = read_secret(self.settings.token_env, f"{self.where} token_env")
            self._client = LinearGraphql(self.instance, self.settings, key)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # doctor -----------------------------------------------------------------------------------

    def diagnose(self, since: datetime):
        """Whom the key belongs to (one viewer query) and how many issues assigned to them were
        completed since `since` (one page of at most page_size)."""
        from harvester.doctor import Diagnosis, identity_names, looks_like

        d = Diagnosis(what="completed issues")
        viewer = self.client.execute("Viewer", VIEWER_QUERY).get("viewer")
        d.reachable = True
        viewer = viewer if isinstance(viewer, dict) else {}
        name, email = str(viewer.get("name") or ""), str(viewer.get("email") or "")
        if not viewer.get("id"):
            raise ConnectorError(self.instance, f"Linear did not say who owns the key in {self.settings.token_env}; "
                                                f"check api_url in {self.where}.")
        d.identity = f"{name}{f' <{email}>' if email else ''} ({viewer['id']})"
        known = identity_names(self.identity)
        if not any(n and (n.lower() in self.identity.all_handles or looks_like(n, known)) for n in (name, email)):
            d.add_problem(f"the key in {self.settings.token_env} belongs to {name or email!r}, who neither matches "
                          "your handles nor looks like you: the harvest would collect their issues.",
                          f"Set {self.settings.token_env} to a personal API key of your own account; if it is you, "
                          "add your Linear email to [identity] handles.")
        page = next(self.client.paginate("CompletedIssues", ISSUES_QUERY, "issues",
                                         {"filter": issue_filter(since, since, self.settings.teams)}), [])
        records = list(self.parse_each(page, lambda node: parse_issue(node, self.instance, self.settings)))
        d.matching = sum(1 for r in records if r.attributes.get("resolution") == "Done")
        d.capped = len(page) >= self.settings.page_size
        return d

    # fetch ------------------------------------------------------------------------------------

    def watermark(self, stream: str) -> Watermark:
        return Watermark("updated_at", dedupe_key=dedupe_key)

    def fetch(self, stream: str, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        if stream == PROJECTS and not self.settings.projects:
            return
        watermark = self.watermark(stream)
        start = watermark.start(cursor, window)
        if stream == ISSUES:
            pages = self.client.paginate("CompletedIssues", ISSUES_QUERY, "issues",
                                         {"filter": issue_filter(window.since, start, self.settings.teams)})
            records = [r for page in pages
                       for r in self.parse_each(page, lambda node: parse_issue(node, self.instance, self.settings))]
        elif stream == PROJECTS:
            pages = self.client.paginate("CompletedProjects", PROJECTS_QUERY, "projects",
                                         {"filter": project_filter(window.since, start)}, on_data=self.note_viewer)
            records = [r for page in pages
                       for r in self.parse_each(page, lambda node: parse_project(node, self.instance,
                                                                                 self._viewer_id))]
        else:
            return
        records.sort(key=lambda r: (watermark.time_of(r), updated_of(r), r.external_id))
        yield from watermark.unseen(cursor, records)

    def note_viewer(self, data: Any) -> None:
        viewer = data.get("viewer") if isinstance(data, dict) else None
        if isinstance(viewer, dict) and isinstance(viewer.get("id"), str):
            self._viewer_id = viewer["id"]
