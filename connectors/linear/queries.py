"""The read-only GraphQL documents the Linear connector sends, and the filters they carry.

Field and filter names follow Linear's published schema (packages/sdk/src/schema.graphql in
github.com/linear/linear): `issues` and `projects` are relay connections taking `filter`,
`first` (at most 250), `after` and `orderBy` (only `createdAt` or `updatedAt`; the order's
direction is not documented, so the connector sorts what it read itself). `IssueFilter` has
`assignee.isMe`, `completedAt`, `canceledAt`, `updatedAt` and `team.key`; `ProjectFilter` has
`lead.isMe` and `members.some.isMe`. No filter names who completed an issue, so "mine" is the assignee.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Sequence

VIEWER_QUERY = """query Viewer {
  viewer {
    id
    name
    email
  }
}"""

# Labels are a connection inside each issue: Linear multiplies its complexity by `first`
# (50 when unset), so a small explicit page keeps a 100-issue page far below the 10,000 cap.
ISSUES_QUERY = """query CompletedIssues($filter: IssueFilter, $first: Int, $after: String) {
  issues(filter: $filter, first: $first, after: $after, orderBy: updatedAt) {
    nodes {
      id
      identifier
      title
      url
      priority
      priorityLabel
      estimate
      createdAt
      updatedAt
      completedAt
      canceledAt
      state {
        name
        type
      }
      team {
        key
        name
      }
      project {
        id
        name
        url
      }
      cycle {
        number
        name
      }
      parent {
        identifier
      }
      assignee {
        id
      }
      labels(first: 20) {
        nodes {
          name
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}"""

# `viewer` rides along with every page of projects: telling whether I lead a project costs no
# request of its own.
PROJECTS_QUERY = """query CompletedProjects($filter: ProjectFilter, $first: Int, $after: String) {
  viewer {
    id
  }
  projects(filter: $filter, first: $first, after: $after, orderBy: updatedAt) {
    nodes {
      id
      name
      url
      createdAt
      updatedAt
      startedAt
      completedAt
      canceledAt
      status {
        name
        type
      }
      lead {
        id
      }
      teams(first: 5) {
        nodes {
          key
          name
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}"""

IS_ME = {"isMe": {"eq": True}}


def graphql_time(value: datetime) -> str:
    """Linear's DateTime: ISO 8601 in UTC with milliseconds and a Z."""
    utc = value.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def closed_since(since: datetime) -> dict[str, Any]:
    """Completed or canceled in the window: a canceled issue is read so it can replace a stored
    completion (and draft nothing)."""
    return {"or": [{"completedAt": {"gte": graphql_time(since)}}, {"canceledAt": {"gte": graphql_time(since)}}]}


def issue_filter(since: datetime, updated_from: datetime, teams: Sequence[str]) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"assignee": IS_ME}, {"updatedAt": {"gte": graphql_time(updated_from)}},
                                   closed_since(since)]
    if teams:
        parts.append({"team": {"key": {"in": list(teams)}}})
    return {"and": parts}


def project_filter(since: datetime, updated_from: datetime) -> dict[str, Any]:
    return {"and": [{"or": [{"lead": IS_ME}, {"members": {"some": IS_ME}}]},
                    {"updatedAt": {"gte": graphql_time(updated_from)}}, closed_since(since)]}
