"""A fake Hugging Face Hub API on `responses`: payloads in the Hub's documented shapes, served
with the documented semantics (author filter, sort by lastModified newest first, `limit`,
`expand`, pages linked by a `Link: <...>; rel="next"` header, 429 with the RateLimit headers,
401 for a rejected token).

Where the shapes come from:
- repositories: huggingface.js packages/hub/src/types/api/api-model.ts and api-dataset.ts
  (`_id`, `id`, `private`, `downloads`, `downloadsAllTime`, `likes`, `tags`, `pipeline_tag`,
  `lastModified`, `createdAt`), and list-models.ts (`expand` repeated, `limit`, the Link header);
  huggingface_hub hf_api.py `ModelInfo` / `DatasetInfo` and the `ExpandModelProperty_T` list:
  without `expand` only a few fields come back, with it only `_id`, `id` and what was asked.
- commits: huggingface.js types/api/api-commit.ts `ApiCommitData` (`id`, `title`, `message`,
  `authors[{user, avatar}]`, `date`) and list-commits.ts (`?limit=`, up to 1000, Link `next`);
  huggingface_hub `list_repo_commits` ("Commits are sorted by date (last commit first)"; the
  initial commit is a system commit).
- whoami: huggingface.js types/api/api-who-am-i.ts (`type`, `id`, `name`, `fullname`, `email`,
  `orgs[]`) and `auth.accessToken{displayName, role}`.
- rate limits: huggingface.co/docs/hub/rate-limits (5-minute windows) and huggingface_hub
  utils/_http.py `parse_ratelimit_headers` (`RateLimit: "api";r=0;t=55`,
  `RateLimit-Policy: "fixed window";"api";q=500;w=300`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlencode, urlparse

import responses

ENDPOINT = "https://huggingface.co"
TOKEN = "hf_testTokenAbcdefghijklmnopqrstuv"
T0 = (datetime.now(timezone.utc) - timedelta(days=20)).replace(hour=9, minute=0, second=0, microsecond=0)
ME = {"type": "user", "id": "64b0c1d2e3f4a5b6c7d8e9f0", "name": "ada", "fullname": "Ada Example",
      "email": "ada@example.com", "emailVerified": True, "isPro": False, "canPay": False,
      "avatarUrl": "https://cdn-avatars.huggingface.co/v1/production/uploads/ada.png", "periodEnd": None,
      "orgs": [{"type": "org", "id": "64b0c1d2e3f4a5b6c7d8e9f1", "name": "acme", "fullname": "Acme ML",
                "email": None, "canPay": False, "avatarUrl": "https://cdn-avatars.huggingface.co/acme.png",
                "periodEnd": None}],
      "auth": {"type": "access_token", "accessToken": {"displayName": "harvester", "role": "read"}}}


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def repo(repo_id: str, modified: datetime, *, created: datetime | None = None, downloads: int = 0,
         downloads_all_time: int | None = None, likes: int = 0, tags=("onnx",), pipeline_tag="text-classification",
         private: bool = False, dataset: bool = False) -> dict:
    """One /api/models (or /api/datasets) item with every field the connector may expand."""
    item = {"_id": f"{abs(hash(repo_id)) % 16**24:024x}", "id": repo_id, "private": private, "downloads": downloads,
            "downloadsAllTime": downloads if downloads_all_time is None else downloads_all_time, "likes": likes,
            "tags": list(tags), "lastModified": iso(modified), "createdAt": iso(created or modified)}
    if not dataset:
        item["pipeline_tag"] = pipeline_tag
    return item


def commit(sha_seed: int, title: str, at: datetime, user: str = "ada", message: str = "") -> dict:
    return {"id": f"{sha_seed:040x}", "title": title, "message": message,
            "authors": [{"user": user, "avatar": f"https://cdn-avatars.huggingface.co/{user}.png"}], "date": iso(at)}


def system_commit(at: datetime) -> dict:
    return {"id": "f" * 40, "title": "initial commit", "message": "", "authors": [], "date": iso(at)}


@dataclass
class FakeHub:
    """Serves whoami-v2, /api/models, /api/datasets and /api/{type}s/{repo}/commits/main;
    records every query as (path, params)."""

    rsps: responses.RequestsMock
    base: str = ENDPOINT
    token: str = TOKEN
    models: list = field(default_factory=list)
    datasets: list = field(default_factory=list)
    commits: dict = field(default_factory=dict)  # "model:ns/name" or "dataset:ns/name" -> list, any order
    user: dict = field(default_factory=lambda: dict(ME))
    asked: list = field(default_factory=list)
    throttled: list = field(default_factory=list)  # headers of 429s the next list answers get first
    public_only: bool = False  # answers without a token, as for public repositories

    def install(self) -> "FakeHub":
        api = re.escape(self.base + "/api")
        self.rsps.add_callback(responses.GET, re.compile(api + r"/whoami-v2$"), callback=self.whoami)
        self.rsps.add_callback(responses.GET, re.compile(api + r"/(models|datasets)(\?.*)?$"), callback=self.listing)
        self.rsps.add_callback(responses.GET, re.compile(api + r"/(models|datasets)/[^/]+/[^/]+/commits/main(\?.*)?$"),
                               callback=self.list_commits)
        return self

    def query(self, request) -> tuple[str, dict]:
        url = urlparse(request.url)
        params = {k: v if k == "expand" else v[0] for k, v in parse_qs(url.query).items()}
        path = url.path[len("/api"):]
        self.asked.append((path, params))
        return path, params

    def refused(self, request):
        auth = request.headers.get("Authorization")
        if auth is None and self.public_only:
            return None
        if auth != f"Bearer {self.token}":
            return 401, {"x-error-message": "Invalid credentials in Authorization header"}, \
                json.dumps({"error": "Invalid credentials in Authorization header"})
        return None

    def rate_headers(self, remaining: int = 499) -> dict:
        return {"RateLimit": f'"api";r={remaining};t=240', "RateLimit-Policy": '"fixed window";"api";q=500;w=300'}

    def whoami(self, request):
        self.query(request)
        if request.headers.get("Authorization") is None:
            return 401, {}, json.dumps({"error": "Invalid credentials in Authorization header"})
        return self.refused(request) or (200, self.rate_headers(), json.dumps(self.user))

    def page(self, request, path: str, params: dict, items: list, offset_key: str) -> tuple[int, dict, str]:
        limit = int(params.get("limit", "100"))
        # The commits endpoint counts pages in `p`; the listings' `cursor` is opaque to a client.
        index = int(params.get(offset_key, "0"))
        offset = index * limit if offset_key == "p" else index
        chunk = items[offset: offset + limit]
        headers = self.rate_headers()
        if offset + limit < len(items):
            following = {k: v for k, v in params.items() if k != offset_key}
            following[offset_key] = str(index + 1 if offset_key == "p" else offset + limit)
            headers["Link"] = f'<{self.base}/api{path}?{urlencode(following, doseq=True)}>; rel="next"'
        return 200, headers, json.dumps(chunk)

    def listing(self, request):
        path, params = self.query(request)
        refused = self.refused(request)
        if refused:
            return refused
        if self.throttled:
            return 429, self.throttled.pop(0), json.dumps({"error": "You have exceeded our rate limit."})
        items = self.models if path == "/models" else self.datasets
        hits = [i for i in items if not isinstance(i, dict) or "id" not in i
                or i["id"].split("/")[0] == params.get("author", i["id"].split("/")[0])]
        if params.get("sort") == "lastModified":
            hits.sort(key=lambda i: i.get("lastModified", "") if isinstance(i, dict) else "", reverse=True)
        wanted = set(params.get("expand") or ())
        shown = [{k: v for k, v in i.items() if k in {"_id", "id"} | wanted} if isinstance(i, dict) else i
                 for i in hits]
        return self.page(request, path, params, shown, "cursor")

    def list_commits(self, request):
        path, params = self.query(request)
        refused = self.refused(request)
        if refused:
            return refused
        kind, rest = path[1:].split("/", 1)
        name = rest.rsplit("/commits/", 1)[0]
        key = f"{kind[:-1]}:{name}"
        if key not in self.commits:
            return 404, {}, json.dumps({"error": "Repository not found"})
        hits = sorted(self.commits[key], key=lambda c: c.get("date", ""), reverse=True)
        return self.page(request, path, params, hits, "p")
