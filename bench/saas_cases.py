"""Recorded-response histories for GitHub, GitLab, Jira, Linear, W&B and the Hugging Face Hub,
served through `responses` in their real JSON shapes (the fakes in tests/support), a Databricks
workspace served on loopback, and the minimum pages each history needs.

Each measure runs the real harvest loop twice with the connector configured as a user
would: a `--since 90d` backfill, then a nightly run with nothing new. The requests counted
are the calls the fake API received.
"""

from __future__ import annotations

import json
import math
import os
import random
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

from bench.results import Row
from bench.scales import Scale

NOW = datetime.now(timezone.utc).replace(microsecond=0)
IDENTITY = """\
[identity]
name = "Ada Example"
email = "ada@example.com"
handles = ["ada"]

[store]
url = "sqlite:///{db}"

"""


@dataclass(frozen=True)
class Counted:
    backfill: int
    backfill_counted: int
    nightly: int
    nightly_counted: int
    records: int
    backfill_calls: str = ""
    nightly_calls: str = ""


def describe_calls(calls) -> str:
    """'GET /user×1, GET /search/issues×3': what the fake API was asked, in order of first use."""
    from collections import Counter
    from urllib.parse import urlsplit

    seen = Counter(f"{c.request.method} {urlsplit(c.request.url).path}" for c in calls)
    return ", ".join(f"{k}×{n}" for k, n in seen.items())


def spread(i: int, n: int) -> datetime:
    """The i-th of n moments spread evenly over the last 85 days (inside `--since 90d`, never ahead of now)."""
    return NOW - timedelta(days=85) + timedelta(days=85) * (i / n)


def pages(items: int, per_page: int) -> int:
    return max(1, math.ceil(items / per_page))


@contextmanager
def secret(name: str, value: str) -> Iterator[None]:
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


@contextmanager
def own_counter() -> Iterator[None]:
    """Let the harvester's request counter wrap the mocked HTTPAdapter.send. It installs itself
    once per process, and `responses` puts the real send back when its mock stops, so without
    this only the first mocked harvest in a process would be counted by the harvester itself."""
    from harvester import requests_counter

    requests_counter._installed = False
    try:
        yield
    finally:
        requests_counter._installed = False


def count_harvests(folder: Path, table: str, install: Callable) -> Counted:
    """Backfill then nightly through the real harvest loop; count the calls the fake saw."""
    import responses

    from harvester.config import load_config
    from harvester.harvest import run_harvest
    from harvester.store import open_store

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "store.db"
    db.unlink(missing_ok=True)
    path = folder / "harvester.toml"
    path.write_text(IDENTITY.format(db=db) + table, encoding="utf-8")
    config = load_config(path)
    store = open_store(config.store_url, config.identity.owner)
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps, own_counter():
            install(rsps)
            first = run_harvest(store, config, since="90d")
            backfill = len(rsps.calls)
            second = run_harvest(store, config)
            nightly = len(rsps.calls) - backfill
            calls = list(rsps.calls)
    finally:
        store.close()
    for summary in (first, second):
        if not summary.ok:
            raise RuntimeError(f"harvest failed: {summary.sources[0].error}")
    return Counted(backfill, first.sources[0].requests, nightly, second.sources[0].requests,
                   first.sources[0].records, describe_calls(calls[:backfill]), describe_calls(calls[backfill:]))


def rows_for(source: str, counted: Counted, minimum_backfill: int, minimum_nightly: int, history: str,
             backfill_note: str = "", nightly_note: str = "") -> list[Row]:
    def agree(wire: int, own: int) -> str:
        return "" if wire == own else f"; the harvester's own count says {own}"

    return [
        Row("saas", f"{source}: backfill, {history}", counted.backfill, "requests", minimum_backfill, 1.0,
            f"{counted.records:,} records; {counted.backfill_calls}; {backfill_note}"
            f"{agree(counted.backfill, counted.backfill_counted)}"),
        Row("saas", f"{source}: nightly with nothing new", counted.nightly, "requests", minimum_nightly, 1.0,
            f"{counted.nightly_calls}; {nightly_note}{agree(counted.nightly, counted.nightly_counted)}"),
    ]


