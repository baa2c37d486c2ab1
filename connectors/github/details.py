"""Sizes and reviewers of searched pull requests: search results carry neither, so each search
page of up to 100 PRs costs one GraphQL `nodes` query for them, not a GET per PR."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Iterable, Iterator

from harvester.connectors.coerce import as_list, as_mapping
from harvester.connectors.github.graphql import PR_DETAILS_QUERY, graphql_field_missing, graphql_unsupported
from harvester.connectors.github.parse import details_by_id, dig, id_text, merge_pr_details
from harvester.errors import ConnectorError

if TYPE_CHECKING:
    from harvester.connectors.github.connector import GithubConnector

log = logging.getLogger("harvester")

DETAILS_BATCH = 100  # search items per PR details query: one search page


class PrDetailsReader:
    """Adds details to search items in batches of one search page. `keep_reviews` also keeps
    each PR's review nodes (`review_nodes`) for a team's harvest, asked with `query`, and with
    `fallback_query` on a server whose schema lacks a field of it."""

    def __init__(self, connector: GithubConnector, query: str = PR_DETAILS_QUERY, fallback_query: str | None = None,
                 keep_reviews: bool = False):
        self.connector = connector
        self.query = query
        self.fallback_query = fallback_query
        self.keep_reviews = keep_reviews
        self.unavailable = False

    def add_to(self, items: Iterable[dict]) -> Iterator[dict]:
        batch: list[dict] = []
        for item in items:
            batch.append(item)
            if len(batch) == DETAILS_BATCH:
                yield from self.add_to_batch(batch)
                batch = []
        if batch:
            yield from self.add_to_batch(batch)

    def add_to_batch(self, items: list[dict]) -> list[dict]:
        ids = [i["node_id"] for i in items if isinstance(i.get("node_id"), str)
               and id_text(i["node_id"]) == i["node_id"] and dig(i, "pull_request", "merged_at")]
        if not ids or self.unavailable:
            return items
        data = self.ask(ids)
        if data is None or graphql_unsupported(data.get("errors")):
            log.warning("%s: this GitHub server has no GraphQL API; PR sizes and reviewers are left out.",
                        self.connector.instance)
            self.unavailable = True
            return items
        details = details_by_id(dig(data, "data", "nodes"))
        merged = []
        for item in items:
            node = details.get(item.get("node_id")) if isinstance(item.get("node_id"), str) else None
            full = merge_pr_details(item, node)
            if self.keep_reviews:
                full["review_nodes"] = as_list(dig(node, "reviews", "nodes")) if node else []
            merged.append(full)
        return merged

    def ask(self, ids: list[str]) -> dict | None:
        """The query's answer; None when the server has no GraphQL endpoint."""
        while True:
            try:
                response = self.connector.http.graphql(self.query, {"ids": ids})
            except ConnectorError as exc:
                if exc.status != 404:
                    raise
                return None
            data = dict(as_mapping(response.data))
            if self.fallback_query and graphql_field_missing(data.get("errors"), "fullDatabaseId"):
                self.query, self.fallback_query = self.fallback_query, None
                continue
            return data
