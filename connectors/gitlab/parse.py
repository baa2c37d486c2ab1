"""Pure parsing of GitLab REST JSON into records. No I/O.

Each parser takes one item of a list answer. Optional fields of the wrong type are read as
absent; an item without what identifies it (its id, iid or time) raises MalformedItemError,
which the connector counts and skips.
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
MERGE_REQUESTS, APPROVALS, RELEASES, DEPLOYMENTS = "merge requests", "approvals", "releases", "deployments"
COMMENTS = "review comments"
NOTE_TYPES = ("Note", "DiffNote", "DiscussionNote")  # a comment, a comment on a diff line, a reply in a thread


def require_mapping(item: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise MalformedItemError(what, "", f"expected an object, got {type(item).__name__}")
    return item


def require_id(item: Mapping[str, Any], what: str, key: str = "id") -> str:
    value = id_text(item.get(key))
    if value is None:
        raise MalformedItemError(what, "", f"no usable {key!r}")
    return value


def require_time(value: Any, what: str, item_id: str, name: str) -> datetime:
    parsed = parse_time(value)
    if parsed is None:
        raise MalformedItemError(what, item_id, f"no usable {name!r}")
    return parsed


def username(user: Any) -> str | None:
    return text_or_none(as_mapping(user).get("username"))


def is_bot(user: Any) -> bool:
    """GitLab's bot users: `bot: true` where the server says so, else the project/group access
    token and service account naming (project_123_bot_...)."""
    user = as_mapping(user)
    name = username(user) or ""
    return user.get("bot") is True or (name.startswith(("project_", "group_")) and "_bot" in name) \
        or name.endswith("-bot") or name.endswith("[bot]")


def same_user(a: str | None, b: str | None) -> bool:
    return bool(a and b and a.lower() == b.lower())


def project_path(item: Mapping[str, Any]) -> str:
    """group/name of a merge request: `references.full` is "group/name!iid"; failing that,
    the path of its web_url before "/-/merge_requests"."""
    full = text_or_none(as_mapping(item.get("references")).get("full")) or ""
    if "!" in full:
        return full.rsplit("!", 1)[0]
    url = text_or_none(item.get("web_url")) or ""
    if "://" in url:
        path = url.split("://", 1)[1].split("/", 1)[-1]
        for marker in ("/-/merge_requests/", "/merge_requests/"):
            if marker in path:
                return path.split(marker, 1)[0]
    return "unknown"


# merge requests ------------------------------------------------------------------------


def parse_merge_request(item: Any, source: str, me: str | None, body_chars: int = 4000) -> Record | None:
    """A merged MR from a /merge_requests list item; None for one not merged."""
    item = require_mapping(item, MERGE_REQUESTS)
    mr_id = require_id(item, MERGE_REQUESTS)
    if item.get("state") not in (None, "merged"):
        return None
    merged_at = require_time(item.get("merged_at"), MERGE_REQUESTS, mr_id, "merged_at")
    iid = int_or_none(item.get("iid"))
    if iid is None:
        raise MalformedItemError(MERGE_REQUESTS, mr_id, "no usable 'iid'")
    author = as_mapping(item.get("author"))
    login = username(author)
    repo = project_path(item)
    title = clip(text_or_none(item.get("title")) or f"!{iid}", TITLE_CHARS)
    labels = [clip(lb, 100) for lb in as_list(item.get("labels")) if isinstance(lb, str) and lb]
    labels += [clip(lb["name"], 100) for lb in as_list(item.get("labels"))  # with_labels_details=true
               if isinstance(lb, Mapping) and isinstance(lb.get("name"), str) and lb["name"]]
    body = clip(text_or_none(item.get("description")) or "", body_chars)
    updated = parse_time(item.get("updated_at")) or merged_at
    reviewers = [name for r in as_list(item.get("reviewers"))
                 if (name := username(r)) and not same_user(name, login)]
    payload = {k: v for k, v in item.items() if k not in ("description", "time_stats", "task_completion_status")}
    payload["description"] = body
    attributes = make_pull_request_attributes(
        title=title, number=iid, repo=repo, merged_at=merged_at.isoformat(), updated_at=updated.isoformat(),
        labels=labels, body=body, author_id=int_or_none(author.get("id")), author_login=login, is_bot=is_bot(author),
        draft=item.get("draft") is True or item.get("work_in_progress") is True,
        comments=int_or_none(item.get("user_notes_count")), reviewers=reviewers, forge="gitlab")
    return make_pull_request_record(source, mr_id, merged_at, repo, attributes, actor=login,
                                    mine=me is None or login is None or same_user(login, me), title=title,
                                    url=text_or_none(item.get("web_url")), payload=payload)


# approvals -----------------------------------------------------------------------------


def parse_approval(event: Any, source: str, paths: Mapping[str, str],
                   approved: Mapping[tuple[str, int], Mapping[str, Any]], me: str | None, web: str) -> Record | None:
    """An approval I gave, from a /events item of action `approved` on a MergeRequest; None
    for any other event. `paths` maps project ids to group/name, `approved` (project id, iid)
    to the merge request's list item, which names its author."""
    event = require_mapping(event, APPROVALS)
    event_id = require_id(event, APPROVALS)
    if event.get("target_type") != "MergeRequest" or event.get("action_name") != "approved":
        return None
    occurred = require_time(event.get("created_at"), APPROVALS, event_id, "created_at")
    iid = int_or_none(event.get("target_iid"))
    project_id = id_text(event.get("project_id")) or ""
    mr = as_mapping(approved.get((project_id, iid))) if iid is not None else {}
    repo = project_path(mr) if mr else paths.get(project_id, "unknown")
    title = clip(text_or_none(event.get("target_title")) or text_or_none(mr.get("title"))
                 or (f"!{iid}" if iid is not None else "a merge request"), TITLE_CHARS)
    url = text_or_none(mr.get("web_url")) or \
        (f"{web}/{repo}/-/merge_requests/{iid}" if repo != "unknown" and iid is not None else None)
    author = as_mapping(mr.get("author"))
    attributes = make_review_attributes(
        state="approved", repo=repo, pr_number=iid, pr_title=title, pr_url=url,
        pr_author_id=int_or_none(author.get("id")), pr_author_login=username(author), pr_author_is_bot=is_bot(author),
        own_pr=same_user(username(author), me), via="events", forge="gitlab")
    where = f"{repo}!{iid}" if iid is not None else repo
    return make_review_record(source, f"approval-{event_id}", occurred, repo, attributes,
                              actor=username(event.get("author")) or text_or_none(event.get("author_username")),
                              mine=True, title=f"Approval of {where}: {title}", url=url, payload=dict(event))


