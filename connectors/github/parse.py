"""Pure parsing of GitHub REST and GraphQL JSON into records. No I/O.

Each parser takes one item of a source's answer. Optional fields of the wrong type are
read as absent; an item without what identifies it (its id, number or time) raises
MalformedItemError, which the connector counts and skips.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from harvester.connectors.coerce import as_list, as_mapping, clip, id_text, int_or_none, parse_time, text_or_none
from harvester.errors import MalformedItemError
from harvester.models import Record
from harvester.records import (make_deployment_attributes, make_deployment_record, make_pull_request_attributes,
                               make_pull_request_record, make_release_attributes, make_release_record,
                               make_review_attributes, make_review_record)

TITLE_CHARS = 300
PULL_REQUESTS, REVIEWS, RELEASES, DEPLOYMENTS = "pull requests", "reviews", "releases", "deployments"


def describe(value: Any) -> str:
    """An item's id for a log line, whatever the server sent."""
    return clip(value, 60) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""

def shape_of(data: Any) -> str:
    """What a malformed answer was, for a one-line error."""
    if data is None:
        return "nothing"
    return f"a JSON {type(data).__name__}" if not isinstance(data, (dict, list)) else \
        ("an object" if isinstance(data, dict) else "a list")


def require_mapping(item: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise MalformedItemError(what, "", f"expected an object, got {type(item).__name__}")
    return item


def require_id(item: Mapping[str, Any], what: str, key: str = "id") -> str:
    value = id_text(item.get(key))
    if value is None:
        raise MalformedItemError(what, describe(item.get("number")), f"no usable {key!r}")
    return value


def require_time(value: Any, what: str, item_id: str, name: str) -> datetime:
    parsed = parse_time(value)
    if parsed is None:
        raise MalformedItemError(what, item_id, f"no usable {name!r}")
    return parsed


def is_bot(user: Mapping[str, Any] | None) -> bool:
    if not isinstance(user, Mapping):
        return False
    login = str(user.get("login") or "")
    return user.get("type") == "Bot" or user.get("__typename") == "Bot" or login.endswith("[bot]")


def user_id(user: Mapping[str, Any] | None) -> int | None:
    if not isinstance(user, Mapping):
        return None
    return int_or_none(user.get("id")) if int_or_none(user.get("id")) is not None else int_or_none(user.get("databaseId"))


def repo_of(item: Mapping[str, Any]) -> str:
    """owner/name from a search item's repository_url (or, failing that, its html_url)."""
    url = text_or_none(item.get("repository_url")) or ""
    if "/repos/" in url:
        return "/".join(url.split("/repos/", 1)[1].split("/")[:2])
    parts = (text_or_none(item.get("html_url")) or "").split("/")
    return "/".join(parts[3:5]) if len(parts) >= 5 else "unknown"


def web_url(base_url: str) -> str:
    """The web address that goes with an API base URL."""
    base = base_url.rstrip("/")
    if base in ("https://api.github.com", "http://api.github.com"):
        return "https://github.com"
    return base[: -len("/api/v3")] if base.endswith("/api/v3") else base


def dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def pr_version(pr_id: Any, updated: datetime | None) -> str:
    """A PR's id and update time: what tells a re-read PR from a changed one."""
    return f"{pr_id}@{updated.isoformat() if updated else ''}"


def item_version(item: Any) -> str | None:
    """`pr_version` of a raw search item, or None when it has no usable id."""
    if not isinstance(item, Mapping) or id_text(item.get("id")) is None:
        return None
    return pr_version(item.get("id"), parse_time(item.get("updated_at")))


def require_number(item: Mapping[str, Any], what: str, item_id: str) -> int:
    number = int_or_none(item.get("number"))
    if number is None:
        raise MalformedItemError(what, item_id, "no usable 'number'")
    return number


# pull requests ---------------------------------------------------------------------------


def parse_pull_request(item: Any, source: str, me: int | None, body_chars: int = 4000) -> Record | None:
    """A merged PR from a /search/issues item; None for an unmerged one."""
    item = require_mapping(item, PULL_REQUESTS)
    pr_id = require_id(item, PULL_REQUESTS)
    pr = item.get("pull_request")
    if not isinstance(pr, Mapping):
        raise MalformedItemError(PULL_REQUESTS, pr_id, "no 'pull_request' object")
    if pr.get("merged_at") is None:
        return None
    merged_at = require_time(pr.get("merged_at"), PULL_REQUESTS, pr_id, "pull_request.merged_at")
    number = require_number(item, PULL_REQUESTS, pr_id)
    user = item.get("user") if isinstance(item.get("user"), Mapping) else None
    author = user_id(user)
    login = text_or_none(user.get("login")) if user else None
    repo = repo_of(item)
    title = clip(item.get("title") if isinstance(item.get("title"), str) and item["title"] else f"#{number}",
                 TITLE_CHARS)
    labels = [clip(lb["name"], 100) for lb in as_list(item.get("labels"))
              if isinstance(lb, Mapping) and isinstance(lb.get("name"), str) and lb["name"]]
    body = clip(item.get("body") if isinstance(item.get("body"), str) else "", body_chars)
    updated = parse_time(item.get("updated_at")) or merged_at
    payload = {k: v for k, v in item.items() if k not in ("body", "reactions", "timeline_url", "performed_via_github_app")}
    payload["body"] = body
    attributes = make_pull_request_attributes(
        title=title, number=number, repo=repo, merged_at=merged_at.isoformat(), updated_at=updated.isoformat(),
        labels=labels, body=body, author_id=author, author_login=login, is_bot=is_bot(user),
        draft=item.get("draft") is True, comments=int_or_none(item.get("comments")),
        additions=int_or_none(item.get("additions")), deletions=int_or_none(item.get("deletions")),
        changed_files=int_or_none(item.get("changed_files")),
        reviewers=[r for r in as_list(item.get("reviewers")) if isinstance(r, str)])
    return make_pull_request_record(source, pr_id, merged_at, repo, attributes, actor=login,
                                    mine=author is None or me is None or author == me, title=title,
                                    url=text_or_none(item.get("html_url")), payload=payload)


def merge_pr_details(item: Mapping[str, Any], node: Any) -> dict:
    """A search item with the sizes and reviewers of its GraphQL PullRequest node (when found)."""
    if not isinstance(node, Mapping) or not node:
        return dict(item)
    author = text_or_none(dig(item, "user", "login"))
    reviewers: list[str] = []
    for review in as_list(dig(node, "reviews", "nodes")):
        login = text_or_none(dig(review, "author", "login"))
        if login and login != author and login not in reviewers:
            reviewers.append(login)
    sizes = {"additions": node.get("additions"), "deletions": node.get("deletions"),
             "changed_files": node.get("changedFiles")}
    return {**item, **{k: v for k, v in sizes.items() if int_or_none(v) is not None}, "reviewers": reviewers}


def details_by_id(nodes: Any) -> dict[str, Mapping[str, Any]]:
    """The PullRequest nodes of a details query, by node id."""
    return {n["id"]: n for n in as_list(nodes)
            if isinstance(n, Mapping) and isinstance(n.get("id"), str) and id_text(n["id"]) == n["id"]}


# reviews --------------------------------------------------------------------------------


def review_database_id(review: Mapping[str, Any]) -> str | None:
    """The review's numeric id as decimal text: `fullDatabaseId` (a BigInt, sent as a string),
    else the deprecated `databaseId` (an Int) of older Enterprise servers. Both give the same
    number, so reviews stored under either keep one external_id."""
    full = review.get("fullDatabaseId")
    if isinstance(full, str) and full.strip().isdigit():
        return str(int(full.strip()))
    if int_or_none(full) is not None and full > 0:
        return str(full)
    old = int_or_none(review.get("databaseId"))
    return str(old) if old is not None and old > 0 else None


def parse_review_contribution(node: Any, source: str, me: int | None) -> Record:
    """A review I gave, from a GraphQL pullRequestReviewContributions node."""
    node = require_mapping(node, REVIEWS)
    review = as_mapping(node.get("pullRequestReview"))
    pr = as_mapping(node.get("pullRequest"))
    review_id = review_database_id(review) or id_text(review.get("id"))
    if review_id is None:
        raise MalformedItemError(REVIEWS, "", "no usable 'pullRequestReview.fullDatabaseId' or 'id'")
    occurred = parse_time(node.get("occurredAt")) or parse_time(review.get("submittedAt"))
    if occurred is None:
        raise MalformedItemError(REVIEWS, review_id, "no usable 'occurredAt'")
    repo = text_or_none(dig(pr, "repository", "nameWithOwner")) or "unknown"
    author = pr.get("author") if isinstance(pr.get("author"), Mapping) else None
    author_id = user_id(author)
    number = int_or_none(pr.get("number"))
    title = clip(pr.get("title") if isinstance(pr.get("title"), str) and pr["title"] else f"#{number}", TITLE_CHARS)
    where = f"{repo}#{number}" if number is not None else repo
    pr_url = text_or_none(pr.get("url"))
    attributes = make_review_attributes(
        state=(text_or_none(review.get("state")) or "").lower(), repo=repo, pr_number=number, pr_title=title,
        pr_url=pr_url, pr_author_id=author_id, pr_author_login=text_or_none(author.get("login")) if author else None,
        pr_author_is_bot=is_bot(author), own_pr=author_id is not None and me is not None and author_id == me,
        via="graphql")
    return make_review_record(source, review_id, occurred, repo, attributes, actor=None, mine=True,
                              title=f"Review of {where}: {title}", url=text_or_none(review.get("url")) or pr_url,
                              payload=dict(node))


def parse_reviewed_pull(item: Any, source: str, me: int | None) -> Record:
    """Fallback: a PR I reviewed, from `is:pr reviewed-by:@me` search (no review time: updated_at)."""
    item = require_mapping(item, REVIEWS)
    pr_id = require_id(item, REVIEWS)
    occurred = require_time(item.get("updated_at"), REVIEWS, pr_id, "updated_at")
    number = require_number(item, REVIEWS, pr_id)
    user = item.get("user") if isinstance(item.get("user"), Mapping) else None
    author_id = user_id(user)
    repo = repo_of(item)
    title = clip(item.get("title") if isinstance(item.get("title"), str) and item["title"] else f"#{number}",
                 TITLE_CHARS)
    url = text_or_none(item.get("html_url"))
    attributes = make_review_attributes(
        state="", repo=repo, pr_number=number, pr_title=title, pr_url=url, pr_author_id=author_id,
        pr_author_login=text_or_none(user.get("login")) if user else None, pr_author_is_bot=is_bot(user),
        own_pr=author_id is not None and me is not None and author_id == me, via="search")
    return make_review_record(source, f"pr-{pr_id}", occurred, repo, attributes, actor=None, mine=True,
                              title=f"Review of {repo}#{number}: {title}", url=url,
                              payload={k: v for k, v in item.items() if k != "body"})


# releases and deployments -----------------------------------------------------------------


def parse_release(item: Any, source: str, repo: str, me: int | None) -> Record | None:
    """A published release; None for a draft. It happened when it was published: `created_at`
    is the date of the release's commit, which can be long before."""
    item = require_mapping(item, RELEASES)
    if item.get("draft") is True:
        return None
    release_id = require_id(item, RELEASES)
    created = parse_time(item.get("created_at"))
    published = parse_time(item.get("published_at"))
    occurred = published or created
    if occurred is None:
        raise MalformedItemError(RELEASES, release_id, "no usable 'published_at' or 'created_at'")
    author = item.get("author") if isinstance(item.get("author"), Mapping) else None
    tag = clip(text_or_none(item.get("tag_name")) or "", TITLE_CHARS)
    name = clip(text_or_none(item.get("name")) or tag or f"release {release_id}", TITLE_CHARS)
    attributes = make_release_attributes(
        repo=repo, tag=tag, name=name, prerelease=item.get("prerelease") is True,
        created_at=(created or occurred).isoformat(), published_at=occurred.isoformat(), author_id=user_id(author),
        is_bot=is_bot(author), body=clip(text_or_none(item.get("body")), 2000))
    return make_release_record(source, release_id, occurred, repo, attributes,
                               actor=text_or_none(author.get("login")) if author else None,
                               mine=me is not None and user_id(author) == me, title=name,
                               url=text_or_none(item.get("html_url")),
                               payload={k: v for k, v in item.items() if k not in ("body", "assets")})


def parse_deployment(item: Any, source: str, repo: str, me: int | None, web: str) -> Record:
    item = require_mapping(item, DEPLOYMENTS)
    deployment_id = require_id(item, DEPLOYMENTS)
    created = require_time(item.get("created_at"), DEPLOYMENTS, deployment_id, "created_at")
    creator = item.get("creator") if isinstance(item.get("creator"), Mapping) else None
    environment = clip(text_or_none(item.get("environment")) or "", 200)
    ref = clip(text_or_none(item.get("ref")) or "", 200)
    sha = text_or_none(item.get("sha"))
    attributes = make_deployment_attributes(
        repo=repo, environment=environment, ref=ref, sha=sha, task=text_or_none(item.get("task")),
        production=item.get("production_environment") is True, created_at=created.isoformat(),
        creator_id=user_id(creator), is_bot=is_bot(creator),
        description=clip(text_or_none(item.get("description")), 500))
    return make_deployment_record(
        source, deployment_id, created, repo, attributes,
        actor=text_or_none(creator.get("login")) if creator else None, mine=me is not None and user_id(creator) == me,
        title=clip(f"{ref or (sha or '')[:7]} to {environment or 'an environment'}", TITLE_CHARS),
        url=f"{web}/{repo}/deployments/{environment}" if environment else f"{web}/{repo}/deployments",
        payload=dict(item))
