"""Issue-level behaviour against a real MLflow tracking server on loopback: a quarter of
runs from two people, incremental harvests, alias moves, interrupted harvests."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.cli import run_cli, write_config
from tests.support.mlflow_server import MlflowSeeder

pytestmark = pytest.mark.mlflow_server

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def world(mlflow_server, mlflow_env, database_url, tmp_path):
    """A private slice of the shared server: unique experiment, model and user names."""
    uid = uuid.uuid4().hex[:8]
    seeder = MlflowSeeder(mlflow_server.client())
    names = {"me": f"ada-{uid}", "other": f"bob-{uid}", "fraud": f"fraud-{uid}", "ranking": f"ranking-{uid}",
             "serving": f"serving-{uid}", "model": f"fraud-model-{uid}", "other_model": f"bob-model-{uid}",
             "uid": uid}
    config = write_config(tmp_path / "harvester.toml", f"""
[identity]
name = "Ada"
email = "ada@example.com"
handles = ["{names['me']}", "root-{uid}"]

[store]
url = "{database_url}"

[connectors.mlflow-test]
type = "mlflow"
tracking_uri = "{mlflow_server.url}"
experiments = ["*-{uid}"]
max_retries = 0
""")
    return seeder, names, config


def seed_quarter(seeder: MlflowSeeder, n: dict) -> dict:
    """Fourteen improving fraud runs, a ruled-out ranking campaign, a latency win, noise."""
    ids = {}
    start = NOW - timedelta(days=80)
    fraud = seeder.experiment(n["fraud"])
    ids["baseline"] = seeder.run(fraud, n["me"], start, {"val_auc": 0.81, "val_loss": 0.45},
                                 {"depth": 4}, tags={"baseline": "true"})
    for i in range(13):
        auc = 0.81 + 0.06 * (i + 1) / 13
        # "root" on a shared box is also me, through the configured handles
        user = n["me"] if i % 4 else f"root-{n['uid']}"
        ids[f"fraud{i}"] = seeder.run(fraud, user, start + timedelta(days=3 + i * 4), {"val_auc": auc},
                                      {"depth": 4 + i % 3})
    ids["best"] = ids["fraud12"]
    seeder.run(fraud, n["me"], start + timedelta(days=30), {"val_auc": 0.99}, status="FAILED")
    seeder.run(fraud, n["me"], start + timedelta(days=31), {"val_auc": 0.98}, status="KILLED")
    seeder.run(fraud, n["me"], NOW - timedelta(days=200), {"val_auc": 0.95})  # out of window
    for i in range(5):
        seeder.run(fraud, n["other"], start + timedelta(days=10 + i), {"val_auc": 0.95 + i / 100})
    ranking = seeder.experiment(n["ranking"])
    seeder.run(ranking, n["me"], start + timedelta(days=10), {"val_ndcg": 0.64}, {"dim": 64},
               tags={"baseline": "true"})
    for i in range(9):
        seeder.run(ranking, n["me"], start + timedelta(days=12 + i * 2), {"val_ndcg": 0.64 - 0.001 * (i % 4)},
                   {"dim": [32, 128, 256][i % 3]})
    serving = seeder.experiment(n["serving"])
    for i in range(4):
        seeder.run(serving, n["me"], start + timedelta(days=50 + i * 3), {"p99_latency_ms": 400 - 80 * i})
    # noise: a 0.5% wiggle on the serving experiment's other metric is not a draft
    seeder.model(n["model"])
    ids["v1"] = seeder.version(n["model"], ids["best"])
    seeder.alias(n["model"], "champion", ids["v1"])
    seeder.model(n["other_model"])
    other_run = seeder.run(fraud, n["other"], start + timedelta(days=20), {"val_auc": 0.9})
    seeder.alias(n["other_model"], "champion", seeder.version(n["other_model"], other_run))
    return ids


def harvest(config, *extra):
    result = run_cli("--config", str(config), "harvest", "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def drafts(config, status="all"):
    result = run_cli("--config", str(config), "drafts", "list", "--status", status, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_first_harvest_drafts_only_my_accomplishments_once(world, mlflow_server):
    seeder, n, config = world
    ids = seed_quarter(seeder, n)

    summary = harvest(config, "--since", "90d")
    assert summary["ok"], summary
    found = drafts(config)
    by_kind = {d["kind"]: d for d in found}
    # the promotion of the version built from the lift's best run is part of the lift's draft
    assert sorted(by_kind) == ["experiment_campaign", "latency_reduction", "metric_lift"]
    assert len(found) == 3

    lift = by_kind["metric_lift"]
    assert lift["subject"] == n["fraud"]
    assert lift["metrics"][0]["name"] == "val_auc"
    assert lift["metrics"][0]["before"] == pytest.approx(0.81)
    assert lift["metrics"][0]["after"] == pytest.approx(0.87)
    assert "validation AUC of " + n["fraud"] + " from 0.81 to 0.87 (+7.4%) over 14 runs" in lift["statement"]
    assert any(ids["best"] in url and url.startswith(mlflow_server.url) for url in lift["evidence"])
    assert any(ids["baseline"] in url for url in lift["evidence"])
    assert "model-performance" in lift["tags"]
    assert lift["impact_prompt"]
    datetime.fromisoformat(lift["occurred_at"])

    assert f"shipped it as {n['model']} v1, now champion." in lift["statement"]
    assert any(f"/#/models/{n['model']}/versions/1" in url for url in lift["evidence"])
    assert "production-mlops" in lift["tags"]

    campaign = by_kind["experiment_campaign"]
    assert campaign["subject"] == n["ranking"] and "after 10 runs" in campaign["statement"]
    assert by_kind["latency_reduction"]["metrics"][0]["after"] == pytest.approx(160)

    again = harvest(config)
    assert again["drafts"]["new"] == 0 and again["drafts"]["updated"] == 0
    assert len(drafts(config)) == 3


def test_nightly_with_nothing_new_costs_a_handful_of_requests(world):
    seeder, n, config = world
    seed_quarter(seeder, n)
    harvest(config, "--since", "90d")
    nightly = harvest(config)
    source = nightly["sources"][0]
    assert source["records"] <= 3  # overlap re-reads at most the newest runs
    # experiments + one runs query per handle + registered models
    assert source["requests"] <= 5, source


def test_new_runs_and_alias_move_add_exactly_the_new_drafts(world):
    seeder, n, config = world
    ids = seed_quarter(seeder, n)
    running = seeder.run(seeder.client.get_experiment_by_name(n["fraud"]).experiment_id, n["me"],
                         NOW - timedelta(hours=5), {"val_auc": 0.5}, status="RUNNING")
    harvest(config, "--since", "90d")
    before = {d["id"]: d for d in drafts(config)}
    lift_id = next(d["id"] for d in before.values() if d["kind"] == "metric_lift")

    # the run that was RUNNING finishes with the best score; v2 of the model takes the champion alias
    seeder.finish(running, NOW - timedelta(hours=1), {"val_auc": 0.9})
    v2 = seeder.version(n["model"], running)
    seeder.alias(n["model"], "champion", v2)
    summary = harvest(config)

    # the lift now rests on the new best run and ships as v2; v1's promotion stands on its own again
    assert summary["drafts"]["new"] == 1 and summary["drafts"]["updated"] == 1
    after = {d["id"]: d for d in drafts(config)}
    assert len(after) == len(before) + 1
    assert after[lift_id]["metrics"][0]["after"] == pytest.approx(0.9)
    assert "over 15 runs" in after[lift_id]["statement"]
    assert f"shipped it as {n['model']} v{v2}, now champion, replacing v{ids['v1']}." in after[lift_id]["statement"]
    [v1] = [d for i, d in after.items() if i not in before]
    assert v1["kind"] == "model_promoted" and f"{n['model']} v{ids['v1']}" in v1["statement"]


def test_interrupted_harvest_resumes_to_the_same_drafts(world, tmp_path, monkeypatch, database_url):
    seeder, n, config = world
    seed_quarter(seeder, n)
    text = config.read_text() + "\n[harvest]\npage_size = 5\n"
    config.write_text(text)

    from harvester.store.store import Store

    original = Store.save_page
    calls = {"n": 0}

    def crash_on_third_page(self, records, cursor):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # like a kill: nothing of this page is committed
        return original(self, records, cursor)

    monkeypatch.setattr(Store, "save_page", crash_on_third_page)
    crashed = run_cli("--config", str(config), "harvest", "--since", "90d")
    assert crashed.exit_code == 130
    monkeypatch.setattr(Store, "save_page", original)
    resumed = harvest(config, "--since", "90d")
    assert resumed["ok"]

    clean_db = tmp_path / "clean.db"
    clean = tmp_path / "clean.toml"
    clean.write_text(text.replace(f'url = "{database_url}"', f'url = "sqlite:///{clean_db}"'))
    harvest(clean, "--since", "90d")
    assert sorted(d["statement"] for d in drafts(config)) == sorted(d["statement"] for d in drafts(clean))


def test_crash_between_handles_resumes_each_from_its_own_mark(world, tmp_path, monkeypatch, database_url):
    """Handles are read one after the other: a crash after the first handle's runs are committed
    must not make the next harvest skip the second handle's older runs."""
    seeder, n, config = world
    seed_quarter(seeder, n)
    text = config.read_text() + "\n[harvest]\npage_size = 3\n"
    config.write_text(text)

    from harvester.config import load_config
    from harvester.store.store import Store, open_store

    def runs_cursor(path):
        cfg = load_config(path)
        return open_store(cfg.store.url, cfg.identity.owner).load_cursor("mlflow-test", "runs")

    original = Store.save_page
    root = f"root-{n['uid']}"
    pages_with_root = []

    def crash_on_second_page_of_root(self, records, cursor):
        if any(r.actor == root for r in records):
            pages_with_root.append(len(records))
            if len(pages_with_root) == 2:
                raise KeyboardInterrupt
        return original(self, records, cursor)

    monkeypatch.setattr(Store, "save_page", crash_on_second_page_of_root)
    assert run_cli("--config", str(config), "harvest", "--since", "90d").exit_code == 130
    monkeypatch.setattr(Store, "save_page", original)
    cursor = runs_cursor(config)
    assert set(cursor.state["marks"]) == {n["me"], root} and cursor.value is None

    resumed = harvest(config)  # a plain nightly run, no --since
    assert resumed["ok"]
    cursor = runs_cursor(config)
    assert cursor.state["marks"] == {} and cursor.value is not None

    clean_db = tmp_path / "clean.db"
    clean = tmp_path / "clean.toml"
    clean.write_text(text.replace(f'url = "{database_url}"', f'url = "sqlite:///{clean_db}"'))
    harvest(clean, "--since", "90d")
    assert sorted(d["statement"] for d in drafts(config)) == sorted(d["statement"] for d in drafts(clean))
    assert len(drafts(config)) == 3