def merge_request_key(event: Any) -> tuple[str, int] | None:
    """(project id, iid) of the merge request an approval or comment event is about (None for a
    comment on anything else): an approval names it in `target_iid`, a comment in
    `note.noteable_iid` (its `target_iid` is the note's)."""
    event = as_mapping(event)
    project_id = id_text(event.get("project_id"))
    note = as_mapping(event.get("note"))
    if note and note.get("noteable_type") != "MergeRequest":
        return None
    iid = int_or_none(note.get("noteable_iid") if note else event.get("target_iid"))
    return (project_id, iid) if project_id and iid is not None else None


def parse_review_comment(event: Any, source: str, paths: Mapping[str, str],
                         merge_requests: Mapping[tuple[str, int], Mapping[str, Any]], me: str | None,
                         web: str) -> Record | None:
    """A merge request I commented on, from a /events item of action `commented on` whose note
    is on a MergeRequest; None for a comment on anything else. Every comment on one merge
    request is the same record, `review-<project id>-<iid>`: one review, however many comments."""
    event = require_mapping(event, COMMENTS)
    event_id = require_id(event, COMMENTS)
    note = as_mapping(event.get("note"))
    if event.get("target_type") not in NOTE_TYPES or note.get("noteable_type") != "MergeRequest" \
            or note.get("system") is True:
        return None
    occurred = require_time(event.get("created_at"), COMMENTS, event_id, "created_at")
    key = merge_request_key(event)
    if key is None:
        raise MalformedItemError(COMMENTS, event_id, "no usable 'project_id' or 'note.noteable_iid'")
    project_id, iid = key
    mr = as_mapping(merge_requests.get(key))
    repo = project_path(mr) if mr else paths.get(project_id, "unknown")
    title = clip(text_or_none(mr.get("title")) or text_or_none(event.get("target_title")) or f"!{iid}", TITLE_CHARS)
    url = text_or_none(mr.get("web_url")) or (f"{web}/{repo}/-/merge_requests/{iid}" if repo != "unknown" else None)
    author = as_mapping(mr.get("author"))
    attributes = make_review_attributes(
        state="commented", repo=repo, pr_number=iid, pr_title=title, pr_url=url,
        pr_author_id=int_or_none(author.get("id")), pr_author_login=username(author), pr_author_is_bot=is_bot(author),
        own_pr=same_user(username(author), me), via="comments", forge="gitlab")
    return make_review_record(source, f"review-{project_id}-{iid}", occurred, repo, attributes,
                              actor=username(event.get("author")) or text_or_none(event.get("author_username")),
                              mine=True, title=f"Comments on {repo}!{iid}: {title}", url=url,
                              payload={k: v for k, v in event.items() if k != "note"})


