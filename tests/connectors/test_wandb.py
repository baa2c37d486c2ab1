"""The W&B connector against an in-memory W&B GraphQL API (tests/support/wandb_fake.py)
behind `responses`: real query text, variables and response shapes, no network."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
import responses

from harvester.config import IdentitySettings, parse_config
from harvester.connectors.base import HarvestWindow
from harvester.connectors.mlflow.parse import parse_run as parse_mlflow_run
from harvester.connectors.wandb.connector import WandbConnector, WandbSettings
from harvester.connectors.wandb.parse import parse_run
from harvester.harvest import run_harvest
from tests.support.cli import run_cli, write_config
from tests.support.wandb_fake import FakeWandb, iso, make_membership, make_run

NOW = datetime.now(timezone.utc).replace(microsecond=0)
KEY = "wandb-test-key-0123456789"


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", KEY)
    server = FakeWandb(api_key=KEY)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        server.install(mock)
        yield server


def make_config(database_url: str, **table) -> object:
    table = {"type": "wandb", "entities": ["ml-team"], "max_retries": 0, **table}
    return parse_config({"identity": {"email": "ada@example.com", "handles": ["ada"]},
                         "store": {"url": database_url}, "harvest": {"page_size": table.pop("page_size", 1000)},
                         "connectors": {"wandb-team": table}}, None)


def run_bodies(server: FakeWandb) -> list[dict]:
    return [b for b in server.bodies if b["operationName"] == "Runs"]


def requested_projects(body: dict) -> list[str]:
    v = body["variables"]
    return [f"{v[k.replace('project', 'entity')]}/{v[k]}" for k in sorted(v) if k.startswith("project")]


# parsing: the attribute contract ------------------------------------------------------------------


def test_run_has_exactly_the_attributes_of_an_mlflow_run():
    node = make_run("3xk9q2ab", "ada", NOW - timedelta(hours=3), heartbeat=NOW - timedelta(hours=1),
                    summary={"val_auc": 0.87, "val": {"loss": 0.31}, "epoch": 9, "done": True,
                             "roc": {"_type": "table-file", "path": "media/roc.json"}},
                    config={"lr": 0.01, "layers": [64, 32], "optimizer": "adam"}, tags=["baseline", "v2"],
                    display="bright-fox-7")
    record = parse_run(node, "ml-team", "fraud", "wb", "https://wandb.ai", frozenset({"ada"}))
    mlflow_record = parse_mlflow_run({"info": {"run_id": "r1", "experiment_id": "1", "status": "FINISHED",
                                               "start_time": 1, "end_time": 2},
                                      "data": {"metrics": [{"key": "auc", "value": 0.8}]}},
                                     "ml", {"1": "fraud"}, "http://mlflow", frozenset({"ada"}))
    assert set(record.attributes) == set(mlflow_record.attributes)
    a = record.attributes
    assert a["status"] == "finished"
    assert a["metrics"] == {"val_auc": 0.87, "val.loss": 0.31, "epoch": 9.0}  # no _runtime, bools or media
    assert a["params"] == {"lr": "0.01", "layers": "[64, 32]", "optimizer": "adam"}  # no _wandb
    assert a["tags"] == {"baseline": "true", "v2": "true"}
    assert a["name"] == "bright-fox-7" and record.title == "bright-fox-7"
    assert record.kind == "run" and record.external_id == "ml-team/fraud/3xk9q2ab"
    assert record.subject == a["experiment_id"] == "ml-team/fraud"
    assert record.url == "https://wandb.ai/ml-team/fraud/runs/3xk9q2ab"
    assert a["experiment_url"] == "https://wandb.ai/ml-team/fraud"
    assert record.occurred_at == NOW - timedelta(hours=1)  # finished: the last heartbeat
    assert a["started_at"] == (NOW - timedelta(hours=3)).isoformat()
    assert record.mine and record.actor == "ada"


@pytest.mark.parametrize("state, status, ended", [("running", "running", False), ("crashed", "crashed", True),
                                                   ("failed", "failed", True), ("killed", "killed", True)])
def test_run_states_map_to_mlflow_statuses(state, status, ended):
    node = make_run("r", "ada", NOW - timedelta(hours=2), heartbeat=NOW, state=state)
    record = parse_run(node, "e", "p", "wb", "", frozenset({"ada"}))
    assert record.attributes["status"] == status
    assert (record.attributes["ended_at"] is not None) is ended
    assert record.occurred_at == (NOW if ended else NOW - timedelta(hours=2))
    assert record.url is None  # no UI configured, no link


def test_evidence_links_follow_the_server():
    from harvester.connectors.wandb.parse import ui_base

    assert ui_base("https://api.wandb.ai") == "https://wandb.ai"
    assert ui_base("https://wandb.corp.example/") == "https://wandb.corp.example"  # W&B Server: UI and API share a host
    assert ui_base("https://api.wandb.ai", "https://wandb.mirror.example/") == "https://wandb.mirror.example"


def test_team_entity_is_not_the_person_and_group_can_be_the_experiment():
    node = make_run("r", "bob", NOW, group="sweep-lr")
    record = parse_run(node, "ada", "fraud", "wb", "https://wandb.ai", frozenset({"ada"}), subject_by="group")
    assert not record.mine and record.actor == "bob"  # the entity "ada" says nothing about who ran it
    assert record.subject == "ada/fraud/sweep-lr"
    assert record.attributes["experiment_url"] == "https://wandb.ai/ada/fraud/groups/sweep-lr"


def test_run_notes_are_its_description_and_wandb_has_no_run_type():
    noted = parse_run(make_run("r1", "ada", NOW, notes="  Focal loss, no gain over BCE.\n"), "e", "p", "wb", "",
                      frozenset({"ada"}))
    assert noted.attributes["description"] == "Focal loss, no gain over BCE."
    assert noted.attributes["run_type"] == ""
    bare = parse_run(make_run("r2", "ada", NOW), "e", "p", "wb", "", frozenset({"ada"}))  # notes: null
    assert bare.attributes["description"] == "" and bare.attributes["run_type"] == ""


def test_harvested_run_notes_reach_the_description(fake, store):
    """The fake answers only the fields the run fragment asks for, so this fails if `notes` is not requested."""
    fake.add_run("ml-team", "fraud", make_run("n1", "ada", NOW - timedelta(days=1),
                                              notes="Baseline for the Q4 fraud push.\n"))
    fake.add_run("ml-team", "fraud", make_run("n2", "ada", NOW - timedelta(hours=20)))
    summary = run_harvest(store, make_config(""), since="30d")
    assert summary.ok, summary.sources[0].error
    assert "notes" in run_bodies(fake)[0]["query"]
    described = {r.external_id: r.attributes["description"] for r in store.load_records("run")}
    assert described == {"ml-team/fraud/n1": "Baseline for the Q4 fraud push.", "ml-team/fraud/n2": ""}


# requests: filters, pagination, batching ---------------------------------------------------------------


def test_query_filters_and_auth_are_what_wandb_expects(fake, database_url):
    fake.add_run("ml-team", "fraud", make_run("a1", "ada", NOW - timedelta(days=2)))
    fake.add_run("ml-team", "fraud", make_run("b1", "bob", NOW - timedelta(days=2)))
    from harvester.store import open_store

    config = make_config(database_url)
    store = open_store(database_url, config.identity.owner)
    summary = run_harvest(store, config, since="2026-01-02")
    assert summary.ok, summary.sources[0].error

    body = run_bodies(fake)[0]
    assert body["variables"]["perPage"] == 200 and body["variables"]["order"] == "+created_at"
    assert json.loads(body["variables"]["filters"]) == {"$and": [
        {"username": "ada"},
        {"$or": [{"createdAt": {"$gt": "2026-01-02T00:00:00"}}, {"heartbeatAt": {"$gt": "2026-01-02T00:00:00"}}]}]}
    query = body["query"]
    for field in ("runs(filters: $filters, after: $cursor0, first: $perPage, order: $order)", "summaryMetrics",
                  "config", "heartbeatAt", "user {", "username", "pageInfo", "endCursor", "hasNextPage"):
        assert field in query
    call = fake.requests[0]
    assert call.url == "https://api.wandb.ai/graphql"
    assert call.headers["Authorization"] == "Basic " + base64.b64encode(f"api:{KEY}".encode()).decode()
    # only my run came back, because the server filtered by username
    assert [r.external_id for r in store.load_records("run")] == ["ml-team/fraud/a1"]
    store.close()


def test_runs_are_paged_with_wandb_cursors(fake, store):
    for i in range(450):
        fake.add_run("ml-team", "big", make_run(f"r{i:03d}", "ada", NOW - timedelta(days=5, minutes=-i)))
    config = make_config("", per_page=200)
    run_harvest(store, config, since="30d")
    pages = run_bodies(fake)
    assert len(pages) == 3
    assert pages[0]["variables"]["cursor0"] is None
    assert pages[1]["variables"]["cursor0"] == base64.b64encode(b"cursor:199").decode()
    assert store.count_records(kind="run") == 450


def test_many_projects_share_one_request(fake, store):
    for p in ("fraud", "ranking", "churn", "serving"):
        fake.add_run("ml-team", p, make_run(f"{p}-1", "ada", NOW - timedelta(days=1)))
    config = make_config("", projects_per_request=3)
    run_harvest(store, config, since="30d")
    assert [requested_projects(b) for b in run_bodies(fake)] == [
        ["ml-team/fraud", "ml-team/ranking", "ml-team/churn"], ["ml-team/serving"]]
    assert store.count_records(kind="run") == 4


def test_project_patterns_select_and_exact_names_skip_the_listing(fake, store):
    for p in ("fraud-v1", "fraud-v2", "scratch"):
        fake.add_run("ml-team", p, make_run(f"{p}-1", "ada", NOW - timedelta(days=1)))
    run_harvest(store, make_config("", projects=["fraud-*"], exclude_projects=["*-v1"]), since="30d")
    assert "Projects" in fake.operations()
    assert requested_projects(run_bodies(fake)[0]) == ["ml-team/fraud-v2"]

    fake.bodies.clear()
    run_harvest(store, make_config("", projects=["scratch", "other-team/shared"]), since="30d")
    assert "Projects" not in fake.operations()
    assert requested_projects(run_bodies(fake)[0]) == ["ml-team/scratch", "other-team/shared"]


def test_without_entities_or_handles_the_key_owner_is_used(fake, store, monkeypatch):
    fake.viewer = {"id": "VXNlcjo5", "username": "ada-w", "entity": "ada-w"}
    fake.add_run("ada-w", "sandbox", make_run("s1", "ada-w", NOW - timedelta(days=1)))
    config = parse_config({"connectors": {"wb": {"type": "wandb", "max_retries": 0}}}, None)
    summary = run_harvest(store, config, since="30d")
    assert summary.ok, summary.sources[0].error
    assert fake.operations()[0] == "Viewer"
    assert json.loads(run_bodies(fake)[0]["variables"]["filters"])["$and"][0] == {"username": "ada-w"}
    assert [r.mine for r in store.load_records("run")] == [True]


def test_service_account_runs_count_only_when_configured(fake, store):
    fake.add_run("ml-team", "fraud", make_run("mine", "ada", NOW - timedelta(days=1)))
    fake.add_run("ml-team", "fraud", make_run("bot", "ml-team-ci", NOW - timedelta(days=1)))
    run_harvest(store, make_config(""), since="30d")
    assert [r.external_id for r in store.load_records("run")] == ["ml-team/fraud/mine"]

    run_harvest(store, make_config("", service_accounts=["ml-team-ci"]), since="30d")
    filters = json.loads(run_bodies(fake)[-1]["variables"]["filters"])
    assert filters["$and"][0] == {"username": {"$in": ["ada", "ml-team-ci"]}}
    assert sorted((r.external_id, r.mine) for r in store.load_records("run")) == [
        ("ml-team/fraud/bot", True), ("ml-team/fraud/mine", True)]


# failures ------------------------------------------------------------------------------------------------


def test_rejected_key_names_the_variable(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "not-the-key")
    config = write_config(tmp_path / "h.toml", """
