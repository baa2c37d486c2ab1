"""`harvester mcp` as an assistant meets it: the SDK's own client over stdio, against stores
harvested from the built-in sample; one server session per store."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError

from harvester.timeutil import quarter_of
from tests.support.cli import run_cli
from tests.support.mcp_client import harvest_sample, harvester_command, mcp_session, server_env

ROOT = Path(__file__).parents[1]
READ_TOOLS = {"search_journal", "list_drafts", "show_draft", "show_entry", "get_report", "rubric_gaps"}
WRITE_TOOLS = {"log_entry", "confirm_draft", "edit_draft", "reject_draft"}
TOKEN_ENV, TOKEN = "HARVESTER_TEST_MLFLOW_TOKEN", "tok-5ecret-8f2a91"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mcp")


@pytest.fixture(scope="module")
def sample(folder) -> Path:
    """The config of the harvested sample: three pending drafts, an empty journal."""
    return harvest_sample(folder / "sample", folder / "home")


def copy_store(sample: Path, name: str, extra: str = "") -> Path:
    """A config over a copy of the sample's store, with `extra` TOML appended."""
    target = sample.parent.parent / name
    target.mkdir()
    shutil.copy(sample.parent / "harvester.db", target / "harvester.db")
    text = sample.read_text(encoding="utf-8").replace(str(sample.parent / "harvester.db"),
                                                      str(target / "harvester.db"))
    config = target / "harvester.toml"
    config.write_text(text + extra, encoding="utf-8")
    return config


def open_session(folder: Path, *args: str, env: dict | None = None, name: str = "server"):
    command, argv = harvester_command(*args)
    return mcp_session(command, argv, server_env(folder / "home", **(env or {})), folder / f"{name}.stderr")


@pytest.fixture(scope="module")
def reader(folder, sample):
    with open_session(folder, "--config", str(sample), "mcp", name="reader") as session:
        yield session


@pytest.fixture(scope="module")
def writer(folder, sample):
    # The sample's connector table is the last one: the token key joins it.
    config = copy_store(sample, "writes", f'token_env = "{TOKEN_ENV}"\n\n[mcp]\nallow_writes = true\n')
    with open_session(folder, "--config", str(config), "mcp", env={TOKEN_ENV: TOKEN}, name="writer") as session:
        yield session


def error_text(result) -> str:
    assert result.is_error
    return result.content[0].text


def test_read_only_by_default_offers_the_reading_tools_only(reader, sample):
    assert reader.tool_names() == READ_TOOLS
    assert "allow_writes = true" in reader.greeting.instructions
    assert error_text(reader.call("confirm_draft", draft_id=1)) == (
        f"Error: writing is off; to let the assistant change the journal, set `[mcp] allow_writes = true` in "
        f"{sample}.")
    assert [d["status"] for d in reader.data("list_drafts", status="all")] == ["pending"] * 3


def test_list_drafts_offers_every_draft_status():
    from typing import get_args

    from harvester.assistant.tools import DraftStatus
    from harvester.models import DRAFT_STATUSES

    assert get_args(DraftStatus) == (*DRAFT_STATUSES, "all")


def test_drafts_search_and_an_empty_journal(reader):
    drafts = reader.data("list_drafts")
    assert sorted(d["kind"] for d in drafts) == ["experiment_campaign", "latency_reduction", "metric_lift"]
    lift = next(d for d in drafts if d["kind"] == "metric_lift")
    shown = reader.data("show_draft", draft_id=lift["id"])
    assert shown["statement"] == lift["statement"] and shown["evidence"] and shown["history"] == []
    assert [h["id"] for h in reader.data("search_journal", query="fraud", include_drafts=True)] == [lift["id"]]
    assert reader.data("search_journal", query="fraud") == []  # nothing confirmed yet
    assert "0 journal entries" in reader.text("get_report")
    gaps = reader.data("rubric_gaps", period="2026")
    assert gaps["entries"] == 0 and "model-performance" in {d["id"] for d in gaps["dimensions_without_evidence"]}
    assert [r.uri for r in reader.resources()] == ["harvester://report/current"]
    assert "# Performance Report: Ada Example" in reader.read("harvester://report/current")