# releases and deployments ----------------------------------------------------------------


def parse_release(item: Any, source: str, repo: str, me: str | None) -> Record | None:
    """A release of `repo`, keyed by its tag (GitLab releases have no id); None for one whose
    release date is still ahead (`upcoming_release`)."""
    item = require_mapping(item, RELEASES)
    tag = text_or_none(item.get("tag_name"))
    if tag is None:
        raise MalformedItemError(RELEASES, "", "no usable 'tag_name'")
    if item.get("upcoming_release") is True:
        return None
    created = parse_time(item.get("created_at"))
    released = parse_time(item.get("released_at")) or created
    if released is None:
        raise MalformedItemError(RELEASES, tag, "no usable 'released_at' or 'created_at'")
    author = as_mapping(item.get("author"))
    name = clip(text_or_none(item.get("name")) or tag, TITLE_CHARS)
    attributes = make_release_attributes(
        repo=repo, tag=clip(tag, TITLE_CHARS), name=name, created_at=(created or released).isoformat(),
        published_at=released.isoformat(), author_id=int_or_none(author.get("id")), is_bot=is_bot(author),
        body=clip(text_or_none(item.get("description")), 2000))
    links = as_mapping(item.get("_links"))
    return make_release_record(source, f"{repo}@{tag}", released, repo, attributes, actor=username(author),
                               mine=same_user(username(author), me), title=name, url=text_or_none(links.get("self")),
                               payload={k: v for k, v in item.items() if k not in ("description", "assets", "evidences")})


def parse_deployment(item: Any, source: str, repo: str, me: str | None, tiers: Mapping[str, str],
                     web: str) -> Record:
    """A successful deployment; it happened when it finished (its job's `finished_at`, else
    `updated_at`). `tiers` maps environment ids to their tier."""
    item = require_mapping(item, DEPLOYMENTS)
    deployment_id = require_id(item, DEPLOYMENTS)
    created = require_time(item.get("created_at"), DEPLOYMENTS, deployment_id, "created_at")
    finished = parse_time(as_mapping(item.get("deployable")).get("finished_at")) or parse_time(item.get("updated_at"))
    occurred = max(finished or created, created)
    user = as_mapping(item.get("user"))
    environment = as_mapping(item.get("environment"))
    env_name = clip(text_or_none(environment.get("name")) or "", 200)
    tier = text_or_none(environment.get("tier")) or tiers.get(id_text(environment.get("id")) or "")
    ref = clip(text_or_none(item.get("ref")) or "", 200)
    sha = text_or_none(item.get("sha"))
    attributes = make_deployment_attributes(
        repo=repo, environment=env_name, ref=ref, sha=sha, task=text_or_none(as_mapping(item.get("deployable"))
                                                                            .get("name")),
        production=tier == "production", created_at=created.isoformat(), creator_id=int_or_none(user.get("id")),
        is_bot=is_bot(user))
    env_id = id_text(environment.get("id"))
    return make_deployment_record(
        source, deployment_id, occurred, repo, attributes, actor=username(user), mine=same_user(username(user), me),
        title=clip(f"{ref or (sha or '')[:8]} to {env_name or 'an environment'}", TITLE_CHARS),
        url=f"{web}/{repo}/-/environments/{env_id}" if env_id else f"{web}/{repo}/-/environments",
        payload={k: v for k, v in item.items() if k != "deployable"})