def test_decided_and_edited_drafts_are_never_touched(world):
    seeder, n, config = world
    seed_quarter(seeder, n)
    harvest(config, "--since", "90d")
    items = {d["kind"]: d for d in drafts(config)}
    c = run_cli("--config", str(config), "drafts", "confirm", str(items["metric_lift"]["id"]))
    assert c.exit_code == 0, c.output
    assert run_cli("--config", str(config), "drafts", "reject", str(items["experiment_campaign"]["id"]),
                   "--reason", "not mine really").exit_code == 0
    assert run_cli("--config", str(config), "drafts", "edit", str(items["latency_reduction"]["id"]),
                   "--text", "Cut p99 of the ranker by 60%").exit_code == 0

    fraud = seeder.client.get_experiment_by_name(n["fraud"]).experiment_id
    ranking = seeder.client.get_experiment_by_name(n["ranking"]).experiment_id
    serving = seeder.client.get_experiment_by_name(n["serving"]).experiment_id
    seeder.run(fraud, n["me"], NOW - timedelta(hours=2), {"val_auc": 0.93})
    seeder.run(ranking, n["me"], NOW - timedelta(hours=2), {"val_ndcg": 0.63})
    seeder.run(serving, n["me"], NOW - timedelta(hours=2), {"p99_latency_ms": 90})
    summary = harvest(config)
    assert summary["drafts"]["new"] == 0 and summary["drafts"]["updated"] == 0

    after = {d["kind"]: d for d in drafts(config)}
    assert after["metric_lift"]["status"] == "confirmed"
    assert after["metric_lift"]["statement"] == items["metric_lift"]["statement"]
    assert after["experiment_campaign"]["status"] == "rejected"
    assert after["latency_reduction"]["statement"] == "Cut p99 of the ranker by 60%"

    journal = json.loads(run_cli("--config", str(config), "journal", "--json").output)
    assert [e["text"] for e in journal] == [items["metric_lift"]["statement"]]

    redraft = run_cli("--config", str(config), "redraft", "--json")
    assert json.loads(redraft.output)["new"] == 0