def test_errors_are_the_cli_one_liners(reader):
    assert error_text(reader.call("show_draft", draft_id=99)) == (
        "Error: No draft with id 99. List them with `harvester drafts list`.")
    assert error_text(reader.call("get_report", period="2026-Q9")) == (
        "Error: Cannot read the period '2026-Q9': use 2026, 2026-H2, 2026-Q3 or 2026-07.")
    assert error_text(reader.call("show_entry", entry_id=1)).startswith("Error: No journal entry with id 1.")
    assert error_text(reader.call("list_drafts", status="maybe")).startswith(
        "Error: list_drafts cannot take these arguments (status: Input should be 'pending', 'confirmed', ")
    assert error_text(reader.call("show_draft", draft_id="seven")) == (
        "Error: show_draft cannot take these arguments (draft_id: Input should be a valid integer, "
        "unable to parse string as an integer).")
    assert error_text(reader.call("search_journal", query="fraud", limit=0)).startswith(
        "Error: search_journal cannot take these arguments (limit: Input should be greater than or equal to 1")
    assert error_text(reader.call("show_draft")).startswith("Error: show_draft cannot take these arguments (")
    with pytest.raises(MCPError, match="No journal entry with id 5"):
        reader.read("harvester://entries/5")
    with pytest.raises(MCPError, match="Cannot read the period"):
        reader.prompt("self-review", period="last year")
    assert "Traceback" not in reader.stderr()


def test_the_self_review_prompt_cites_the_journal_and_names_the_gaps(reader):
    result = reader.prompt("self-review", period="2026-H2")
    text = result.messages[0].content.text
    assert "Cite only journal entries" in text and "evidence links" in text
    assert "Model performance outcomes (model-performance)" in text and "do not invent evidence" in text
    assert "# Performance Report: Ada Example" in text


def test_writes_go_through_the_core_and_are_audited_as_the_assistants(writer):
    assert writer.tool_names() == READ_TOOLS | WRITE_TOOLS
    lift, campaign, latency = (next(d["id"] for d in writer.data("list_drafts") if d["kind"] == kind)
                               for kind in ("metric_lift", "experiment_campaign", "latency_reduction"))
    assert writer.text("confirm_draft", draft_id=lift) == f"Confirmed #{lift} as journal entry 1."
    assert error_text(writer.call("confirm_draft", draft_id=lift)) == (
        f"Error: Draft #{lift} is confirmed; only pending drafts can be confirmed.")
    assert error_text(writer.call("edit_draft", draft_id=campaign, text="  ")) == (
        "Error: The new wording is empty; nothing was changed.")
    assert writer.text("edit_draft", draft_id=campaign, text="Ran the ranking-v3 sweep") == (
        f"Draft #{campaign} updated.")
    assert writer.text("confirm_draft", draft_id=campaign) == f"Confirmed #{campaign} as journal entry 2."
    assert writer.text("reject_draft", draft_id=latency, reason="not mine") == f"Rejected #{latency}."
    assert error_text(writer.call("log_entry", text="Paired with Sam", tags=["heroics"])).startswith(
        "Error: Unknown rubric dimension 'heroics'.")
    logged = writer.text("log_entry", text="Mentored Sam on feature stores", date="2026-11-20",
                         links=[f"https://wiki.example.com/sam?token={TOKEN}"])
    assert logged.startswith("Logged entry 3 (")

    entry = writer.data("show_entry", entry_id=1)
    assert entry["draft_id"] == lift and entry["evidence"] and entry["outcome"] is None
    assert {h["via"] for h in entry["history"]} == {"assistant"}
    assert writer.data("show_entry", entry_id=2)["text"] == "Ran the ranking-v3 sweep"
    assert {h["via"] for h in writer.data("show_draft", draft_id=latency)["history"]} == {"assistant"}
    assert writer.data("search_journal", query="fraud")[0]["id"] == 1

    uris = [r.uri for r in writer.resources()]
    assert uris[0] == "harvester://report/current"
    assert sorted(uris[1:]) == [f"harvester://entries/{i}" for i in (1, 2, 3)]
    [link] = json.loads(writer.read("harvester://entries/3"))["evidence"]
    assert link.startswith("https://wiki.example.com/sam?token=") and TOKEN not in link  # a secret never leaves
    period = quarter_of(datetime.fromisoformat(entry["occurred_at"]))
    report = writer.text("get_report", period=period)
    assert "Improved validation AUC of fraud-detector" in report and "](http://127.0.0.1:5000/" in report
    gaps = writer.data("rubric_gaps", period=period)
    assert "model-performance" not in {d["id"] for d in gaps["dimensions_without_evidence"]}
    assert "Traceback" not in writer.stderr()


