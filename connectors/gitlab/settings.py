"""Settings of the GitLab connector."""

from __future__ import annotations

import re
from dataclasses import dataclass

from harvester.settings import setting

_PATH = re.compile(r"^[\w.-]+(/[\w.-]+)*$")


@dataclass(frozen=True)
class GitlabSettings:
    token_env: str = setting("GITLAB_TOKEN", "env var holding a personal access token with the read_api scope")
    url: str = setting("https://gitlab.com", "the GitLab server; a self-managed one as https://HOST")
    username: str = setting("", "your GitLab username; empty = ask GET /user once and remember it")
    groups: tuple[str, ...] = setting((), "group paths to narrow merge requests and reviews to "
                                          "(empty = everywhere the token can see)")
    projects: tuple[str, ...] = setting((), "project paths (group/name) whose releases and deployments to harvest")
    reviews: bool = setting(True, "harvest the approvals and review comments you gave on other people's merge requests")
    exclude_bots: bool = setting(True, "drop merge requests authored by bot users")
    overlap_minutes: float = setting(10.0, "re-read this much before the last watermark, deduplicated by id")
    body_chars: int = setting(4000, "merge request description kept for links to tickets, runs and models")
    max_rate_limit_wait: float = setting(900.0, "longest wait, in seconds, for a rate limit; longer fails the source")
    max_retries: int = setting(2, "retries on connection errors and 502/503/504")
    timeout: int = setting(30, "seconds per request")

    def __post_init__(self):
        if not self.url.startswith(("https://", "http://")):
            raise ValueError("url must start with https:// (gitlab.com or https://HOST of a self-managed server)")
        bad = [p for p in (*self.groups, *self.projects) if not _PATH.match(p)]
        if bad:
            raise ValueError(f"groups and projects must be paths such as group/name, got {bad[0]!r}")
        if self.max_rate_limit_wait < 0 or self.overlap_minutes < 0:
            raise ValueError("max_rate_limit_wait and overlap_minutes must not be negative")

    @property
    def api(self) -> str:
        return self.url.rstrip("/") + "/api/v4"
