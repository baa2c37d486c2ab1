"""`harvester doctor` against a real MLflow server and the GitHub and Jira fakes; the harvest
line that points at it; one harvest lock per store."""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import responses

from tests.support.cli import run_cli, write_config
from tests.support.github_fake import OTHER, FakeGithub, pr_item
from tests.support.jira import CLOUD, OTHER_ACCOUNT, cloud_user, jql_page, myself_cloud
from tests.support.mlflow_server import MlflowSeeder, free_port

NOW = datetime.now(timezone.utc)


def doctor_json(cfg):
    result = run_cli("--config", str(cfg), "doctor", "--json")
    return result.exit_code, json.loads(result.stdout)


def by_source(report) -> dict:
    return {d["source"]: d for d in report["sources"]}


@pytest.fixture
def seeded_experiment(mlflow_server):
    """Three recent runs logged as ada@example.com, two as grace, one of ada's long ago."""
    name = f"doctor-{uuid.uuid4().hex[:8]}"
    seeder = MlflowSeeder(mlflow_server.client())
    exp = seeder.experiment(name)
    for days in (2, 5, 9):
        seeder.run(exp, "ada@example.com", NOW - timedelta(days=days), {"val_auc": 0.8})
    for days in (3, 4):
        seeder.run(exp, "grace", NOW - timedelta(days=days), {"val_auc": 0.7})
    seeder.run(exp, "ada@example.com", NOW - timedelta(days=200), {"val_auc": 0.6})
    return name


def mlflow_config(tmp_path, url, experiment, handles='["ada"]', extra=""):
    return write_config(tmp_path / "doctor.toml", f"""
[identity]
name = "Ada Lovelace"
handles = {handles}

[store]
url = "sqlite:///{tmp_path / 'store.db'}"

[connectors.tracking]
type = "mlflow"
tracking_uri = "{url}"
experiments = ["{experiment}"]
max_retries = 0
{extra}""")


def test_doctor_names_an_owner_that_looks_like_you_and_an_unreachable_server(tmp_path, isolated_home, mlflow_env,
                                                                             mlflow_server, seeded_experiment):
    closed = f"http://127.0.0.1:{free_port()}"
    cfg = mlflow_config(tmp_path, mlflow_server.url, seeded_experiment, extra=f"""
[connectors.offline]
type = "mlflow"
tracking_uri = "{closed}"
max_retries = 0
timeout = 5
""")
    code, report = doctor_json(cfg)
    assert code == 1 and report["ok"] is False
    assert report["config_file"] == str(cfg.resolve()) and report["store_url"].endswith("store.db")
    tracking, offline = by_source(report)["tracking"], by_source(report)["offline"]
    assert tracking["reachable"] is True and tracking["matching"] == 0
    assert tracking["near_misses"] == {"ada@example.com": 3}  # grace does not look like Ada; the old run is out
    [problem] = tracking["problems"]
    assert "ada@example.com" in problem["problem"]
    assert problem["fix"].startswith('Add "ada@example.com" to [identity] handles')
    assert offline["reachable"] is False
    [unreachable] = offline["problems"]
    assert closed in unreachable["problem"] and "server is up" in unreachable["fix"]

    text = run_cli("--config", str(cfg), "doctor")
    assert text.exit_code == 1
    assert "look like you but are not your handles: ada@example.com (3)" in text.output
    assert f"harvester --config {cfg.resolve()} doctor" in text.output  # the closing line is runnable as printed
    assert str(isolated_home) in text.output  # app dir, log and lock

    fixed = mlflow_config(tmp_path, mlflow_server.url, seeded_experiment, handles='["ada@example.com"]')
    code, report = doctor_json(fixed)
    assert code == 0, report
    assert by_source(report)["tracking"]["matching"] == 3 and by_source(report)["tracking"]["near_misses"] == {}


def test_doctor_reports_a_file_store_that_does_not_exist_without_creating_it(tmp_path, isolated_home):
    missing = tmp_path / "mlrunz"
    cfg = mlflow_config(tmp_path, missing.as_uri(), "x")
    code, report = doctor_json(cfg)
    assert code == 1
    [problem] = by_source(report)["tracking"]["problems"]
    assert str(missing) in problem["problem"] and "tracking_uri" in problem["fix"]
    assert not missing.exists()