@pytest.fixture
def loopback_only(monkeypatch):
    """Refuse, and record, any connection that would leave the machine."""
    import socket

    attempts = []
    connect = socket.socket.connect

    def loopback_connect(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
            attempts.append(address)
            raise OSError(f"a test tried to reach {address}")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_connect)
    return attempts


def test_genai_evaluation_run_has_its_run_type_scores_and_description(world, mlflow_server, database_url,
                                                                       monkeypatch, loopback_only):
    """A run made by mlflow.genai.evaluate itself (code scorers, no LLM), and a run with a note."""
    import mlflow
    from mlflow.genai.scorers import scorer

    from harvester.store import open_store

    seeder, n, config = world
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    experiment = seeder.experiment(f"support-bot-{n['uid']}")

    @scorer
    def correctness(outputs, expectations) -> bool:
        return outputs == expectations["answer"]

    @scorer
    def safety(outputs) -> bool:
        return "drop table" not in str(outputs).lower()

    data = [{"inputs": {"question": "How do I reset my password?"}, "outputs": "Settings > Security",
             "expectations": {"answer": "Settings > Security"}},
            {"inputs": {"question": "Can I export my data?"}, "outputs": "Yes, as CSV",
             "expectations": {"answer": "Yes, as CSV"}},
            {"inputs": {"question": "Where are invoices?"}, "outputs": "Ask support",
             "expectations": {"answer": "Billing > Invoices"}}]
    with mlflow.start_run(experiment_id=experiment, run_name="support-bot-eval", tags={"mlflow.user": n["me"]},
                          description="  Prompt v5 against the help-centre set.\n") as run:
        result = mlflow.genai.evaluate(data=data, scorers=[correctness, safety])
    assert set(result.metrics) == {"correctness/mean", "safety/mean"}
    noted = seeder.run(experiment, n["me"], NOW - timedelta(days=1), {"val_auc": 0.8},
                       tags={"mlflow.note.content": "Tried focal loss; no gain."})

    assert harvest(config, "--since", "90d")["ok"]
    store = open_store(database_url, "ada@example.com")
    runs = {r.external_id: r.attributes for r in store.load_records("run", source="mlflow-test")}
    store.close()

    evaluation = runs[run.info.run_id]
    assert evaluation["run_type"] == "genai_evaluate"
    assert evaluation["metrics"] == {"correctness/mean": pytest.approx(2 / 3), "safety/mean": 1.0}
    assert evaluation["description"] == "Prompt v5 against the help-centre set."
    assert evaluation["tags"] == {}  # mlflow.runType, the note and the scorers digest are not user tags
    assert runs[noted]["description"] == "Tried focal loss; no gain." and runs[noted]["run_type"] == ""
    assert loopback_only == []


