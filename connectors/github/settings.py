"""Settings of the GitHub connector."""

from __future__ import annotations

import re
from dataclasses import dataclass

_REPO = re.compile(r"^[\w.-]+/[\w.-]+$")


@dataclass(frozen=True)
class GithubSettings:
    token_env: str = "GITHUB_TOKEN"
    base_url: str = "https://api.github.com"
    repos: tuple[str, ...] = ()
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
        bad = [r for r in self.repos if not _REPO.match(r)]
        if bad:
            raise ValueError(f"repos must be written owner/name, got {bad[0]!r}")
        if self.max_rate_limit_wait < 0 or self.overlap_minutes < 0:
            raise ValueError("max_rate_limit_wait and overlap_minutes must not be negative")
