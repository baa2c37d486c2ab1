"""A fake GitLab REST API (v4) on `responses`: payloads in GitLab's documented shapes, served
with the documented semantics (filters, sort, offset pages of `per_page` with `x-next-page`,
`x-total`, 429 with Retry-After).

Where the shapes come from (GitLab's own API docs, gitlab-org/gitlab `doc/api/`):
- merge requests: merge_requests.md, "List merge requests" example response (id, iid,
  project_id, title, description, state, merged_at, updated_at, author{id, username, ...},
  reviewers[], labels[] of strings, user_notes_count, web_url, references{short, relative,
  full}); the `draft` flag replaced `work_in_progress` in 14.0; `reviewers` since 13.8.
- events: events.md, "List currently authenticated user's events" (id, project_id,
  action_name, target_id, target_iid, target_type "MergeRequest", target_title, created_at,
  author{...}, author_username); `after` is a date, exclusive. A comment ("Get user
  contribution events", "List a project's visible events"): action_name "commented on",
  target_type "Note" (or "DiffNote", "DiscussionNote"), target_id and target_iid the note's,
  target_title null, and note{id, body, attachment, author, created_at, system, noteable_id,
  noteable_type, noteable_iid}; the `action` filter is `commented`.
- projects: projects.md, "Get single project" (id, path_with_namespace, web_url, ...).
- releases: releases/index.md, "List Releases" (tag_name, name, description, created_at,
  released_at, upcoming_release, author{...}, commit{...}, _links{self, ...}); no id.
- deployments: deployments.md, "List project deployments" (id, iid, ref, sha, created_at,
  updated_at, status, user{...}, environment{id, name, external_url}, deployable{finished_at,
  ...}); environments.md, "List environments" (id, name, tier, state, ...).
- pagination headers: rest/index.md "Offset-based pagination" (x-next-page, x-page,
  x-per-page, x-total, x-total-pages, link); rate limits: security/rate_limits.md (429,
  Retry-After, RateLimit-Reset).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, unquote, urlparse

import responses

URL = "https://gitlab.com"
API = URL + "/api/v4"
ME = {"id": 101, "username": "ada", "name": "Ada Example", "state": "active", "locked": False,
      "avatar_url": "https://secure.gravatar.com/avatar/ada", "web_url": "https://gitlab.com/ada"}
OTHER = {"id": 202, "username": "grace", "name": "Grace Hopper", "state": "active", "locked": False,
         "avatar_url": "https://secure.gravatar.com/avatar/grace", "web_url": "https://gitlab.com/grace"}
T0 = (datetime.now(timezone.utc) - timedelta(days=20)).replace(hour=9, minute=0, second=0, microsecond=0)
PROJECTS = {7: "acme/fraud", 8: "acme/ranking"}
ACTION_NAMES = {"approved": "approved", "commented": "commented on"}  # the `action` filter -> action_name


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def api_pattern(path: str, base: str = API) -> re.Pattern:
    return re.compile(re.escape(base) + path + r"(\?.*)?$")


def merge_request(iid: int, title: str = "Add focal loss to the fraud model", merged: datetime | None = T0,
                  updated: datetime | None = None, author=ME, project_id: int = 7, labels=(), description: str = "",
                  reviewers=(OTHER,), mr_id: int | None = None) -> dict:
    """One /merge_requests list item."""
    repo = PROJECTS.get(project_id, "labs/other")
    updated = updated or ((merged + timedelta(minutes=5)) if merged else T0)
    return {
        "id": mr_id if mr_id is not None else 500000 + project_id * 1000 + iid, "iid": iid,
        "project_id": project_id, "title": title, "description": description,
        "state": "merged" if merged else "opened",
        "merged_by": OTHER if merged else None, "merge_user": OTHER if merged else None,
        "merged_at": iso(merged) if merged else None, "closed_by": None, "closed_at": None,
        "created_at": iso((merged or T0) - timedelta(days=1)), "updated_at": iso(updated),
        "target_branch": "main", "source_branch": f"feature-{iid}", "upvotes": 0, "downvotes": 0,
        "author": author, "assignee": None, "assignees": [], "reviewers": list(reviewers),
        "source_project_id": project_id, "target_project_id": project_id, "labels": list(labels),
        "draft": False, "work_in_progress": False, "milestone": None, "merge_when_pipeline_succeeds": False,
        "merge_status": "can_be_merged", "detailed_merge_status": "not_open",
        "sha": f"{iid:040d}", "merge_commit_sha": None, "squash_commit_sha": None,
        "user_notes_count": 2, "discussion_locked": None, "should_remove_source_branch": True,
        "force_remove_source_branch": False, "allow_collaboration": False, "allow_maintainer_to_push": False,
        "web_url": f"{URL}/{repo}/-/merge_requests/{iid}",
        "references": {"short": f"!{iid}", "relative": f"!{iid}", "full": f"{repo}!{iid}"},
        "time_stats": {"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": None,
                       "human_total_time_spent": None},
        "squash": False, "task_completion_status": {"count": 0, "completed_count": 0},
    }


def approval_event(event_id: int, at: datetime, iid: int = 3, project_id: int = 8,
                   title: str = "Speed up feature joins") -> dict:
    """One /events item: my approval of someone's merge request."""
    return {"id": event_id, "title": None, "project_id": project_id, "action_name": "approved",
            "target_id": 600000 + iid, "target_iid": iid, "target_type": "MergeRequest", "author_id": ME["id"],
            "target_title": title, "created_at": iso(at), "author": ME, "imported": False, "imported_from": "none",
            "author_username": ME["username"]}


