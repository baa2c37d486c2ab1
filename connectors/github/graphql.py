"""The GraphQL queries of the GitHub connector, and how to read the errors a server answers them with."""

from __future__ import annotations

from typing import Any, Mapping

from harvester.connectors.coerce import as_list
from harvester.connectors.github.parse import dig
from harvester.redact import quote_server_message

# Search results carry no sizes or reviewers: one query per search page adds them.
PR_DETAILS_QUERY = """
query($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on PullRequest {
      id additions deletions changedFiles
      reviews(first: 50) { nodes { author { login } } }
    }
  }
}
"""

# `databaseId` is deprecated for `fullDatabaseId` (a BigInt, sent as a string); Enterprise
# servers older than that field get REVIEWS_QUERY_OLD_IDS.
REVIEWS_QUERY = """
query($from: DateTime!, $to: DateTime!, $after: String) {
  viewer {
    contributionsCollection(from: $from, to: $to) {
      pullRequestReviewContributions(first: 100, after: $after, orderBy: {direction: ASC}) {
        pageInfo { hasNextPage endCursor }
        nodes {
          occurredAt
          pullRequestReview { id fullDatabaseId state submittedAt url }
          pullRequest {
            number title url
            author { __typename login ... on User { databaseId } ... on Bot { databaseId } }
            repository { nameWithOwner }
          }
        }
      }
    }
  }
}
"""
REVIEWS_QUERY_OLD_IDS = REVIEWS_QUERY.replace("id fullDatabaseId state", "id databaseId state")


def graphql_message(errors: Any) -> str:
    first = as_list(errors)[0] if as_list(errors) else errors
    message = dig(first, "message") if isinstance(first, Mapping) else None
    return quote_server_message(message, 200) or "unknown error"


def graphql_field_missing(errors: Any, field: str) -> bool:
    """Whether a GraphQL error says `field` is not in this server's schema."""
    for error in as_list(errors):
        if not isinstance(error, Mapping):
            continue
        if dig(error, "extensions", "fieldName") == field:
            return True
        message = error.get("message")
        if isinstance(message, str) and f"'{field}' doesn't exist" in message:
            return True
    return False


def graphql_unsupported(errors: Any) -> bool:
    errors = [e for e in as_list(errors) if isinstance(e, Mapping)]
    text = " ".join(str(e.get("message", "")) for e in errors).lower()
    types = {str(dig(e, "extensions", "code") or "") for e in errors}
    return "undefinedfield" in {t.lower() for t in types} or (
        "doesn't exist" in text and ("contributionscollection" in text or "pullrequestreviewcontributions" in text))