# GitHub ---------------------------------------------------------------------------------------


def measure_github(scale: Scale, folder: Path) -> list[Row]:
    import responses

    from tests.support import github_fake as gh

    n_prs, n_reviews = scale.saas_items // 2, scale.saas_items
    prs = [gh.pr_item(i + 1, title=f"Improve feature pipeline step {i + 1}", repo="acme/fraud",
                      merged=spread(i, n_prs)) for i in range(n_prs)]
    reviews = [gh.review_node(i + 1, spread(i, n_reviews)) for i in range(n_reviews)]

    def graphql(request):
        variables = json.loads(request.body)["variables"]
        start = datetime.fromisoformat(variables["from"])
        hits = [r for r in reviews if datetime.fromisoformat(r["occurredAt"].replace("Z", "+00:00")) >= start]
        offset = int(variables.get("after") or 0)
        chunk = hits[offset:offset + 100]
        more = offset + 100 < len(hits)
        return 200, {"x-ratelimit-resource": "graphql"}, json.dumps(gh.graphql_page(chunk, str(offset + 100) if more else None))

    def install(rsps):
        fake = gh.FakeGithub(rsps)
        fake.prs.extend(prs)
        fake.install()
        rsps.add_callback(responses.POST, gh.url_pattern("/graphql"), callback=graphql, match=[gh.not_pr_details])

    with secret("GITHUB_TOKEN", "ghp_bench0000000000000000000000000000"):
        counted = count_harvests(folder, "[connectors.github]\ntype = \"github\"\nmax_retries = 0\n"
                                         "seconds_between_requests = 0\n", install)
    return rows_for("github", counted, 1 + 2 * pages(n_prs, 100) + pages(n_reviews, 100),
                    pages(0, 100) + pages(0, 100), f"{n_prs} merged PRs, {n_reviews} reviews",
                    "minimum = GET /user + PR search pages of 100, each with one GraphQL query for the page's "
                    "sizes and reviewers + review GraphQL pages of 100",
                    "minimum = one PR search + one review query (the token's user id never changes, so it "
                    "need not be asked again)")


# Jira -------------------------------------------------------------------------------------------


def measure_jira(scale: Scale, folder: Path) -> list[Row]:
    from urllib.parse import parse_qs, urlparse

    from tests.support import jira as fake

    n = scale.saas_items
    issues = sorted((fake.issue(f"ML-{i + 1}", f"Ship pipeline change {i + 1}", assignee=fake.cloud_user(),
                                resolved=spread(i, n))
                     for i in range(n)), key=lambda i: i["fields"]["updated"])
    berlin = fake.BERLIN

    def search(request):
        query = parse_qs(urlparse(request.url).query)
        jql = query["jql"][0]
        since = datetime.strptime(jql.split('updated >= "', 1)[1][:16], "%Y-%m-%d %H:%M").replace(tzinfo=berlin)
        hits = [i for i in issues if datetime.strptime(i["fields"]["updated"], "%Y-%m-%dT%H:%M:%S.%f%z") >= since]
        size = int(query.get("maxResults", ["50"])[0])
        offset = int(query.get("nextPageToken", ["0"])[0])
        chunk = hits[offset:offset + size]
        token = str(offset + size) if offset + size < len(hits) else None
        return 200, {}, json.dumps(fake.jql_page(chunk, token))

    def install(rsps):
        import responses

        rsps.get(f"{fake.CLOUD}/rest/api/2/myself", json=fake.myself_cloud())
        rsps.add_callback(responses.GET, f"{fake.CLOUD}/rest/api/2/search/jql", callback=search)

    with secret("JIRA_API_TOKEN", "atl-bench-token"):
        counted = count_harvests(folder, f"[connectors.jira]\ntype = \"jira\"\nurl = \"{fake.CLOUD}\"\n"
                                         "email = \"ada@example.com\"\nmax_retries = 0\n", install)
    return rows_for("jira", counted, 1 + pages(n, 100), pages(0, 100), f"{n} resolved issues",
                    "minimum = GET /myself + /search/jql pages of 100 (Jira Cloud's page cap)",
                    "minimum = one /search/jql page (who I am is remembered in the cursor)")


