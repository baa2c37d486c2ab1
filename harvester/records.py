"""The attributes of each record kind, declared once.

Connectors and test factories build records with the `make_*_record` and `make_*_attributes`
constructors, so every key of a kind is always there; rules read them through the
`read_*_attributes` readers, which also complete a record stored by an older version that
lacked a newer key. Attributes stay plain JSON dicts (TypedDicts): a record is read back from
the store as JSON, and a redraft reads every stored record, so no per-record conversion is paid.

MLflow and W&B runs share one shape, as do their registry versions and promotions, so the
same rules read both sources.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any, TypedDict, cast

from harvester.models import Record


class RunAttributes(TypedDict):
    status: str  # lower case: "finished", "running", "failed", ...
    metrics: dict[str, float]  # finite numbers only
    params: dict[str, str]
    tags: dict[str, str]  # user tags; a W&B tag is a key with the value "true"
    name: str
    experiment_id: str
    experiment_url: str | None
    started_at: str  # ISO times
    ended_at: str | None
    description: str
    run_type: str  # e.g. "genai_evaluate"; "" for W&B


class RegistryAttributes(TypedDict):
    model: str
    version: str
    run_id: str | None
    run_url: str | None
    run_metrics: dict[str, float]  # of the run that logged the version
    stage: str | None  # MLflow's deprecated stage; None for W&B


class ModelVersionAttributes(RegistryAttributes):
    aliases: list[str]
    serving: bool
    status: str | None


class ModelPromotionAttributes(RegistryAttributes):
    target: str  # the serving alias or stage the version reached
    via: str  # "alias" or "stage"
    previous_version: str | None


class PullRequestAttributes(TypedDict):
    title: str
    number: int
    repo: str
    merged_at: str
    updated_at: str
    labels: list[str]
    body: str
    author_id: int | None
    author_login: str | None
    is_bot: bool
    draft: bool
    comments: int | None
    additions: int | None  # sizes and reviewers: None when the server has no GraphQL
    deletions: int | None
    changed_files: int | None
    reviewers: list[str]
    forge: str  # "github" or "gitlab": how the change is named ("PR #7", "MR !7")


class ReviewAttributes(TypedDict):
    state: str  # "approved", "changes_requested", "commented"; "" when found through search
    repo: str
    pr_number: int | None
    pr_title: str
    pr_url: str | None
    pr_author_id: int | None
    pr_author_login: str | None
    pr_author_is_bot: bool
    own_pr: bool
    via: str  # GitHub: "graphql" or "search"; GitLab: "events" (an approval) or "comments"
    forge: str


class ReleaseAttributes(TypedDict):
    repo: str
    tag: str
    name: str
    prerelease: bool
    created_at: str
    published_at: str
    author_id: int | None
    is_bot: bool
    body: str


class DeploymentAttributes(TypedDict):
    repo: str
    environment: str
    ref: str
    sha: str | None
    task: str | None
    production: bool
    created_at: str
    creator_id: int | None
    is_bot: bool
    description: str


class IssueAttributes(TypedDict):
    key: str
    summary: str
    type: str
    is_subtask: bool
    status: str
    status_category: str
    resolution: str | None
    resolved_at: str  # when it was done: resolved, else last updated, else created
    created_at: str | None
    updated_at: str | None
    priority: str | None
    assignee_id: str | None
    assignee_is_me: bool
    reporter_id: str | None
    parent_key: str | None
    epic: str | None
    epic_summary: str | None
    epic_url: str | None
    labels: list[str]
    project: str
    story_points: float | None
    is_epic: bool
    is_incident: bool


class HubRepoAttributes(TypedDict):
    """One revision I pushed to a Hugging Face Hub repository, with the repository as it stood
    when read (its downloads and likes are the latest numbers of the latest revision read)."""

    repo_type: str  # "model" or "dataset"
    repo: str  # namespace/name
    commit: str
    commit_title: str
    committed_at: str
    last_modified: str  # the repository's lastModified when read: the watermark
    created_at: str | None
    downloads: int | None  # the Hub's count of the last 30 days
    downloads_all_time: int | None
    likes: int | None
    tags: list[str]
    pipeline_tag: str | None
    private: bool


def make_record(kind: str, source: str, external_id: str, occurred_at: datetime, subject: str,
                attributes: Mapping[str, Any], *, actor: str | None = None, mine: bool = True, title: str = "",
                url: str | None = None, payload: Mapping[str, Any] | None = None) -> Record:
    return Record(source=source, kind=kind, external_id=external_id, occurred_at=occurred_at, subject=subject,
                  actor=actor, mine=mine, title=title, url=url, attributes=attributes, payload=dict(payload or {}))


def make_run_record(source: str, external_id: str, occurred_at: datetime, subject: str,
                    attributes: RunAttributes, **envelope: Any) -> Record:
    return make_record("run", source, external_id, occurred_at, subject, attributes, **envelope)


def make_model_version_record(source: str, external_id: str, occurred_at: datetime, subject: str,
                              attributes: ModelVersionAttributes, **envelope: Any) -> Record:
    return make_record("model_version", source, external_id, occurred_at, subject, attributes, **envelope)


def make_model_promotion_record(source: str, external_id: str, occurred_at: datetime, subject: str,
                                attributes: ModelPromotionAttributes, **envelope: Any) -> Record:
    return make_record("model_promotion", source, external_id, occurred_at, subject, attributes, **envelope)


def make_pull_request_record(source: str, external_id: str, occurred_at: datetime, subject: str,
                             attributes: PullRequestAttributes, **envelope: Any) -> Record:
    return make_record("pull_request", source, external_id, occurred_at, subject, attributes, **envelope)


def make_review_record(source: str, external_id: str, occurred_at: datetime, subject: str,
                       attributes: ReviewAttributes, **envelope: Any) -> Record:
    return make_record("review", source, external_id, occurred_at, subject, attributes, **envelope)


def make_release_record(source: str, external_id: str, occurred_at: datetime, subject: str,
                        attributes: ReleaseAttributes, **envelope: Any) -> Record:
    return make_record("release", source, external_id, occurred_at, subject, attributes, **envelope)


def make_deployment_record(source: str, external_id: str, occurred_at: datetime, subject: str,
                           attributes: DeploymentAttributes, **envelope: Any) -> Record:
    return make_record("deployment", source, external_id, occurred_at, subject, attributes, **envelope)


def make_issue_record(source: str, external_id: str, occurred_at: datetime, subject: str,
                      attributes: IssueAttributes, **envelope: Any) -> Record:
    return make_record("issue", source, external_id, occurred_at, subject, attributes, **envelope)


def make_hub_repo_record(source: str, external_id: str, occurred_at: datetime, subject: str,
                         attributes: HubRepoAttributes, **envelope: Any) -> Record:
    return make_record("hub_repo", source, external_id, occurred_at, subject, attributes, **envelope)


# attributes --------------------------------------------------------------------------------------


def make_run_attributes(*, status: str = "", metrics: Mapping[str, float] | None = None,
                        params: Mapping[str, str] | None = None, tags: Mapping[str, str] | None = None, name: str = "",
                        experiment_id: str = "", experiment_url: str | None = None, started_at: str = "",
                        ended_at: str | None = None, description: str = "", run_type: str = "") -> RunAttributes:
    return {"status": status, "metrics": dict(metrics or {}), "params": dict(params or {}), "tags": dict(tags or {}),
            "name": name, "experiment_id": experiment_id, "experiment_url": experiment_url,
            "started_at": started_at, "ended_at": ended_at, "description": description, "run_type": run_type}


def make_registry_attributes(*, model: str = "", version: str = "", run_id: str | None = None,
                             run_url: str | None = None, run_metrics: Mapping[str, float] | None = None,
                             stage: str | None = None) -> RegistryAttributes:
    return {"model": model, "version": version, "run_id": run_id, "run_url": run_url,
            "run_metrics": dict(run_metrics or {}), "stage": stage}


def make_model_version_attributes(registry: RegistryAttributes, *, aliases: list[str] | None = None,
                                  serving: bool = False, status: str | None = None) -> ModelVersionAttributes:
    return {**registry, "aliases": list(aliases or ()), "serving": serving, "status": status}


def make_model_promotion_attributes(registry: RegistryAttributes, *, target: str = "", via: str = "alias",
                                    previous_version: str | None = None) -> ModelPromotionAttributes:
    return {**registry, "target": target, "via": via, "previous_version": previous_version}


def make_pull_request_attributes(*, title: str = "", number: int = 0, repo: str = "", merged_at: str = "",
                                 updated_at: str = "", labels: list[str] | None = None, body: str = "",
                                 author_id: int | None = None, author_login: str | None = None, is_bot: bool = False,
                                 draft: bool = False, comments: int | None = None, additions: int | None = None,
                                 deletions: int | None = None, changed_files: int | None = None,
                                 reviewers: list[str] | None = None, forge: str = "github") -> PullRequestAttributes:
    return {"title": title, "number": number, "repo": repo, "merged_at": merged_at, "updated_at": updated_at,
            "labels": list(labels or ()), "body": body, "author_id": author_id, "author_login": author_login,
            "is_bot": is_bot, "draft": draft, "comments": comments, "additions": additions, "deletions": deletions,
            "changed_files": changed_files, "reviewers": list(reviewers or ()), "forge": forge}


def make_review_attributes(*, state: str = "", repo: str = "", pr_number: int | None = None, pr_title: str = "",
                           pr_url: str | None = None, pr_author_id: int | None = None,
                           pr_author_login: str | None = None, pr_author_is_bot: bool = False, own_pr: bool = False,
                           via: str = "graphql", forge: str = "github") -> ReviewAttributes:
    return {"state": state, "repo": repo, "pr_number": pr_number, "pr_title": pr_title, "pr_url": pr_url,
            "pr_author_id": pr_author_id, "pr_author_login": pr_author_login, "pr_author_is_bot": pr_author_is_bot,
            "own_pr": own_pr, "via": via, "forge": forge}


def make_release_attributes(*, repo: str = "", tag: str = "", name: str = "", prerelease: bool = False,
                            created_at: str = "", published_at: str = "", author_id: int | None = None,
                            is_bot: bool = False, body: str = "") -> ReleaseAttributes:
    return {"repo": repo, "tag": tag, "name": name, "prerelease": prerelease, "created_at": created_at,
            "published_at": published_at, "author_id": author_id, "is_bot": is_bot, "body": body}


def make_deployment_attributes(*, repo: str = "", environment: str = "", ref: str = "", sha: str | None = None,
                               task: str | None = None, production: bool = False, created_at: str = "",
                               creator_id: int | None = None, is_bot: bool = False,
                               description: str = "") -> DeploymentAttributes:
    return {"repo": repo, "environment": environment, "ref": ref, "sha": sha, "task": task, "production": production,
            "created_at": created_at, "creator_id": creator_id, "is_bot": is_bot, "description": description}


def make_issue_attributes(*, key: str = "", summary: str = "", type: str = "", is_subtask: bool = False,
                          status: str = "", status_category: str = "", resolution: str | None = None,
                          resolved_at: str = "", created_at: str | None = None, updated_at: str | None = None,
                          priority: str | None = None, assignee_id: str | None = None, assignee_is_me: bool = False,
                          reporter_id: str | None = None, parent_key: str | None = None, epic: str | None = None,
                          epic_summary: str | None = None, epic_url: str | None = None,
                          labels: list[str] | None = None, project: str = "", story_points: float | None = None,
                          is_epic: bool = False, is_incident: bool = False) -> IssueAttributes:
    return {"key": key, "summary": summary, "type": type, "is_subtask": is_subtask, "status": status,
            "status_category": status_category, "resolution": resolution, "resolved_at": resolved_at,
            "created_at": created_at, "updated_at": updated_at, "priority": priority, "assignee_id": assignee_id,
            "assignee_is_me": assignee_is_me, "reporter_id": reporter_id, "parent_key": parent_key, "epic": epic,
            "epic_summary": epic_summary, "epic_url": epic_url, "labels": list(labels or ()), "project": project,
            "story_points": story_points, "is_epic": is_epic, "is_incident": is_incident}


def make_hub_repo_attributes(*, repo_type: str = "model", repo: str = "", commit: str = "", commit_title: str = "",
                             committed_at: str = "", last_modified: str = "", created_at: str | None = None,
                             downloads: int | None = None, downloads_all_time: int | None = None,
                             likes: int | None = None, tags: list[str] | None = None, pipeline_tag: str | None = None,
                             private: bool = False) -> HubRepoAttributes:
    return {"repo_type": repo_type, "repo": repo, "commit": commit, "commit_title": commit_title,
            "committed_at": committed_at, "last_modified": last_modified, "created_at": created_at,
            "downloads": downloads, "downloads_all_time": downloads_all_time, "likes": likes,
            "tags": list(tags or ()), "pipeline_tag": pipeline_tag, "private": private}


# reading ---------------------------------------------------------------------------------------


@cache
def attribute_defaults() -> dict[str, Mapping[str, Any]]:
    """Per kind, what each attribute holds when nothing is known: the constructors' defaults."""
    registry = make_registry_attributes()
    return {"run": make_run_attributes(), "model_version": make_model_version_attributes(registry),
            "model_promotion": make_model_promotion_attributes(registry),
            "pull_request": make_pull_request_attributes(), "review": make_review_attributes(),
            "release": make_release_attributes(), "deployment": make_deployment_attributes(),
            "issue": make_issue_attributes(), "hub_repo": make_hub_repo_attributes()}


