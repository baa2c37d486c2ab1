"""Team mode end to end on a real MLflow tracking server and a real SMTP server: three
members harvested in one pass, each seeing only their own drafts, each getting their own
digest, one refused delivery stopping nobody else's."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from tests.support.cli import run_cli, write_config
from tests.support.mlflow_server import MlflowSeeder
from tests.support.smtp import parts_of, smtp_server

pytestmark = pytest.mark.mlflow_server

NOW = datetime.now(timezone.utc).replace(microsecond=0)
MONDAY = "2026-11-30"
RUNS = {"ada": 11, "bo": 9, "cy": 12}  # each member's campaign of runs that never beat its baseline


def team_config(tmp_path, mlflow_url: str, database_url: str, uid: str, smtp_port: int) -> str:
    members = "".join(f"""
[[team.members]]
name = "{name.title()} Example"
email = "{name}@example.com"
handles = ["{name}-{uid}"]
os_user = "{name}-login-{uid}"
""" for name in RUNS)
    return str(write_config(tmp_path / "harvester.toml", f"""
[team]
name = "ml-platform"
{members}
[store]
url = "{database_url}"

[connectors.mlflow-test]
type = "mlflow"
tracking_uri = "{mlflow_url}"
experiments = ["*-{uid}"]
max_retries = 0

[nightly]
digest_weekday = "monday"