def comment_event(event_id: int, at: datetime, iid: int = 3, project_id: int = 8, target_type: str = "DiffNote",
                  noteable_type: str = "MergeRequest", system: bool = False) -> dict:
    """One /events item: my comment on a merge request (a line of its diff, by default)."""
    note_id = 900000 + event_id
    return {"id": event_id, "title": None, "project_id": project_id, "action_name": "commented on",
            "target_id": note_id, "target_iid": note_id, "target_type": target_type, "author_id": ME["id"],
            "data": None, "target_title": None, "created_at": iso(at),
            "note": {"id": note_id, "body": "Could this join use the cached features?", "attachment": None,
                     "author": ME, "created_at": iso(at), "system": system, "noteable_id": 600000 + iid,
                     "noteable_type": noteable_type, "noteable_iid": iid},
            "author": ME, "author_username": ME["username"]}


def project(project_id: int) -> dict:
    path = PROJECTS.get(project_id, "labs/other")
    return {"id": project_id, "name": path.split("/")[-1], "path": path.split("/")[-1],
            "path_with_namespace": path, "name_with_namespace": path.replace("/", " / "),
            "default_branch": "main", "web_url": f"{URL}/{path}", "visibility": "private"}


def release(tag: str, released: datetime, author=ME, repo: str = "acme/fraud", upcoming: bool = False) -> dict:
    return {"name": f"Release {tag}", "tag_name": tag, "description": "Faster scoring.",
            "created_at": iso(released - timedelta(hours=1)), "released_at": iso(released),
            "upcoming_release": upcoming, "author": author,
            "commit": {"id": "a" * 40, "short_id": "aaaaaaaa", "title": "Merge branch 'x'",
                       "created_at": iso(released - timedelta(hours=2))},
            "commit_path": f"/{repo}/-/commit/{'a' * 40}", "tag_path": f"/{repo}/-/tags/{tag}",
            "assets": {"count": 0, "sources": [], "links": []}, "evidences": [],
            "_links": {"self": f"{URL}/{repo}/-/releases/{tag}", "edit_url": f"{URL}/{repo}/-/releases/{tag}/edit"}}


def deployment(deployment_id: int, finished: datetime, environment_id: int = 9, env_name: str = "production",
               user=ME) -> dict:
    return {"id": deployment_id, "iid": deployment_id, "ref": "main", "sha": "b" * 40,
            "created_at": iso(finished - timedelta(minutes=3)), "updated_at": iso(finished), "status": "success",
            "user": user, "environment": {"id": environment_id, "name": env_name,
                                          "external_url": "https://fraud.example.com"},
            "deployable": {"id": 700 + deployment_id, "status": "success", "stage": "deploy", "name": "deploy",
                           "ref": "main", "tag": False, "created_at": iso(finished - timedelta(minutes=4)),
                           "started_at": iso(finished - timedelta(minutes=3)), "finished_at": iso(finished),
                           "user": user}}