[identity]
handles = ["ada"]
[connectors.wb]
type = "wandb"
entities = ["ml-team"]
max_retries = 0
""")
    result = run_cli("--config", str(config), "harvest", "--since", "7d")
    assert result.exit_code == 1
    assert "wb: W&B at https://api.wandb.ai rejected the API key in WANDB_API_KEY (HTTP 401)" in result.output
    assert "not-the-key" not in result.output and "Traceback" not in result.output


def test_missing_key_is_a_config_error_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    config = write_config(tmp_path / "h.toml", '[connectors.wb]\ntype = "wandb"\n')
    result = run_cli("--config", str(config), "harvest")
    assert result.exit_code == 2
    assert "token_env: environment variable WANDB_API_KEY is not set" in result.output


def test_bad_setting_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", KEY)
    config = write_config(tmp_path / "h.toml", '[connectors.wb]\ntype = "wandb"\nsubject_by = "team"\n')
    result = run_cli("--config", str(config), "harvest")
    assert result.exit_code == 2
    assert '[connectors.wb]: subject_by must be "project" or "group"' in result.output


@pytest.mark.parametrize("failure, wait", [(502, 0.5), ((429, {"Retry-After": "7"}), 7.0)])
def test_server_errors_are_retried_without_real_waits(fake, store, failure, wait):
    fake.add_run("ml-team", "fraud", make_run("a1", "ada", NOW - timedelta(days=1)))
    fake.failures = {2: failure}  # the Runs request fails once
    waits = []
    connector = WandbConnector("wb", WandbSettings(entities=("ml-team",), max_retries=2, retry_backoff=0.5),
                               IdentitySettings(handles=("ada",)))
    connector.client.sleep = waits.append
    window = HarvestWindow(since=NOW - timedelta(days=30), forced=True, started_at=NOW)
    records = list(connector.fetch("runs", None, window))
    assert [r.external_id for r in records] == ["ml-team/fraud/a1"]
    assert fake.operations() == ["Projects", "Runs", "Runs"] and waits == [wait]  # recorded, never slept


def test_server_error_mid_harvest_keeps_pages_and_resumes(fake, store):
    projects = [f"p{i}" for i in range(6)]
    for i, p in enumerate(projects):
        for j in range(3):
            fake.add_run("ml-team", p, make_run(f"{p}-r{j}", "ada", NOW - timedelta(days=3, hours=i * 3 + j)))
    # one project per request, 2 runs per committed page: requests 1 = Projects, 2.. = Runs
    config = make_config("", projects_per_request=1, page_size=2)
    fake.failures = {5: 500}  # the fourth project's runs
    summary = run_harvest(store, config, since="30d")
    assert not summary.ok and "HTTP 500" in summary.sources[0].error
    # 9 runs were read, 8 committed: p2's last run was in the page the error cut short
    assert store.count_records(kind="run") == 8
    cursor = store.load_cursor("wandb-team", "runs")
    assert cursor.value is None and cursor.state["pending"]["done"] == ["ml-team/p0", "ml-team/p1"]

    fake.bodies.clear()
    fake.failures = {}
    resumed = run_harvest(store, config)
    assert resumed.ok, resumed.sources[0].error
    assert [requested_projects(b) for b in run_bodies(fake)] == [["ml-team/p2"], ["ml-team/p3"], ["ml-team/p4"],
                                                                 ["ml-team/p5"]]
    assert store.count_records(kind="run") == 18  # nothing lost, nothing twice
    cursor = store.load_cursor("wandb-team", "runs")
    assert cursor.state == {} and datetime.fromisoformat(cursor.value) < datetime.now(timezone.utc)


def test_graphql_error_fails_the_source_but_keeps_its_runs(fake, store):
    fake.add_run("ml-team", "fraud", make_run("a1", "ada", NOW - timedelta(days=1)))
    summary = run_harvest(store, make_config("", organization="acme-typo"), since="30d")
    assert summary.sources[0].error == ("wandb-team: W&B rejected RegistryVersions: "
                                        "organization 'acme-typo' not found")
    assert store.count_records(kind="run") == 1  # the runs stream finished before the registry failed


def test_unreachable_server_is_transient_and_clear(monkeypatch, store):
    monkeypatch.setenv("WANDB_API_KEY", KEY)
    import requests

    with responses.RequestsMock() as mock:
        mock.add(responses.POST, "https://wandb.example.com/graphql", body=requests.ConnectionError("refused"))
        config = make_config("", base_url="https://wandb.example.com")
        summary = run_harvest(store, config, since="7d")
    assert "cannot reach W&B at https://wandb.example.com" in summary.sources[0].error


# incremental harvests ---------------------------------------------------------------------------------------


def test_nightly_with_nothing_new_adds_nothing_in_three_requests(fake, store):
    for p in ("fraud", "ranking"):
        for j in range(5):
            fake.add_run("ml-team", p, make_run(f"{p}-{j}", "ada", NOW - timedelta(days=10 - j)))
    fake.memberships.append(make_membership("fraud-detector", 1, created=NOW - timedelta(days=3),
                                            aliases=("production",), run=("ml-team", "fraud", "fraud-4", "ada")))
    config = make_config("", organization="acme")
    run_harvest(store, config, since="90d")
    count = store.count_records()

    fake.bodies.clear()
    nightly = run_harvest(store, config)
    assert nightly.ok
    assert fake.operations() == ["Projects", "Runs", "RegistryVersions"]
    assert nightly.sources[0].records == 1  # the serving version is re-read for the alias snapshot
    assert store.count_records() == count
    since = json.loads(run_bodies(fake)[0]["variables"]["filters"])["$and"][1]["$or"][0]["createdAt"]["$gt"]
    assert datetime.fromisoformat(since).replace(tzinfo=timezone.utc) >= NOW - timedelta(minutes=11)


def test_a_run_that_was_running_is_updated_when_it_finishes(fake, store):
    node = fake.add_run("ml-team", "fraud", make_run("live", "ada", NOW - timedelta(hours=5),
                                                     heartbeat=NOW - timedelta(minutes=30), state="running",
                                                     summary={"val_auc": 0.5}))
    config = make_config("")
    run_harvest(store, config, since="30d")
    assert store.load_records("run")[0].attributes["status"] == "running"

    later = datetime.now(timezone.utc) + timedelta(minutes=5)
    fake.add_run("ml-team", "fraud", {**node, "state": "finished", "heartbeatAt": iso(later),
                                      "summaryMetrics": json.dumps({"val_auc": 0.9})})
    run_harvest(store, config)
    (record,) = store.load_records("run")
    assert record.attributes["status"] == "finished" and record.attributes["metrics"] == {"val_auc": 0.9}


# registry -------------------------------------------------------------------------------------------------------


def test_registry_versions_and_alias_moves(fake, store):
    fake.organization = "acme"
    run = ("ml-team", "fraud", "best", "ada")
    fake.memberships += [
        make_membership("fraud-detector", 3, created=NOW - timedelta(days=2), aliases=("production", "latest"),
                        run=run, run_summary={"val_auc": 0.87, "_step": 3}),
        make_membership("fraud-detector", 1, created=NOW - timedelta(days=200)),
        make_membership("bob-model", 1, created=NOW - timedelta(days=1), aliases=("production",),
                        run=("ml-team", "other", "x", "bob")),
    ]
    config = make_config("")
    run_harvest(store, config, since="90d")
    ops = fake.operations()
    assert ops.count("FetchOrgInfoFromEntity") == 1 and ops.count("RegistryVersions") == 1
    body = fake.bodies[ops.index("RegistryVersions")]
    assert json.loads(body["variables"]["registryFilter"]) == {"name": "wandb-registry-model"}
    assert json.loads(body["variables"]["filter1"]) == {"alias": {"$in": ["champion", "production", "prod"]}}
    assert "artifactMemberships(projectFilters: $registryFilter, filters: $filter0" in body["query"]

    (promo,) = [p for p in store.load_records("model_promotion") if p.mine]
    assert promo.subject == "fraud-detector" and promo.external_id == "model/fraud-detector/3/production"
    assert promo.attributes == {"model": "fraud-detector", "version": "3", "run_id": "ml-team/fraud/best",
                                "run_url": "https://wandb.ai/ml-team/fraud/runs/best",
                                "run_metrics": {"val_auc": 0.87}, "stage": None, "target": "production",
                                "via": "alias", "previous_version": None}
    assert promo.url == "https://wandb.ai/acme-org/wandb-registry-model/artifacts/model/fraud-detector/v3"
    versions = {r.external_id: r for r in store.load_records("model_version")}
    assert set(versions) == {"model/fraud-detector/3", "model/bob-model/1"}  # v1 is older than the window
    assert versions["model/fraud-detector/3"].attributes["serving"] is True
    assert versions["model/fraud-detector/3"].attributes["aliases"] == ["latest", "production"]

    # production moves to v4; v3 stops serving
    fake.bodies.clear()
    fake.memberships[0]["aliases"] = [{"alias": "latest"}]
    fake.memberships.append(make_membership("fraud-detector", 4, created=datetime.now(timezone.utc),
                                            aliases=("production",), run=("ml-team", "fraud", "newer", "ada")))
    run_harvest(store, config)
    assert "FetchOrgInfoFromEntity" not in fake.operations()  # remembered in the cursor
    promos = {p.external_id: p for p in store.load_records("model_promotion")}
    assert promos["model/fraud-detector/4/production"].attributes["previous_version"] == "3"
    versions = {r.external_id: r for r in store.load_records("model_version")}
    assert versions["model/fraud-detector/3"].attributes["serving"] is False
    assert versions["model/fraud-detector/4"].attributes["serving"] is True

    run_harvest(store, config)
    assert len(store.load_records("model_promotion")) == 3  # no move, no new promotion


def test_personal_account_without_organization_skips_the_registry_quietly(fake, store):
    fake.organization = None
    run_harvest(store, make_config(""), since="30d")
    fake.bodies.clear()
    summary = run_harvest(store, make_config(""))
    assert summary.ok
    assert "RegistryVersions" not in fake.operations() and "FetchOrgInfoFromEntity" not in fake.operations()


# end to end, through the CLI ----------------------------------------------------------------------------------


def seed_quarter(server: FakeWandb) -> None:
    """The MLflow suite's quarter, logged to W&B: fourteen improving fraud runs over a tagged
    baseline, a ruled-out ranking campaign, a latency win, and a promoted model."""
    start = NOW - timedelta(days=80)

    def run(project, name, user, day, summary, config=None, tags=None, state="finished"):
        created = start + timedelta(days=day)
        server.add_run("ml-team", project, make_run(name, user, created, heartbeat=created + timedelta(minutes=40),
                                                    summary=summary, config=config, tags=tags, state=state))

    run("fraud", "base", "ada", 0, {"val_auc": 0.81, "val_loss": 0.45}, {"depth": 4}, tags=["baseline"])
    for i in range(13):
        run("fraud", f"f{i}", "ada", 3 + i * 4, {"val_auc": 0.81 + 0.06 * (i + 1) / 13}, {"depth": 4 + i % 3})
    run("fraud", "crash", "ada", 30, {"val_auc": 0.99}, state="crashed")
    for i in range(5):
        run("fraud", f"bob{i}", "bob", 10 + i, {"val_auc": 0.95 + i / 100})
    run("ranking", "rbase", "ada", 10, {"val_ndcg": 0.64}, {"dim": 64}, tags=["baseline"])
    for i in range(9):
        run("ranking", f"r{i}", "ada", 12 + i * 2, {"val_ndcg": 0.64 - 0.001 * (i % 4)}, {"dim": [32, 128, 256][i % 3]})
    for i in range(4):
        run("serving", f"s{i}", "ada", 50 + i * 3, {"p99_latency_ms": 400 - 80 * i})
    server.memberships.append(make_membership("fraud-detector", 1, created=start + timedelta(days=60),
                                              aliases=("champion",), run=("ml-team", "fraud", "f12", "ada"),
                                              run_summary={"val_auc": 0.87}))


def test_harvest_drafts_the_same_accomplishments_as_mlflow(fake, tmp_path):
    seed_quarter(fake)
    config = write_config(tmp_path / "harvester.toml", """
