"""Settings of the GitHub connector."""

from __future__ import annotations

import re
from dataclasses import dataclass

_REPO = re.compile(r"^[\w.-]+/[\w.-]+$")
_ORG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


@dataclass(frozen=True)
class GithubSettings:
    token_env: str = "GITHUB_TOKEN"
    base_url: str = "https://api.github.com"
    repos: tuple[str, ...] = ()
    orgs: tuple[str, ...] = ()  # a team's harvest: the organizations whose merged PRs it searches
    exclude_bots: bool = True
    reviews: bool = True
    max_rate_limit_wait: float = 900.0
    overlap_minutes: float = 10.0
    user_id: int = 0
    pr_details: bool = True
    body_chars: int = 4000
    max_retries: int = 2
    seconds_between_requests: float = 0.25
    timeout: int = 30

    def __post_init__(self):
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must start with https:// (GitHub Enterprise: https://HOST/api/v3)")
        bad_orgs = [o for o in self.orgs if not _ORG.match(o)]
        if bad_orgs:
            raise ValueError(f"orgs are organization logins such as \"acme\", got {bad_orgs[0]!r}")
        bad = [r for r in self.repos if not _REPO.match(r)]
        if bad:
            raise ValueError(f"repos must be written owner/name, got {bad[0]!r}")
        if self.max_rate_limit_wait < 0 or self.overlap_minutes < 0:
            raise ValueError("max_rate_limit_wait and overlap_minutes must not be negative")