# Linear -----------------------------------------------------------------------------------------

LINEAR_PAGE = 100


def measure_linear(scale: Scale, folder: Path) -> list[Row]:
    from tests.support import linear_fake as fake

    n_issues, n_projects = scale.saas_items, max(1, scale.saas_items // 20)
    api = fake.FakeLinear()
    api.issues += [fake.make_issue(i + 1, f"Ship pipeline change {i + 1}", completed=spread(i, n_issues))
                   for i in range(n_issues)]
    api.projects += [fake.make_project(f"Project {p + 1}", completed=spread(p, n_projects),
                                       started=spread(p, n_projects) - timedelta(days=5)) for p in range(n_projects)]
    with secret("LINEAR_API_KEY", api.api_key):
        counted = count_harvests(folder, "[connectors.linear]\ntype = \"linear\"\nmax_retries = 0\n", api.install)
    return rows_for("linear", counted, pages(n_issues, LINEAR_PAGE) + pages(n_projects, LINEAR_PAGE),
                    pages(0, LINEAR_PAGE) + pages(0, LINEAR_PAGE),
                    f"{n_issues} completed issues, {n_projects} completed projects",
                    f"minimum = issue pages of {LINEAR_PAGE} + project pages of {LINEAR_PAGE} (who I am rides "
                    "along: `isMe` filters and `viewer` in the projects query)",
                    "minimum = one issue query + one project query")


# W&B ---------------------------------------------------------------------------------------------

WANDB_PROJECTS, WANDB_BATCH, WANDB_PAGE = 12, 10, 200


def measure_wandb(scale: Scale, folder: Path) -> list[Row]:
    from tests.support import wandb_fake as fake

    rng = random.Random(3)
    api = fake.FakeWandb(viewer={"id": "VXNlcjox", "username": "ada", "entity": "acme"}, organization="acme")
    mine: dict[str, int] = {}
    runs = scale.saas_items * 2
    for i in range(runs):
        project = f"project-{i % WANDB_PROJECTS:02d}"
        user = "ada" if rng.random() < 0.7 else "grace"
        created = spread(i, runs)
        api.add_run("acme", project, fake.make_run(f"run{i:05d}", user, created, summary={"val_auc": rng.random()},
                                                   config={"lr": 0.01}))
        mine[project] = mine.get(project, 0) + (user == "ada")
    for m in range(10):
        api.memberships.append(fake.make_membership(f"model-{m}", 1, created=NOW - timedelta(days=30 - m),
                                                    aliases=("champion",), run=("acme", "project-00", "run00000", "ada")))
    names = sorted(mine)
    batches = [names[i:i + WANDB_BATCH] for i in range(0, len(names), WANDB_BATCH)]
    run_pages = sum(max(pages(mine[p], WANDB_PAGE) for p in batch) for batch in batches)
    registry_pages = pages(len(api.memberships), WANDB_PAGE)
    with secret("WANDB_API_KEY", api.api_key):
        counted = count_harvests(folder, f"[connectors.wandb]\ntype = \"wandb\"\nentities = [\"acme\"]\n"
                                         f"base_url = \"{api.base_url}\"\nper_page = {WANDB_PAGE}\n"
                                         f"projects_per_request = {WANDB_BATCH}\nmax_retries = 0\n", api.install)
    return rows_for("wandb", counted, 1 + run_pages + 1 + registry_pages, 1 + len(batches) + 1,
                    f"{sum(mine.values())} of {runs} runs in {WANDB_PROJECTS} projects, {len(api.memberships)} "
                    "registry versions",
                    f"minimum = project list + run pages of {WANDB_PAGE} with {WANDB_BATCH} projects a request "
                    "+ organization lookup + registry pages",
                    "minimum = project list + one run query per batch of projects + one registry query")


# GitLab -----------------------------------------------------------------------------------------


def measure_gitlab(scale: Scale, folder: Path) -> list[Row]:
    from tests.support import gitlab_fake as gl

    n_mrs, n_approvals, n_releases, n_deployments = scale.saas_items // 2, scale.saas_items, 6, 40
    n_comments = n_approvals
    project = gl.PROJECTS[7]

    def install(rsps):
        fake = gl.FakeGitlab(rsps)
        fake.mrs.extend(gl.merge_request(i + 1, f"Improve feature pipeline step {i + 1}", merged=spread(i, n_mrs))
                        for i in range(n_mrs))
        fake.others.extend(gl.merge_request(i + 1, f"Review me {i + 1}", author=gl.OTHER, project_id=8,
                                            merged=spread(i, n_approvals)) for i in range(n_approvals))
        fake.events.extend(gl.approval_event(i + 1, spread(i, n_approvals), iid=i + 1) for i in range(n_approvals))
        # two comments on each of the first half of the approved MRs
        fake.events.extend(gl.comment_event(n_approvals + i + 1, spread(i // 2, n_approvals)
                                            - timedelta(minutes=i % 2 + 1), iid=i // 2 + 1) for i in range(n_comments))
        fake.releases[project] = [gl.release(f"v1.{i}.0", spread(i, n_releases)) for i in range(n_releases)]
        fake.deployments[project] = [gl.deployment(i + 1, spread(i, n_deployments)) for i in range(n_deployments)]
        fake.environments[project] = [gl.environment(9, "production", "production")]
        fake.install()

    with secret("GITLAB_TOKEN", "glpat-bench000000000000"):
        counted = count_harvests(folder, f"[connectors.gitlab]\ntype = \"gitlab\"\nprojects = [\"{project}\"]\n"
                                         "max_retries = 0\n", install)
    event_pages = pages(n_approvals, 100)
    return rows_for("gitlab", counted,
                    1 + pages(n_mrs, 100) + 2 * event_pages + pages(n_comments, 100) + pages(n_releases, 100)
                    + pages(n_deployments, 100) + 1,
                    1 + 1 + 1 + 1 + 1, f"{n_mrs} merged MRs, {n_approvals} approvals, {n_comments} review comments, "
                    f"{n_releases} releases, {n_deployments} deployments in one project",
                    "minimum = GET /user + MR pages of 100 + approval event pages of 100, each with one list of the "
                    "approved MRs of its project + comment event pages of 100 (their MRs were listed with the "
                    "approvals) + release and deployment pages + one environments list",
                    "minimum = one MR page + one approvals page + one comments page + one releases and one "
                    "deployments page per project (username and environment tiers are remembered)")


# Hugging Face Hub --------------------------------------------------------------------------------

HUB_PAGE = 100


def measure_huggingface(scale: Scale, folder: Path) -> list[Row]:
    from tests.support import hf_fake as hf

    n_models, n_datasets, revisions = max(1, scale.saas_items // 4), max(1, scale.saas_items // 20), 3

    def install(rsps):
        fake = hf.FakeHub(rsps)
        for kind, count, listing in (("model", n_models, fake.models), ("dataset", n_datasets, fake.datasets)):
            for i in range(count):
                name = f"ada/{kind}-{i:04d}"
                pushed = [spread(i * revisions + r, count * revisions) for r in range(revisions)]
                listing.append(hf.repo(name, pushed[-1], created=NOW - timedelta(days=400), downloads=10 * i,
                                       likes=i % 7, dataset=kind == "dataset"))
                fake.commits[f"{kind}:{name}"] = [hf.system_commit(NOW - timedelta(days=400))] + [
                    hf.commit(i * revisions + r + 1, f"Update {kind} {i} step {r}", at) for r, at in enumerate(pushed)]
        fake.install()

    with secret("HF_TOKEN", hf.TOKEN):
        counted = count_harvests(folder, "[connectors.huggingface]\ntype = \"huggingface\"\nmax_retries = 0\n",
                                 install)
    commit_pages = (n_models + n_datasets) * pages(revisions + 1, HUB_PAGE)
    listing_pages = pages(n_models, HUB_PAGE) + pages(n_datasets, HUB_PAGE)
    return rows_for("huggingface", counted, 1 + listing_pages + commit_pages, 1 + 1,
                    f"{n_models} models and {n_datasets} datasets, {revisions} revisions of mine each",
                    f"minimum = whoami + repository pages of {HUB_PAGE} per kind + one commits page per repository "
                    "changed in the window",
                    "minimum = one models page + one datasets page (who I am is remembered)")


# MLflow on Databricks, Unity Catalog registry ------------------------------------------------------


def measure_databricks(scale: Scale, folder: Path) -> list[Row]:
    """Served by a loopback workspace (tests/support/databricks_server.py), whose log is the count."""
    from harvester.config import load_config
    from harvester.harvest import run_harvest
    from harvester.store import open_store
    from tests.support.databricks_server import FakeWorkspace

    n_runs, n_models, n_mine, per_model = scale.saas_items, 12, 1, 5
    workspace = FakeWorkspace(token="dapi-bench", page_size=10000)
    experiment = workspace.experiment("/Users/ada@example.com/fraud")
    runs = [workspace.run(experiment, "ada" if i % 3 else "grace", int(spread(i, n_runs).timestamp() * 1000),
                          {"val_auc": 0.8 + i / (10 * n_runs)}) for i in range(n_runs)]
    mine = [r for i, r in enumerate(runs) if i % 3]
    theirs = [r for i, r in enumerate(runs) if not i % 3]
    for m in range(n_models):
        name = f"main.ml.model_{m:02d}"
        workspace.model(name, int(spread(m, n_models).timestamp() * 1000))
        source = mine if m < n_mine else theirs
        for v in range(per_model):
            workspace.version(name, source[(m * per_model + v) % len(source)],
                              int(spread(m * per_model + v, n_models * per_model).timestamp() * 1000))
        workspace.alias(name, "Champion", str(per_model))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "store.db"
    db.unlink(missing_ok=True)
    path = folder / "harvester.toml"
    path.write_text(IDENTITY.format(db=db) + "[connectors.databricks]\ntype = \"mlflow\"\ntracking_uri = \"databricks\"\n"
                    "registry_uri = \"databricks-uc\"\nmax_retries = 0\n", encoding="utf-8")
    try:
        with secret("DATABRICKS_HOST", workspace.url), secret("DATABRICKS_TOKEN", workspace.token):
            config = load_config(path)
            store = open_store(config.store_url, config.identity.owner)
            try:
                first = run_harvest(store, config, since="90d")
                backfill_calls = list(workspace.log)
                second = run_harvest(store, config)
                nightly_calls = workspace.log[len(backfill_calls):]
            finally:
                store.close()
    finally:
        workspace.stop()
    for summary in (first, second):
        if not summary.ok:
            raise RuntimeError(f"harvest failed: {summary.sources[0].error}")

    def describe(calls) -> str:
        from collections import Counter

        return ", ".join(f"{k}×{n}" for k, n in Counter(f"{m} {p}" for m, p, _ in calls).items())

    counted = Counted(len(backfill_calls), first.sources[0].requests, len(nightly_calls), second.sources[0].requests,
                      first.sources[0].records, describe(backfill_calls), describe(nightly_calls))
    version_runs = pages(len({v["run_id"] for vs in workspace.versions.values() for v in vs}), 100)
    handles = len(config.identity.all_handles)  # the name, the e-mail and the handles are each an mlflow.user
    return rows_for("databricks", counted, 1 + handles + 1 + n_models + version_runs + n_mine,
                    1 + handles + 1 + n_mine,
                    f"{len(mine)} of {n_runs} runs, {n_models} UC models of {per_model} versions, "
                    f"{n_mine} holding my versions",
                    "minimum = experiments + one runs query per handle + one models page + one versions search per "
                    "model (UC takes one name a request) + the versions' runs by id, 100 a request + one get per "
                    "model holding my versions (UC search carries no aliases)",
                    "minimum = experiments + one runs query per handle + one models page + one get per model "
                    "holding my versions")