def test_a_harvest_that_matched_none_of_your_records_points_at_doctor(tmp_path, isolated_home, mlflow_env,
                                                                      mlflow_server, seeded_experiment):
    cfg = mlflow_config(tmp_path, mlflow_server.url, seeded_experiment, handles='["ada"]')
    result = run_cli("--config", str(cfg), "harvest")
    assert result.exit_code == 0, result.output
    assert "tracking: none of its records is yours yet" in result.output
    assert f"harvester --config {cfg.resolve()} doctor" in result.output
    as_json = json.loads(run_cli("--config", str(cfg), "harvest", "--json").stdout)
    assert as_json["sources_without_my_records"] == ["tracking"]

    fixed = mlflow_config(tmp_path, mlflow_server.url, seeded_experiment, handles='["ada@example.com"]')
    result = run_cli("--config", str(fixed), "harvest", "--since", "90d")
    assert result.exit_code == 0, result.output
    assert "doctor" not in result.output
    again = run_cli("--config", str(fixed), "harvest")  # nothing new, but the store holds runs of yours
    assert "doctor" not in again.output


GITHUB_CONFIG = """
[identity]
name = "Ada Lovelace"
handles = ["ada"]

[store]
url = "sqlite:///{db}"

[connectors.gh]
type = "github"
token_env = "GH_TEST_TOKEN"
seconds_between_requests = 0
max_retries = 0
"""


@pytest.mark.parametrize("user,ok", [(OTHER, False), (None, True)])
def test_doctor_on_github_says_whom_the_token_belongs_to(tmp_path, isolated_home, monkeypatch, user, ok):
    monkeypatch.setenv("GH_TEST_TOKEN", "ghp_test")
    cfg = write_config(tmp_path / "gh.toml", GITHUB_CONFIG.format(db=tmp_path / "store.db"))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeGithub(rsps, prs=[pr_item(1), pr_item(2)])
        if user is not None:
            fake.user = dict(user)
        fake.install()
        code, report = doctor_json(cfg)
        assert len(rsps.calls) == 2  # /user and one search of one result
    gh = by_source(report)["gh"]
    assert gh["reachable"] is True and gh["matching"] == 2
    if ok:
        assert code == 0 and gh["identity"].startswith("ada ") and gh["problems"] == []
    else:
        assert code == 1 and gh["identity"].startswith("grace ")
        [problem] = gh["problems"]
        assert "'grace'" in problem["problem"] and "GH_TEST_TOKEN" in problem["fix"]


def test_doctor_on_jira_flags_a_token_of_another_user(tmp_path, isolated_home, monkeypatch):
    monkeypatch.setenv("JIRA_API_TOKEN", "atl-token")
    cfg = write_config(tmp_path / "jira.toml", f"""
[identity]
name = "Ada Example"
email = "ada@example.com"

[store]
url = "sqlite:///{tmp_path / 'store.db'}"

[connectors.jira]
type = "jira"
url = "{CLOUD}"
email = "ada@example.com"
max_retries = 0
""")
    other = {**cloud_user(OTHER_ACCOUNT, "Grace Hopper"), "emailAddress": "grace@example.com"}
    for me, ok in ((other, False), (myself_cloud(), True)):
        with responses.RequestsMock() as rsps:
            rsps.get(f"{CLOUD}/rest/api/2/myself", json=me)
            rsps.get(f"{CLOUD}/rest/api/2/search/jql", json=jql_page([]))
            code, report = doctor_json(cfg)
            assert len(rsps.calls) == 2
        jira = by_source(report)["jira"]
        assert jira["reachable"] is True and jira["matching"] == 0
        if ok:
            assert code == 0 and "ada@example.com" in jira["identity"]
        else:
            assert code == 1 and "Grace Hopper" in jira["identity"]
            [problem] = jira["problems"]
            assert "Grace Hopper" in problem["problem"] and "JIRA_API_TOKEN" in problem["fix"]