def readme_snippet() -> dict:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Assistants (MCP)", 1)[1]
    return json.loads(re.search(r"```json\n(.*?)```", section, re.S).group(1))


def test_the_readme_snippet_starts_a_server_that_reports_with_evidence_links(folder, sample):
    config = copy_store(sample, "readme")
    assert run_cli("--config", str(config), "drafts", "confirm", "--all-pending", "--yes").exit_code == 0
    server = readme_snippet()["mcpServers"]["harvester"]
    env = server_env(folder / "home", HARVESTER_CONFIG=str(config))
    with mcp_session(server["command"], server["args"], env, folder / "readme.stderr") as session:
        assert session.tool_names() == READ_TOOLS
        entries = [r for r in session.resources() if r.uri.startswith("harvester://entries/")]
        assert len(entries) == 3
        first = json.loads(session.read(entries[-1].uri))
        report = session.text("get_report", period=quarter_of(datetime.fromisoformat(first["occurred_at"])))
    assert re.search(r"\]\(http://127\.0\.0\.1:5000/#/experiments/\d+/runs/\w+\)", report), report


def test_in_team_mode_the_server_shows_one_member_only(folder):
    team = folder / "team"
    team.mkdir()
    config = team / "harvester.toml"
    config.write_text(f'[team]\nname = "ml"\n'
                      '[[team.members]]\nname = "Ada"\nemail = "ada@example.com"\n'
                      '[[team.members]]\nname = "Bob"\nemail = "bob@example.com"\n'
                      f'[store]\nurl = "sqlite:///{team / "harvester.db"}"\n', encoding="utf-8")
    for member, text in (("ada@example.com", "Tuned the fraud model"), ("bob@example.com", "Tuned the churn model")):
        assert run_cli("--config", str(config), "--member", member, "log", text).exit_code == 0
    with open_session(folder, "--config", str(config), "--member", "ada@example.com", "mcp", name="team") as ada:
        assert [r.uri for r in ada.resources()][1:] == ["harvester://entries/1"]
        assert [h["text"] for h in ada.data("search_journal", query="tuned")] == ["Tuned the fraud model"]
        assert error_text(ada.call("show_entry", entry_id=2)).startswith("Error: No journal entry with id 2.")
        report = ada.read("harvester://report/current")
        assert "Tuned the fraud model" in report and "churn" not in report


def test_without_the_sdk_the_command_names_the_extra_to_install(isolated_home):
    code = "import sys; sys.modules['mcp'] = None; from harvester.cli import main; sys.argv[1:] = ['mcp']; main()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"HARVESTER_HOME": str(isolated_home), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1 and not done.stdout
    assert done.stderr.strip() == "Error: `harvester mcp` needs the MCP SDK: pip install 'harvester[mcp]'"