def complete_attributes(kind: str, attributes: Mapping[str, Any]) -> Mapping[str, Any]:
    """`attributes` with every key of `kind`: as they are when complete (the usual case, at no
    cost but a key check), else with the missing keys at their defaults."""
    defaults = attribute_defaults()[kind]
    if defaults.keys() <= attributes.keys():
        return attributes
    return {**copy.deepcopy(defaults), **attributes}


def read_run_attributes(record: Record) -> RunAttributes:
    return cast(RunAttributes, complete_attributes("run", record.attributes))


def read_model_version_attributes(record: Record) -> ModelVersionAttributes:
    return cast(ModelVersionAttributes, complete_attributes("model_version", record.attributes))


def read_model_promotion_attributes(record: Record) -> ModelPromotionAttributes:
    return cast(ModelPromotionAttributes, complete_attributes("model_promotion", record.attributes))


def read_pull_request_attributes(record: Record) -> PullRequestAttributes:
    return cast(PullRequestAttributes, complete_attributes("pull_request", record.attributes))


def read_review_attributes(record: Record) -> ReviewAttributes:
    return cast(ReviewAttributes, complete_attributes("review", record.attributes))


def read_release_attributes(record: Record) -> ReleaseAttributes:
    return cast(ReleaseAttributes, complete_attributes("release", record.attributes))


def read_deployment_attributes(record: Record) -> DeploymentAttributes:
    return cast(DeploymentAttributes, complete_attributes("deployment", record.attributes))


def read_issue_attributes(record: Record) -> IssueAttributes:
    return cast(IssueAttributes, complete_attributes("issue", record.attributes))



def read_hub_repo_attributes(record: Record) -> HubRepoAttributes:
    return cast(HubRepoAttributes, complete_attributes("hub_repo", record.attributes))
