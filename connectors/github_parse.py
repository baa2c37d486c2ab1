"""Pure parsing of GitHub REST and GraphQL JSON into records. No I/O."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from harvester.models import Record

TITLE_CHARS = 300


def parse_time(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def search_time(value: datetime) -> str:
    """A time as the search syntax wants it: 2026-08-24T00:00:00Z."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_bot(user: Mapping[str, Any] | None) -> bool:
    if not isinstance(user, Mapping):
        return False
    login = str(user.get("login") or "")
    return user.get("type") == "Bot" or user.get("__typename") == "Bot" or login.endswith("[bot]")


def user_id(user: Mapping[str, Any] | None) -> int | None:
    if not isinstance(user, Mapping):
        return None
    value = user.get("id") if isinstance(user.get("id"), int) else user.get("databaseId")
    return value if isinstance(value, int) else None


def clip(text: Any, limit: int) -> str:
    text = str(text or "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def repo_of(item: Mapping[str, Any]) -> str:
    """owner/name from a search item's repository_url (or, failing that, its html_url)."""
    url = str(item.get("repository_url") or "")
    if "/repos/" in url:
        return "/".join(url.split("/repos/", 1)[1].split("/")[:2])
    parts = str(item.get("html_url") or "").split("/")
    return "/".join(parts[3:5]) if len(parts) >= 5 else "unknown"


def web_url(base_url: str) -> str:
    """The web address that goes with an API base URL."""
    base = base_url.rstrip("/")
    if base in ("https://api.github.com", "http://api.github.com"):
        return "https://github.com"
    return base[: -len("/api/v3")] if base.endswith("/api/v3") else base


def parse_pull_request(item: Mapping[str, Any], source: str, me: int | None, body_chars: int = 4000) -> Record | None:
    """A merged PR from a /search/issues item; None for unmerged or unusable items."""
    pr = item.get("pull_request")
    merged_at = parse_time(pr.get("merged_at")) if isinstance(pr, Mapping) else None
    if merged_at is None or item.get("id") is None:
        return None
    user = item.get("user") if isinstance(item.get("user"), Mapping) else None
    author = user_id(user)
    login = str(user.get("login")) if user and user.get("login") else None
    repo = repo_of(item)
    number = item.get("number")
    title = clip(item.get("title") or f"#{number}", TITLE_CHARS)
    labels = [str(lb["name"]) for lb in item.get("labels") or () if isinstance(lb, Mapping) and lb.get("name")]
    body = clip(item.get("body"), body_chars)
    updated = parse_time(item.get("updated_at")) or merged_at
    payload = {k: v for k, v in item.items() if k not in ("body", "reactions", "timeline_url", "performed_via_github_app")}
    payload["body"] = body
    return Record(
        source=source, kind="pull_request", external_id=str(item["id"]), occurred_at=merged_at, subject=repo,
        actor=login, mine=author is None or me is None or author == me, title=title, url=item.get("html_url"),
        attributes={"title": title, "number": number, "repo": repo, "merged_at": merged_at.isoformat(),
                    "updated_at": updated.isoformat(), "labels": labels, "body": body, "author_id": author,
                    "author_login": login, "is_bot": is_bot(user), "draft": bool(item.get("draft")),
                    "comments": item.get("comments"), "additions": item.get("additions"),
                    "deletions": item.get("deletions"), "changed_files": item.get("changed_files"),
                    "reviewers": [str(x) for x in item.get("reviewers") or ()]},
        payload=payload,
    )


def merge_pr_details(item: Mapping[str, Any], node: Mapping[str, Any] | None) -> dict:
    """A search item with the sizes and reviewers of its GraphQL PullRequest node (when found)."""
    if not node:
        return dict(item)
    author = (item.get("user") or {}).get("login") if isinstance(item.get("user"), Mapping) else None
    reviewers: list[str] = []
    for review in dig(node, "reviews", "nodes") or ():
        login = dig(review, "author", "login")
        if login and login != author and login not in reviewers:
            reviewers.append(str(login))
    sizes = {"additions": node.get("additions"), "deletions": node.get("deletions"),
             "changed_files": node.get("changedFiles")}
    return {**item, **{k: v for k, v in sizes.items() if isinstance(v, int)}, "reviewers": reviewers}


def dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def pr_version(pr_id: Any, updated: datetime | None) -> str:
    """A PR's id and update time: what tells a re-read PR from a changed one."""
    return f"{pr_id}@{updated.isoformat() if updated else ''}"


def parse_review_contribution(node: Mapping[str, Any], source: str, me: int | None) -> Record | None:
    """A review I gave, from a GraphQL pullRequestReviewContributions node."""
    review = node.get("pullRequestReview") if isinstance(node.get("pullRequestReview"), Mapping) else {}
    pr = node.get("pullRequest") if isinstance(node.get("pullRequest"), Mapping) else {}
    occurred = parse_time(node.get("occurredAt")) or parse_time(review.get("submittedAt"))
    review_id = review.get("databaseId") or review.get("id")
    if occurred is None or not review_id:
        return None
    repo_node = pr.get("repository") if isinstance(pr.get("repository"), Mapping) else {}
    repo = str(repo_node.get("nameWithOwner") or "unknown")
    author = pr.get("author") if isinstance(pr.get("author"), Mapping) else None
    author_id = user_id(author)
    number = pr.get("number")
    title = clip(pr.get("title") or f"#{number}", TITLE_CHARS)
    return Record(
        source=source, kind="review", external_id=str(review_id), occurred_at=occurred, subject=repo,
        actor=None, mine=True, title=f"Review of {repo}#{number}: {title}", url=review.get("url") or pr.get("url"),
        attributes={"state": str(review.get("state") or "").lower(), "repo": repo, "pr_number": number,
                    "pr_title": title, "pr_url": pr.get("url"), "pr_author_id": author_id,
                    "pr_author_login": author.get("login") if author else None,
                    "pr_author_is_bot": is_bot(author),
                    "own_pr": author_id is not None and me is not None and author_id == me, "via": "graphql"},
        payload=dict(node),
    )


def parse_reviewed_pull(item: Mapping[str, Any], source: str, me: int | None) -> Record | None:
    """Fallback: a PR I reviewed, from `is:pr reviewed-by:@me` search (no review time: updated_at)."""
    occurred = parse_time(item.get("updated_at"))
    if occurred is None or item.get("id") is None:
        return None
    user = item.get("user") if isinstance(item.get("user"), Mapping) else None
    author_id = user_id(user)
    repo = repo_of(item)
    number = item.get("number")
    title = clip(item.get("title") or f"#{number}", TITLE_CHARS)
    return Record(
        source=source, kind="review", external_id=f"pr-{item['id']}", occurred_at=occurred, subject=repo,
        actor=None, mine=True, title=f"Review of {repo}#{number}: {title}", url=item.get("html_url"),
        attributes={"state": "", "repo": repo, "pr_number": number, "pr_title": title, "pr_url": item.get("html_url"),
                    "pr_author_id": author_id, "pr_author_login": user.get("login") if user else None,
                    "pr_author_is_bot": is_bot(user),
                    "own_pr": author_id is not None and me is not None and author_id == me, "via": "search"},
        payload={k: v for k, v in item.items() if k != "body"},
    )


def parse_release(item: Mapping[str, Any], source: str, repo: str, me: int | None) -> Record | None:
    if item.get("draft") or item.get("id") is None:
        return None
    created = parse_time(item.get("created_at"))
    occurred = parse_time(item.get("published_at")) or created
    if occurred is None:
        return None
    author = item.get("author") if isinstance(item.get("author"), Mapping) else None
    tag = str(item.get("tag_name") or "")
    name = clip(item.get("name") or tag or f"release {item['id']}", TITLE_CHARS)
    return Record(
        source=source, kind="release", external_id=str(item["id"]), occurred_at=occurred, subject=repo,
        actor=author.get("login") if author else None, mine=me is not None and user_id(author) == me,
        title=name, url=item.get("html_url"),
        attributes={"repo": repo, "tag": tag, "name": name, "prerelease": bool(item.get("prerelease")),
                    "created_at": (created or occurred).isoformat(), "author_id": user_id(author),
                    "is_bot": is_bot(author), "body": clip(item.get("body"), 2000)},
        payload={k: v for k, v in item.items() if k not in ("body", "assets")},
    )


def parse_deployment(item: Mapping[str, Any], source: str, repo: str, me: int | None, web: str) -> Record | None:
    created = parse_time(item.get("created_at"))
    if created is None or item.get("id") is None:
        return None
    creator = item.get("creator") if isinstance(item.get("creator"), Mapping) else None
    environment = str(item.get("environment") or "")
    ref = str(item.get("ref") or "")
    return Record(
        source=source, kind="deployment", external_id=str(item["id"]), occurred_at=created, subject=repo,
        actor=creator.get("login") if creator else None, mine=me is not None and user_id(creator) == me,
        title=clip(f"{ref or str(item.get('sha') or '')[:7]} to {environment or 'an environment'}", TITLE_CHARS),
        url=f"{web}/{repo}/deployments/{environment}" if environment else f"{web}/{repo}/deployments",
        attributes={"repo": repo, "environment": environment, "ref": ref, "sha": item.get("sha"),
                    "task": item.get("task"), "production": bool(item.get("production_environment")),
                    "created_at": created.isoformat(), "creator_id": user_id(creator),
                    "is_bot": is_bot(creator), "description": clip(item.get("description"), 500)},
        payload=dict(item),
    )
