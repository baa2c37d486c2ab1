"""Settings of the Linear connector: the keys of a `[connectors.NAME]` table with `type = "linear"`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from harvester.settings import setting

MAX_PAGE_SIZE = 250  # the largest `first` Linear's connections accept
TEAM_KEY = re.compile(r"^[A-Za-z0-9_]{1,10}$")


@dataclass(frozen=True)
class LinearSettings:
    token_env: str = setting("LINEAR_API_KEY", "the environment variable holding your personal API key (Linear: "
                                               "Settings → Account → Security & access → Personal API keys)")
    api_url: str = setting("https://api.linear.app/graphql", "the GraphQL endpoint")
    teams: tuple[str, ...] = setting((), 'only issues of these team keys, e.g. ["ML", "OPS"]; empty: every team')
    projects: bool = setting(True, "also read the completed projects I lead or am a member of (drafted as epics)")
    incident_labels: tuple[str, ...] = setting(("Incident",), "labels that make an issue an incident")
    incident_teams: tuple[str, ...] = setting((), "team keys or names whose issues are all incidents, e.g. "
                                                  '["OPS"]')
    bug_labels: tuple[str, ...] = setting(("Bug",), "labels that make an issue a bug, an incident at an "
                                                    "incident_priorities priority")
    incident_priorities: tuple[str, ...] = setting(("Urgent",), "priorities at which a bug is an incident")
    page_size: int = setting(100, f"issues or projects per request (1-{MAX_PAGE_SIZE})")
    max_retries: int = setting(2, "retries on connection errors and 5xx")
    max_rate_limit_wait: float = setting(900.0, "the longest rate-limit wait, in seconds, before the source fails "
                                                "(what was fetched is kept)")
    timeout: int = setting(60, "seconds per request")

    def __post_init__(self):
        if not self.token_env:
            raise ValueError("token_env must name the environment variable holding your Linear API key "
                             '(e.g. "LINEAR_API_KEY")')
        if not self.api_url.startswith(("https://", "http://")):
            raise ValueError(f"api_url must be an http(s) URL such as https://api.linear.app/graphql, "
                             f"got {self.api_url!r}")
        bad = [t for t in self.teams if not TEAM_KEY.match(t)]
        if bad:
            raise ValueError(f"teams must be team keys such as \"ENG\" (the prefix of ENG-123), got {bad[0]!r}")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE} (Linear's largest page)")
        if self.max_retries < 0 or self.max_rate_limit_wait < 0 or self.timeout <= 0:
            raise ValueError("max_retries and max_rate_limit_wait must be >= 0 and timeout > 0")