[identity]
name = "Ada"
email = "ada@example.com"
handles = ["ada"]

[connectors.wandb-team]
type = "wandb"
entities = ["ml-team"]
organization = "acme"
max_retries = 0
""")
    result = run_cli("--config", str(config), "harvest", "--since", "90d", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["sources"][0]["records"] > 30

    found = json.loads(run_cli("--config", str(config), "drafts", "list", "--status", "all", "--json").output)
    by_kind = {d["kind"]: d for d in found}
    assert sorted(by_kind) == ["experiment_campaign", "latency_reduction", "metric_lift"]  # promotion joins the lift
    assert len(found) == 3

    lift = by_kind["metric_lift"]
    assert lift["subject"] == "ml-team/fraud" and lift["source"] == "wandb-team"
    assert "from 0.81 to 0.87 (+7.4%) over 14 runs" in lift["statement"]
    assert "https://wandb.ai/ml-team/fraud/runs/f12" in lift["evidence"]
    assert "https://wandb.ai/ml-team/fraud/runs/base" in lift["evidence"]
    campaign = by_kind["experiment_campaign"]
    assert campaign["subject"] == "ml-team/ranking" and "after 10 runs" in campaign["statement"]
    assert by_kind["latency_reduction"]["metrics"][0]["after"] == pytest.approx(160)
    assert "shipped it as fraud-detector v1, now champion." in lift["statement"]

    again = run_cli("--config", str(config), "harvest", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["drafts"]["new"] == 0
    assert len(json.loads(run_cli("--config", str(config), "drafts", "list", "--status", "all",
                                  "--json").output)) == 3


# registry search without updated_at ("advanced" search organizations) ------------------------------------


def registry_bodies(server: FakeWandb) -> list[dict]:
    return [b for b in server.bodies if b["operationName"] == "RegistryVersions"]


def seed_registry(server: FakeWandb) -> None:
    server.memberships += [
        make_membership("fraud-detector", 3, created=NOW - timedelta(days=2), aliases=("production",),
                        run=("ml-team", "fraud", "best", "ada")),
        make_membership("fraud-detector", 2, created=NOW - timedelta(days=20), updated=NOW - timedelta(days=20)),
        make_membership("fraud-detector", 1, created=NOW - timedelta(days=200)),
    ]


def test_a_basic_search_organization_filters_changed_versions_on_the_server(fake, store):
    seed_registry(fake)
    started = datetime.now(timezone.utc)  # not the module's NOW: the suite may run for longer than the tolerance
    run_harvest(store, make_config("", organization="acme"), since="90d")
    (body,) = registry_bodies(fake)
    since = datetime.fromisoformat(json.loads(body["variables"]["filter0"])["updated_at"]["$gt"])
    assert abs(since.replace(tzinfo=timezone.utc) - (started - timedelta(days=90))) < timedelta(minutes=5)
    assert "updated_filter" not in store.load_cursor("wandb-team", "registry").state


@pytest.mark.parametrize("status", [200, 400])
def test_refused_updated_at_filter_falls_back_to_filtering_here_once(fake, store, status):
    fake.advanced_search, fake.refusal_status = True, status
    seed_registry(fake)
    config = make_config("", organization="acme")
    summary = run_harvest(store, config, since="90d")
    assert summary.ok, summary.sources[0].error
    refused, unfiltered = registry_bodies(fake)
    assert "updated_at" in refused["variables"]["filter0"]
    assert unfiltered["variables"]["filter0"] is None  # every version, picked by updatedAt here
    assert json.loads(unfiltered["variables"]["filter1"]) == {"alias": {"$in": ["champion", "production", "prod"]}}
    versions = {r.external_id for r in store.load_records("model_version")}
    assert versions == {"model/fraud-detector/3", "model/fraud-detector/2"}  # v1 is older than the window
    assert [p.external_id for p in store.load_records("model_promotion")] == ["model/fraud-detector/3/production"]

    # the next harvest remembers the fallback: one request, and only what changed since the cursor
    fake.bodies.clear()
    fake.memberships.append(make_membership("fraud-detector", 4, created=datetime.now(timezone.utc)))
    nightly = run_harvest(store, config)
    assert nightly.ok, nightly.sources[0].error
    (body,) = registry_bodies(fake)
    assert body["variables"]["filter0"] is None
    assert nightly.sources[0].streams["registry"] == 2  # v4, and v3 re-read for the alias snapshot
    assert store.load_cursor("wandb-team", "registry").state["updated_filter"] is False


def test_a_refusal_that_is_not_about_updated_at_still_fails_the_source(fake, store):
    seed_registry(fake)
    summary = run_harvest(store, make_config("", organization="acme-typo"), since="90d")
    assert "organization 'acme-typo' not found" in summary.sources[0].error
    assert len(registry_bodies(fake)) == 1  # no second try without the filter


# malformed items ------------------------------------------------------------------------------------------


def test_a_malformed_run_and_registry_version_are_skipped_and_counted(fake, store):
    fake.add_run("ml-team", "fraud", make_run("a1", "ada", NOW - timedelta(days=2)))
    fake.add_run("ml-team", "fraud", {**make_run("", "ada", NOW - timedelta(days=1)), "id": ""})  # no name, no id
    fake.add_run("ml-team", "fraud", make_run("a2", "ada", NOW - timedelta(hours=5)))
    seed_registry(fake)
    broken = make_membership("fraud-detector", 9, created=NOW - timedelta(days=1))
    broken["versionIndex"] = broken["artifact"]["versionIndex"] = "latest"
    fake.memberships.append(broken)
    summary = run_harvest(store, make_config("", organization="acme"), since="90d")
    assert summary.ok, summary.sources[0].error
    assert summary.sources[0].skipped == {"runs": 1, "artifact versions": 1}
    assert summary.as_json()["sources"][0]["skipped_malformed"] == {"runs": 1, "artifact versions": 1}
    assert sorted(r.external_id for r in store.load_records("run")) == ["ml-team/fraud/a1", "ml-team/fraud/a2"]
    assert {r.external_id for r in store.load_records("model_version")} == {"model/fraud-detector/3",
                                                                            "model/fraud-detector/2"}
    assert store.load_cursor("wandb-team", "runs").state == {}  # the project was finished all the same
