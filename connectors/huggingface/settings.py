"""Settings of the Hugging Face Hub connector: the keys of a `[connectors.NAME]` table with
`type = "huggingface"`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from harvester.settings import setting

MAX_PAGE_SIZE = 500  # the largest `limit` huggingface.js asks of /api/models (commits take up to 1000)
NAME = re.compile(r"^[A-Za-z0-9][\w.-]*$")


@dataclass(frozen=True)
class HuggingfaceSettings:
    token_env: str = setting("HF_TOKEN", "env var holding a read access token (huggingface.co/settings/tokens); "
                                         "unset = public repositories only, with username set")
    endpoint: str = setting("https://huggingface.co", "the Hub; a private Hub as https://HOST")
    username: str = setting("", "your Hub username, whose commits count as yours; empty = ask whoami once")
    authors: tuple[str, ...] = setting((), 'users and organisations whose repositories to read, e.g. ["acme"]; '
                                           "empty = your username")
    models: bool = setting(True, "read model repositories")
    datasets: bool = setting(True, "read dataset repositories")
    page_size: int = setting(100, f"repositories or commits per request (1-{MAX_PAGE_SIZE})")
    max_rate_limit_wait: float = setting(900.0, "longest wait, in seconds, for a rate limit; longer fails the source "
                                                "(what was fetched is kept)")
    max_retries: int = setting(2, "retries on connection errors and 502/503/504")
    timeout: int = setting(30, "seconds per request")

    def __post_init__(self):
        if not self.token_env:
            raise ValueError('token_env must name the environment variable holding your Hub token (e.g. "HF_TOKEN")')
        if not self.endpoint.startswith(("https://", "http://")):
            raise ValueError(f"endpoint must be an http(s) URL such as https://huggingface.co, got {self.endpoint!r}")
        bad = [a for a in (*self.authors, *((self.username,) if self.username else ())) if not NAME.match(a)]
        if bad:
            raise ValueError(f"authors and username must be Hub user or organisation names such as \"acme\", "
                             f"got {bad[0]!r}")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        if self.max_retries < 0 or self.max_rate_limit_wait < 0 or self.timeout <= 0:
            raise ValueError("max_retries and max_rate_limit_wait must be >= 0 and timeout > 0")

    @property
    def api(self) -> str:
        return self.endpoint.rstrip("/") + "/api"