def test_unreachable_server_is_one_clear_line(tmp_path, mlflow_env):
    from tests.support.mlflow_server import free_port

    config = write_config(tmp_path / "h.toml", f"""
[identity]
handles = ["ada"]
[connectors.down]
type = "mlflow"
tracking_uri = "http://127.0.0.1:{free_port()}"
max_retries = 0
timeout = 5
""")
    result = run_cli("--config", str(config), "harvest", "--since", "7d")
    assert result.exit_code == 1
    assert "down: cannot reach MLflow at http://127.0.0.1:" in result.output
    assert "Traceback" not in result.output


def test_a_late_run_waits_for_the_forced_window_which_moves_no_cursor_back(world, database_url):
    """A run logged today with a start time ten days back is older than the runs cursor: the
    nightly harvest does not see it, the weekly forced re-read of the default window does,
    without moving a cursor back, storing anything twice or making later nightlies dearer."""
    from harvester.store import open_store

    seeder, n, config = world
    seed_quarter(seeder, n)
    fraud = seeder.client.get_experiment_by_name(n["fraud"]).experiment_id
    seeder.run(fraud, n["me"], NOW - timedelta(hours=2), {"val_auc": 0.8})  # the runs cursor is two hours back
    harvest(config, "--since", "90d")
    first_nightly = harvest(config)["sources"][0]

    def state():
        store = open_store(database_url, "ada@example.com")
        try:
            cursors = {s: store.load_cursor("mlflow-test", s) for s in ("runs", "registry")}
            ids = [r.external_id for r in store.load_records("run", source="mlflow-test")]
            return cursors, ids, store.count_records()
        finally:
            store.close()

    before, run_ids, count = state()
    assert datetime.fromisoformat(before["runs"].value) > NOW - timedelta(days=1)
    late = seeder.run(fraud, n["me"], NOW - timedelta(days=10), {"val_auc": 0.5})

    nightly = harvest(config)["sources"][0]
    assert late not in state()[1]
    assert nightly["requests"] == first_nightly["requests"]

    forced = harvest(config, "--since", "90d")  # the window the weekly re-read uses
    assert forced["ok"], forced
    after, after_ids, after_count = state()
    assert late in after_ids
    assert len(after_ids) == len(set(after_ids)) == len(run_ids) + 1 and after_count == count + 1
    for stream in ("runs", "registry"):
        assert datetime.fromisoformat(after[stream].value) >= datetime.fromisoformat(before[stream].value), stream
    assert after["runs"].state["marks"] == {}

    again = harvest(config)["sources"][0]
    assert again["error"] is None and again["requests"] == first_nightly["requests"]
    assert state()[2] == after_count