def test_a_source_type_without_a_diagnosis_is_named_not_failed(tmp_path, isolated_home, monkeypatch):
    from tests.support.steady_source import use_steady_source

    use_steady_source(monkeypatch)
    cfg = write_config(tmp_path / "s.toml", f'[store]\nurl = "sqlite:///{tmp_path / "s.db"}"\n'
                                            '[connectors.steady]\ntype = "steady"\n')
    code, report = doctor_json(cfg)
    assert code == 0
    assert by_source(report)["steady"]["notes"] == ["no diagnosis for the steady type; a harvest shows whether it works"]


# one harvest lock per store ------------------------------------------------------------------------------


def steady_config(tmp_path, name, store):
    return write_config(tmp_path / f"{name}.toml", f'[identity]\nhandles = ["ada"]\n[store]\nurl = "{store}"\n'
                                                   '[connectors.steady]\ntype = "steady"\ncount = 3\n')


def test_two_stores_in_one_app_dir_harvest_at_once_and_one_store_still_blocks(tmp_path, isolated_home,
                                                                              monkeypatch):
    from harvester.lock import LOCK_HELD_EXIT, app_lock_path
    from harvester.nightly import default_log_path
    from tests.support.steady_source import use_steady_source

    use_steady_source(monkeypatch)
    first_store, second_store = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    first, second = steady_config(tmp_path, "a", first_store), steady_config(tmp_path, "b", second_store)
    lock = app_lock_path(first_store)
    assert lock != app_lock_path(second_store) and lock.parent == isolated_home
    assert default_log_path(first_store) != default_log_path(second_store)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)  # a harvest of the first store is running
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert run_cli("--config", str(second), "harvest").exit_code == 0
        blocked = run_cli("--config", str(first), "harvest")
        assert blocked.exit_code == LOCK_HELD_EXIT and str(lock) in blocked.output
        same_store = steady_config(tmp_path, "c", first_store)  # another config, the same store
        assert run_cli("--config", str(same_store), "harvest").exit_code == LOCK_HELD_EXIT
        status = json.loads(run_cli("--config", str(first), "status", "--json").stdout)
        assert status["nightly_running"] is True and status["lock_file"] == str(lock)
        assert status["log_file"] == str(default_log_path(first_store))
    finally:
        os.close(fd)
    assert run_cli("--config", str(first), "harvest").exit_code == 0
    assert default_log_path(first_store).exists() and default_log_path(second_store).exists()


def test_the_default_store_keeps_the_lock_and_log_names(isolated_home):
    from harvester.config import default_store_url
    from harvester.lock import LOCK_FILENAME, app_lock_path
    from harvester.nightly import LOG_FILENAME, default_log_path

    assert app_lock_path(default_store_url()) == isolated_home / LOCK_FILENAME
    assert default_log_path(default_store_url()) == isolated_home / LOG_FILENAME


@pytest.mark.parametrize("viewer, ok", [({"id": "VXNlcjoy", "username": "grace", "entity": "grace"}, False),
                                        ({"id": "VXNlcjox", "username": "ada", "entity": "ada"}, True)])
def test_doctor_on_wandb_says_whom_the_key_belongs_to(tmp_path, isolated_home, monkeypatch, viewer, ok):
    from tests.support.wandb_fake import FakeWandb

    key = "wandb-doctor-key-0123456789"
    monkeypatch.setenv("WANDB_API_KEY", key)
    cfg = write_config(tmp_path / "wb.toml", f"""
[identity]
email = "ada@example.com"
handles = ["ada"]

[store]
url = "sqlite:///{tmp_path / 'store.db'}"

[connectors.wb]
type = "wandb"
entities = ["ml-team"]
max_retries = 0
""")
    server = FakeWandb(api_key=key, viewer=dict(viewer))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        server.install(rsps)
        code, report = doctor_json(cfg)
        assert len(rsps.calls) == 1  # one viewer query
    wb = by_source(report)["wb"]
    assert wb["reachable"] is True and wb["identity"].startswith(viewer["username"])
    if ok:
        assert code == 0 and wb["problems"] == []
    else:
        [problem] = wb["problems"]
        assert code == 1 and "'grace'" in problem["problem"] and "WANDB_API_KEY" in problem["fix"]
