"""A team's GitHub harvest: one search of the merged pull requests of the team's organizations,
attributed by author, instead of one `author:@me` search per member.

The details query of each search page (one per 100 PRs, as for one engineer) also reads each
PR's reviews, so the reviews members gave on those PRs cost no request of their own. Reviews of
pull requests that never merged are not seen this way; a member's own harvest reads them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from harvester.connectors.coerce import api_time, as_list, as_mapping, clip, text_or_none
from harvester.connectors.github.parse import (REVIEWS, TITLE_CHARS, dig, id_text, is_bot, item_version,
                                               parse_pull_request, parse_time, require_mapping, review_database_id,
                                               user_id)
from harvester.errors import ConfigError, MalformedItemError
from harvester.models import Cursor, Record, utcnow
from harvester.records import make_review_attributes, make_review_record

if TYPE_CHECKING:
    from harvester.connectors.base import HarvestWindow
    from harvester.connectors.github.connector import GithubConnector

# The search page's sizes and reviewers, and each review's id, state, time and author.
TEAM_PR_DETAILS_QUERY = """
query($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on PullRequest {
      id additions deletions changedFiles
      reviews(first: 100) { nodes { id fullDatabaseId state submittedAt url author { login } } }
    }
  }
}
"""
TEAM_PR_DETAILS_QUERY_OLD_IDS = TEAM_PR_DETAILS_QUERY.replace("id fullDatabaseId state", "id databaseId state")


def member_logins(connector: GithubConnector) -> frozenset[str]:
    return frozenset(m.settings.github.strip().lower() for m in connector.members if m.settings.github.strip())


def check_team_scope(connector: GithubConnector) -> None:
    if not connector.settings.orgs:
        where = f"[connectors.{connector.instance}]"
        raise ConfigError(f"{where}: a team's GitHub harvest searches the team's organizations: set orgs = "
                          "[\"your-org\"] (a token of the organization with read access to its pull requests).")


def team_queries(connector: GithubConnector, cursor: Cursor | None, window: HarvestWindow) -> list[str]:
    """One search per organization (GitHub ANDs repeated org: qualifiers in issue search)."""
    first = window.forced or cursor is None or cursor.value is None
    merged = f" merged:>={api_time(window.since)}" if first else ""
    return [f"is:pr is:merged org:{org}{merged}" for org in connector.settings.orgs]


def fetch_team_pull_requests(connector: GithubConnector, cursor: Cursor | None,
                             window: HarvestWindow) -> Iterator[Record]:
    """Members' merged PRs and the reviews members gave on the organizations' merged PRs."""
    logins = member_logins(connector)
    start = connector.watermark("pull_requests").start(cursor, window)
    stored = set(cursor.state.get("recent", ())) if cursor is not None and not window.forced else set()
    seen: set[str] = set()
    read = connector.team_read
    for query in team_queries(connector, cursor, window):
        items = (i for i in connector.search_issues(query, start, "pull requests") if item_version(i) not in stored)
        for item in connector.details.add_to(items):
            read.note(item)
            for records in connector.parse_each([item], lambda i: parse_team_pull(i, connector, logins)):
                for record in records:
                    if record.external_id not in seen:
                        seen.add(record.external_id)
                        yield record


class TeamSearchProgress:
    """How far a team's search read, members' PRs or not: the cursor moves past colleagues' PRs
    too, so the next night does not search and detail them again."""

    def __init__(self):
        self.latest: datetime | None = None
        self.versions: set[str] = set()

    def note(self, item: Mapping[str, Any]) -> None:
        updated, version = parse_time(item.get("updated_at")), item_version(item)
        if updated is not None and version is not None:
            self.latest = updated if self.latest is None else max(self.latest, updated)
            self.versions.add(version)

    def advance(self, connector: GithubConnector, cursor: Cursor | None) -> Cursor | None:
        """The final cursor of the stream: its watermark at least the latest update read, and
        every PR read inside the next overlap remembered as read."""
        if self.latest is None:
            return cursor
        value = max(filter(None, (self.latest, parse_time(cursor.value) if cursor else None)))
        horizon = connector.watermark("pull_requests").horizon(value)
        recent = set(cursor.state.get("recent", ())) if cursor else set()
        kept = sorted(v for v in recent | self.versions if (parse_time(v.split("@", 1)[1]) or value) > horizon)
        state = {**(cursor.state if cursor else {}), "recent": kept}
        seen = cursor.seen_ids if cursor and parse_time(cursor.value) == value else frozenset()
        return Cursor(source=connector.instance, stream="pull_requests", value=value.isoformat(), seen_ids=seen,
                      state=state, updated_at=utcnow())


def parse_team_pull(item: Any, connector: GithubConnector, logins: frozenset[str]) -> list[Record]:
    """The PR when a member wrote it, then the reviews members gave on it, oldest first."""
    found: list[Record] = []
    pr = parse_pull_request(item, connector.instance, None, connector.settings.body_chars)
    if pr is None:
        return found
    author = (pr.actor or "").lower()
    if author in logins and not (connector.settings.exclude_bots and pr.attributes["is_bot"]):
        found.append(pr)
    for node in as_list(item.get("review_nodes")):
        try:
            review = parse_team_review(node, item, pr, connector.instance, logins)
        except MalformedItemError as exc:
            connector.skip_malformed(exc)
            continue
        if review is not None:
            found.append(review)
    return sorted(found, key=lambda r: r.occurred_at)


def parse_team_review(node: Any, item: Mapping[str, Any], pr: Record, source: str,
                      logins: frozenset[str]) -> Record | None:
    """A review a member gave on someone else's PR, from the details query's review node."""
    node = require_mapping(node, REVIEWS)
    reviewer = text_or_none(dig(node, "author", "login"))
    author = pr.actor or ""
    if not reviewer or reviewer.lower() not in logins or reviewer.lower() == author.lower():
        return None
    review_id = review_database_id(node) or id_text(node.get("id"))
    if review_id is None:
        raise MalformedItemError(REVIEWS, "", "no usable 'fullDatabaseId' or 'id'")
    occurred = parse_time(node.get("submittedAt"))
    if occurred is None:  # a pending review has no time: not given yet
        return None
    a = pr.attributes
    user = as_mapping(item.get("user"))
    title = clip(a["title"], TITLE_CHARS)
    attributes = make_review_attributes(
        state=(text_or_none(node.get("state")) or "").lower(), repo=a["repo"], pr_number=a["number"], pr_title=title,
        pr_url=pr.url, pr_author_id=user_id(user), pr_author_login=author or None, pr_author_is_bot=is_bot(user),
        own_pr=False, via="graphql")
    return make_review_record(source, review_id, occurred, a["repo"], attributes, actor=reviewer, mine=True,
                              title=f"Review of {a['repo']}#{a['number']}: {title}",
                              url=text_or_none(node.get("url")) or pr.url, payload=dict(node))


def attribute_to_members(connector: GithubConnector, records: Iterator[Record]) -> Iterator[Record]:
    """Releases and deployments of the listed repositories: a member's when a member made them."""
    logins = member_logins(connector)
    for record in records:
        mine = (record.actor or "").strip().lower() in logins
        yield record if record.mine == mine else replace(record, mine=mine)
