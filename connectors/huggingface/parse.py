"""Pure parsing of Hub JSON into `hub_repo` records (one revision I pushed). No I/O.

A repository is an item of /api/models or /api/datasets (id, lastModified, createdAt,
private, downloads, downloadsAllTime, likes, tags, pipeline_tag); a revision is an item of
/api/{type}s/{repo}/commits/main (id, title, message, date, authors[{user, avatar}]). A
repository without an id or a usable lastModified, or a commit without an id or date, raises
MalformedItemError, which the connector counts and skips.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from harvester.connectors.coerce import finite_number, parse_time
from harvester.errors import MalformedItemError
from harvester.models import Record
from harvester.records import make_hub_repo_attributes, make_hub_repo_record, read_hub_repo_attributes

TITLE_CHARS = 300
PLURALS = {"model": "models", "dataset": "datasets"}


@dataclass(frozen=True)
class HubRepo:
    """What the listing says of one repository."""

    repo_type: str
    repo: str
    last_modified: datetime
    created_at: datetime | None
    downloads: int | None
    downloads_all_time: int | None
    likes: int | None
    tags: list[str]
    pipeline_tag: str | None
    private: bool

    @property
    def key(self) -> str:
        """A repository is new to a harvest when its (id, lastModified) pair is."""
        return f"{self.repo}@{self.last_modified.isoformat()}"

    @property
    def url_path(self) -> str:
        return self.repo if self.repo_type == "model" else f"{PLURALS[self.repo_type]}/{self.repo}"


def api_count(value: Any) -> int | None:
    number = finite_number(value)
    return int(number) if number is not None and number >= 0 else None


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_repo(item: Any, repo_type: str) -> HubRepo:
    what = PLURALS[repo_type]
    if not isinstance(item, Mapping):
        raise MalformedItemError(what, "?", f"expected an object, got {type(item).__name__}")
    repo = text(item.get("id")).strip()
    if not repo or "/" not in repo:
        raise MalformedItemError(what, repo or "?", "no 'id' of the form namespace/name")
    modified = parse_time(item.get("lastModified"))
    if modified is None:
        raise MalformedItemError(what, repo, "no usable 'lastModified'")
    tags = item.get("tags")
    return HubRepo(repo_type=repo_type, repo=repo, last_modified=modified, created_at=parse_time(item.get("createdAt")),
                   downloads=api_count(item.get("downloads")),
                   downloads_all_time=api_count(item.get("downloadsAllTime")), likes=api_count(item.get("likes")),
                   tags=[t for t in tags if isinstance(t, str)] if isinstance(tags, list) else [],
                   pipeline_tag=text(item.get("pipeline_tag")) or None, private=item.get("private") is True)


def commit_authors(commit: Mapping[str, Any]) -> list[str]:
    authors = commit.get("authors")
    return [text(a.get("user")) for a in authors if isinstance(a, Mapping) and text(a.get("user"))] \
        if isinstance(authors, list) else []


def commit_time(commit: Any) -> datetime | None:
    return parse_time(commit.get("date")) if isinstance(commit, Mapping) else None


def is_mine(commit: Any, me: str) -> bool:
    return isinstance(commit, Mapping) and me.lower() in {a.lower() for a in commit_authors(commit)}


def parse_commit(commit: Any, repo: HubRepo, source: str, web: str) -> Record:
    if not isinstance(commit, Mapping):
        raise MalformedItemError("revisions", repo.repo, f"a commit that is a {type(commit).__name__}")
    sha = text(commit.get("id")).strip()
    when = commit_time(commit)
    if not sha or when is None:
        raise MalformedItemError("revisions", f"{repo.repo}@{sha or '?'}", "no 'id' or usable 'date'")
    title = " ".join(text(commit.get("title")).split())[:TITLE_CHARS]
    attributes = make_hub_repo_attributes(
        repo_type=repo.repo_type, repo=repo.repo, commit=sha, commit_title=title, committed_at=when.isoformat(),
        last_modified=repo.last_modified.isoformat(),
        created_at=repo.created_at.isoformat() if repo.created_at else None, downloads=repo.downloads,
        downloads_all_time=repo.downloads_all_time, likes=repo.likes, tags=repo.tags,
        pipeline_tag=repo.pipeline_tag, private=repo.private)
    authors = commit_authors(commit)
    return make_hub_repo_record(source, f"{repo.repo_type}:{repo.repo}@{sha}", when, repo.repo, attributes,
                                actor=authors[0] if authors else None, mine=True, title=title or repo.repo,
                                url=f"{web}/{repo.url_path}/commit/{sha}",
                                payload={"commit": dict(commit), "repo_type": repo.repo_type})


def dedupe_key(record: Record) -> str:
    attributes = read_hub_repo_attributes(record)
    return f"{attributes['repo']}@{attributes['last_modified']}"