def environment(environment_id: int, name: str, tier: str) -> dict:
    return {"id": environment_id, "name": name, "slug": name, "external_url": None, "state": "available",
            "tier": tier, "created_at": iso(T0 - timedelta(days=100)), "updated_at": iso(T0)}


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class FakeGitlab:
    """Serves /user, /merge_requests (global and per group), /events, /projects/:id, and per
    project releases, deployments and environments; records every query."""

    rsps: responses.RequestsMock
    base: str = API
    mrs: list = field(default_factory=list)
    others: list = field(default_factory=list)  # other people's merge requests, which I may approve
    events: list = field(default_factory=list)
    releases: dict = field(default_factory=dict)  # project path -> list, any order
    deployments: dict = field(default_factory=dict)
    environments: dict = field(default_factory=dict)
    user: dict = field(default_factory=lambda: dict(ME))
    asked: list = field(default_factory=list)  # (path, params) of every list request
    throttled: list = field(default_factory=list)  # headers of 429s /merge_requests answers first

    def install(self) -> "FakeGitlab":
        self.rsps.add(responses.GET, api_pattern("/user", self.base), json=self.user)
        self.rsps.add_callback(responses.GET, api_pattern(r"(/groups/[^/]+)?/merge_requests", self.base),
                               callback=self.merge_requests)
        self.rsps.add_callback(responses.GET, api_pattern("/events", self.base), callback=self.list_events)
        self.rsps.add_callback(responses.GET, api_pattern(r"/projects/\d+/merge_requests", self.base),
                               callback=self.project_merge_requests)
        self.rsps.add_callback(responses.GET, api_pattern(r"/projects/\d+", self.base), callback=self.project)
        self.rsps.add_callback(responses.GET, api_pattern(r"/projects/[^/]+/(releases|deployments|environments)",
                                                          self.base), callback=self.project_list)
        return self

    def query(self, request) -> tuple[str, dict]:
        url = urlparse(request.url)
        params = {k: v if k.endswith("[]") else v[0] for k, v in parse_qs(url.query).items()}
        path = unquote(url.path[len(urlparse(self.base).path):])
        self.asked.append((path, params))
        return path, params

    def page(self, items: list, params: dict) -> tuple[int, dict, str]:
        import json

        page, per_page = int(params.get("page", "1")), int(params.get("per_page", "20"))
        chunk = items[(page - 1) * per_page: page * per_page]
        pages = max(1, -(-len(items) // per_page))
        headers = {"x-page": str(page), "x-per-page": str(per_page), "x-total": str(len(items)),
                   "x-total-pages": str(pages), "x-next-page": str(page + 1) if page < pages else "",
                   "x-prev-page": str(page - 1) if page > 1 else ""}
        return 200, headers, json.dumps(chunk)

    def merge_requests(self, request):
        path, params = self.query(request)
        if self.throttled:
            return 429, self.throttled.pop(0), '{"message": "429 Too Many Requests"}'
        hits = [m for m in self.mrs if m["author"]["username"] == params.get("author_username")
                and (params.get("state") in (None, "all") or m["state"] == params["state"])]
        if path.startswith("/groups/"):
            group = path.split("/")[2]
            hits = [m for m in hits if m["references"]["full"].startswith(group + "/")]
        if "updated_after" in params:
            hits = [m for m in hits if _time(m["updated_at"]) >= _time(params["updated_after"])]
        hits.sort(key=lambda m: (m[params.get("order_by", "created_at")], m["id"]),
                  reverse=params.get("sort", "desc") == "desc")
        return self.page(hits, params)

    def project_merge_requests(self, request):
        path, params = self.query(request)
        project_id = int(path.split("/")[2])
        iids = {int(i) for i in params.get("iids[]", [])}
        hits = [m for m in self.mrs + self.others if m["project_id"] == project_id and (not iids or m["iid"] in iids)]
        return self.page(sorted(hits, key=lambda m: m["created_at"], reverse=True), params)

    def list_events(self, request):
        _, params = self.query(request)
        action = ACTION_NAMES.get(params["action"], params["action"]) if "action" in params else None
        hits = [e for e in self.events if action in (None, e["action_name"])]
        if "after" in params:
            hits = [e for e in hits if _time(e["created_at"]).date() > date.fromisoformat(params["after"])]
        hits.sort(key=lambda e: e["created_at"], reverse=params.get("sort", "desc") == "desc")
        return self.page(hits, params)

    def project(self, request):
        import json

        path, _ = self.query(request)
        return 200, {}, json.dumps(project(int(path.rsplit("/", 1)[1])))

    def project_list(self, request):
        path, params = self.query(request)
        name, what = path[len("/projects/"):].rsplit("/", 1)
        if what == "releases":
            items = sorted(self.releases.get(name, []), key=lambda r: r["released_at"],
                           reverse=params.get("sort", "desc") == "desc")
        elif what == "deployments":
            items = [d for d in self.deployments.get(name, []) if d["status"] == params.get("status", d["status"])]
            if "updated_after" in params:
                items = [d for d in items if _time(d["updated_at"]) > _time(params["updated_after"])]
            items.sort(key=lambda d: (d["updated_at"], d["id"]), reverse=params.get("sort", "asc") == "desc")
        else:
            items = self.environments.get(name, [])
        return self.page(items, params)