[digest]
from = "harvester@example.com"
host = "127.0.0.1"
port = {smtp_port}
security = "none"
"""))


def seed_campaigns(seeder: MlflowSeeder, uid: str) -> None:
    start = NOW - timedelta(days=40)
    for name, count in RUNS.items():
        exp = seeder.experiment(f"{name}-ranking-{uid}")
        seeder.run(exp, f"{name}-{uid}", start, {"val_ndcg_at_10": 0.642}, {"embedding_dim": 64},
                   tags={"baseline": "true"})
        for i in range(count - 1):
            seeder.run(exp, f"{name}-{uid}", start + timedelta(days=1 + i), {"val_ndcg_at_10": 0.640 - i * 0.001},
                       {"embedding_dim": [64, 128, 256][i % 3]})
    outside = seeder.experiment(f"zed-ranking-{uid}")  # a colleague outside the team
    zed_runs = [seeder.run(outside, f"zed-{uid}", start + timedelta(days=i), {"val_ndcg_at_10": 0.6 + i / 100})
                for i in range(4)]
    seeder.model(f"zed-ranker-{uid}")  # the outsider's model, promoted: not the team's to keep
    seeder.alias(f"zed-ranker-{uid}", "champion", seeder.version(f"zed-ranker-{uid}", zed_runs[-1]))


def cli_json(config: str, *args: str, member: str | None = None, code: int = 0):
    prefix = ("--member", member) if member else ()
    result = run_cli("--config", config, *prefix, *args, "--json")
    assert result.exit_code == code, result.output
    return json.loads(result.output)


def test_one_harvest_serves_three_members_who_each_see_only_their_own(mlflow_server, mlflow_env, database_url,
                                                                      tmp_path, monkeypatch):
    monkeypatch.delenv("HARVESTER_MEMBER", raising=False)
    uid = uuid.uuid4().hex[:8]
    seed_campaigns(MlflowSeeder(mlflow_server.client()), uid)
    with smtp_server(refuse=("cy@example.com",)) as sink:
        config = team_config(tmp_path, mlflow_server.url, database_url, uid, sink.port)
        night = cli_json(config, "nightly", "--today", MONDAY, code=1)  # cy's digest failed

    [source] = night["harvest"]["sources"]
    assert source["ok"] if "ok" in source else source["error"] is None
    assert source["records"] == sum(RUNS.values())  # the outsider's runs and models are not kept
    assert set(night["harvest"]["members"]) == {f"{n}@example.com" for n in RUNS}
    digests = night["member_digests"]
    assert digests["ada@example.com"]["status"] == digests["bo@example.com"]["status"] == "sent"
    assert digests["cy@example.com"]["status"] == "failed"
    assert "refused the recipients cy@example.com" in digests["cy@example.com"]["detail"]

    # Each member's digest went to them alone, about their own campaign.
    assert sorted(r.rcpt_tos[0] for r in sink.received) == ["ada@example.com", "bo@example.com"]
    for received in sink.received:
        name = received.rcpt_tos[0].split("@")[0]
        text = parts_of(received.message)["text/plain"]
        assert f"{name}-ranking-{uid}" in text
        assert not any(f"{other}-ranking-{uid}" in text for other in RUNS if other != name)

    for name, count in RUNS.items():
        [draft] = cli_json(config, "drafts", "list", member=f"{name}@example.com")
        assert draft["subject"] == f"{name}-ranking-{uid}"
        assert f"after {count} runs" in draft["statement"]

    # Stored once, each under its member; nothing under another's key.
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT owner, count(*) FROM records GROUP BY owner")).all()
    finally:
        engine.dispose()
    assert dict(rows) == {f"{n}@example.com": count for n, count in RUNS.items()}

    # The team's status: one harvest, each member's inbox and digest delivery.
    status = cli_json(config, "status")
    assert [s["status"] for s in status["sources"]] == ["ok"]
    members = {m["member"]: m for m in status["members"]}
    assert {k: m["pending_drafts"] for k, m in members.items()} == {f"{n}@example.com": 1 for n in RUNS}
    assert members["ada@example.com"]["last_digest"]["to"] == ["ada@example.com"]
    assert members["cy@example.com"]["last_digest"] is None
    assert "refused the recipients" in members["cy@example.com"]["digest_error"]
    mine = cli_json(config, "status", member="bo@example.com")
    assert mine["pending_drafts"] == 1 and mine["last_digest"]["to"] == ["bo@example.com"]
    assert [s["records"] for s in mine["sources"]] == [sum(RUNS.values())]  # the team's harvest

    # A member confirming a draft changes only their own journal.
    [ada_draft] = cli_json(config, "drafts", "list", member="ada@example.com")
    confirmed = run_cli("--config", config, "--member", "ada@example.com", "drafts", "confirm", str(ada_draft["id"]))
    assert confirmed.exit_code == 0, confirmed.output
    bo_id = cli_json(config, "drafts", "list", member="bo@example.com")[0]["id"]
    stolen = run_cli("--config", config, "--member", "ada@example.com", "drafts", "confirm", str(bo_id))
    assert stolen.exit_code != 0
    assert cli_json(config, "journal", member="bo@example.com") == []
    assert len(cli_json(config, "journal", member="ada@example.com")) == 1

    # A second night reads incrementally and drafts nothing twice.
    with smtp_server() as sink:
        config = team_config(tmp_path, mlflow_server.url, database_url, uid, sink.port)
        again = cli_json(config, "nightly", "--today", MONDAY)
        assert [r.rcpt_tos for r in sink.received] == [["cy@example.com"]]  # the failed one, retried
    assert again["harvest"]["drafts"]["new"] == 0
    assert again["member_digests"]["ada@example.com"]["status"] == "already_sent"


def test_a_command_names_the_member_it_acts_as(tmp_path, monkeypatch):
    monkeypatch.delenv("HARVESTER_MEMBER", raising=False)
    config = team_config(tmp_path, "http://127.0.0.1:9", f"sqlite:///{tmp_path / 'store.db'}", "x", 25)

    unknown = run_cli("--config", config, "--member", "nobody@example.com", "drafts", "list")
    assert unknown.exit_code == 2 or unknown.exit_code == 1
    assert "'nobody@example.com' is not a member of team 'ml-platform'" in unknown.output
    assert "Traceback" not in unknown.output

    nameless = run_cli("--config", config, "drafts", "list")
    assert nameless.exit_code != 0
    assert "Pass --member EMAIL or set HARVESTER_MEMBER" in nameless.output

    by_env = run_cli("--config", config, "drafts", "list", "--json", env={"HARVESTER_MEMBER": "Bo Example"})
    assert by_env.exit_code == 0 and json.loads(by_env.output) == []

    monkeypatch.setattr("getpass.getuser", lambda: "cy-login-x")
    by_login = run_cli("--config", config, "journal", "--json")
    assert by_login.exit_code == 0, by_login.output


@pytest.mark.parametrize("members, message", [
    ('[[team.members]]\nname = "A"\nemail = "a@example.com"\nhandles = ["same"]\n'
     '[[team.members]]\nname = "B"\nemail = "b@example.com"\nhandles = ["same"]\n',
     "handle 'same' is claimed by both 'A' and 'B'"),
    ('[[team.members]]\nname = "A"\nemail = "not-an-address"\n', "email must be an e-mail address"),
    ('', "no members"),
])
def test_a_team_that_cannot_be_told_apart_is_refused(tmp_path, members, message):
    config = write_config(tmp_path / "harvester.toml", f'[team]\nname = "t"\n{members}\n'
                          '[connectors.m]\ntype = "mlflow"\ntracking_uri = "http://127.0.0.1:9"\n')
    result = run_cli("--config", str(config), "harvest")
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output


def test_a_source_that_cannot_read_for_a_team_is_named(tmp_path):
    config = write_config(tmp_path / "harvester.toml", '[team]\nname = "t"\n'
                          '[[team.members]]\nname = "A"\nemail = "a@example.com"\ngitlab = "a"\n'
                          '[connectors.gl]\ntype = "gitlab"\n')
    result = run_cli("--config", str(config), "harvest")
    assert result.exit_code != 0
    assert "a gitlab connector cannot harvest for a team yet" in result.output
    assert "mlflow" in result.output and "jira" in result.output and "github" in result.output


def test_on_postgresql_a_member_connected_as_their_role_reads_only_their_own(mlflow_server, mlflow_env,
                                                                             database_url, tmp_path, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("row-level security is PostgreSQL's")
    monkeypatch.delenv("HARVESTER_MEMBER", raising=False)
    uid = uuid.uuid4().hex[:8]
    seed_campaigns(MlflowSeeder(mlflow_server.client()), uid)
    admin_dir, ada_dir = tmp_path / "admin", tmp_path / "ada"
    admin_dir.mkdir()
    ada_dir.mkdir()
    admin = team_config(admin_dir, mlflow_server.url, database_url, uid, 9)
    roles = {n: f"harvester_{n}_{uid}" for n in RUNS}
    text = open(admin, encoding="utf-8").read()
    for name, role in roles.items():
        text = text.replace(f'os_user = "{name}-login-{uid}"', f'os_user = "{name}-login-{uid}"\ndb_role = "{role}"')
    open(admin, "w", encoding="utf-8").write(text)
    try:
        assert run_cli("--config", admin, "harvest", "--since", "90d").exit_code == 0
        granted = cli_json(admin, "team", "grant")
        assert {g["db_role"] for g in granted["granted"]} == set(roles.values())
        assert cli_json(admin, "team", "grant")["granted"]  # safe to re-run

        ada = str(write_config(ada_dir / "harvester.toml", text.replace(
            "postgresql+psycopg://postgres@", f"postgresql+psycopg://{roles['ada']}@")))
        [draft] = cli_json(ada, "drafts", "list", member="ada@example.com")
        assert draft["subject"] == f"ada-ranking-{uid}"
        # Acting as bo over ada's connection: the database shows nothing of bo's.
        assert cli_json(ada, "drafts", "list", member="bo@example.com") == []
        bo_id = cli_json(admin, "drafts", "list", member="bo@example.com")[0]["id"]
        refused = run_cli("--config", ada, "--member", "bo@example.com", "drafts", "confirm", str(bo_id))
        assert refused.exit_code != 0 and "Traceback" not in refused.output
        assert cli_json(admin, "drafts", "list", member="bo@example.com")[0]["status"] == "pending"
        status = cli_json(ada, "status", member="ada@example.com")
        assert status["pending_drafts"] == 1 and status["sources"][0]["status"] == "ok"  # the team's harvest

        removed = cli_json(admin, "team", "remove", "ada@example.com")
        assert removed["role_dropped"] is True
        gone = run_cli("--config", ada, "--member", "ada@example.com", "drafts", "list")
        assert gone.exit_code != 0 and "Traceback" not in gone.output
    finally:
        import harvester.store.row_security as rs

        engine = sa.create_engine(database_url)
        try:
            for role in roles.values():
                rs.revoke_member(engine, role)
        finally:
            engine.dispose()
