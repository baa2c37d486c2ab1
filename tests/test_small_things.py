"""Small things a user trips on, one test each."""

from __future__ import annotations

import json
import tomllib
from datetime import datetime, timedelta, timezone

import pytest

from harvester.models import Draft, Evidence, Metric, utcnow
from tests.support.cli import run_cli, write_config

WHEN = datetime(2026, 10, 2, tzinfo=timezone.utc)
LONG = ("Improved holdout AUC of fraud-detector from 0.81 to 0.86 by replacing hand-tuned merchant embeddings "
        "with learned ones, see https://mlflow.example.com/#/experiments/1/runs/" + "a" * 70 + " for the run.")


def add_draft(store, n: int, kind="metric_lift", source="mlflow-prod", when=WHEN, statement=LONG):
    store.save_draft(Draft(id=None, fingerprint=f"fp{n}", status="pending", kind=kind, source=source,
                           subject="fraud-detector", occurred_at=when, statement=statement,
                           impact_prompt="What changed?", metrics=(Metric("val_auc", 0.81, 0.86),),
                           evidence=(Evidence("https://mlflow.example.com/#/runs/1", "run"),), tags=()))


@pytest.fixture
def store(isolated_home):
    from harvester.config import default_store_url
    from harvester.store import open_store

    s = open_store(default_store_url(), "me")
    yield s
    s.close()


def mlflow_config(tmp_path, uri: str, extra: str = "") -> str:
    return str(write_config(tmp_path / "h.toml", f"""\
[identity]
handles = ["ada"]
[connectors.mlflow-prod]
type = "mlflow"
tracking_uri = "{uri}"
{extra}
"""))


def test_since_in_months_counts_calendar_months():
    from harvester.timeutil import parse_since

    now = datetime(2026, 8, 31, 12, tzinfo=timezone.utc)
    assert parse_since("6m", now) == datetime(2026, 2, 28, 12, tzinfo=timezone.utc)
    assert parse_since("1m", datetime(2026, 7, 15, tzinfo=timezone.utc)) == datetime(2026, 6, 15, tzinfo=timezone.utc)
    assert parse_since("1y", datetime(2028, 2, 29, tzinfo=timezone.utc)) == datetime(2027, 2, 28, tzinfo=timezone.utc)


def test_since_in_the_future_is_refused(store):
    future = f"{utcnow().year + 1}-01-01"
    for args in (["journal"], ["drafts", "list"], ["search", "x"]):
        result = run_cli(*args, "--since", future)
        assert result.exit_code == 2, (args, result.output)
        assert "is in the future" in result.output


def test_period_is_case_insensitive(store):
    from harvester.timeutil import period_bounds

    assert period_bounds("2026-q3") == period_bounds("2026-Q3")
    result = run_cli("report", "--period", "2026-q3")
    assert result.exit_code == 0, result.output
    assert "2026-Q3" in result.output


def test_report_to_pdf_is_refused_with_the_way_to_get_one(store):
    result = run_cli("report", "-o", "x.pdf")
    assert result.exit_code == 2
    assert "-o x.html" in result.output and "print it to PDF" in result.output


def test_report_timeline_collapses_months_without_entries(store):
    from harvester.models import Entry

    store.add_entry(Entry(id=None, text="Shipped ranker v2", occurred_at=datetime(2026, 7, 10, tzinfo=timezone.utc)))
    store.add_entry(Entry(id=None, text="Cut latency", occurred_at=datetime(2026, 11, 3, tzinfo=timezone.utc)))
    text = run_cli("report", "--period", "2026-H2").output
    assert "- **2026-08 to 2026-10**: no entries" in text
    assert "2026-09" not in text
    assert "- **2026-12**: no entries" in text


def test_counts_read_in_the_singular_for_one(store, tmp_path):
    from harvester.models import Entry

    store.add_entry(Entry(id=None, text="Shipped ranker v2", occurred_at=datetime(2026, 7, 10, tzinfo=timezone.utc)))
    text = run_cli("report", "--period", "2026-H2").output
    assert "1 journal entry" in text and "1 journal entries" not in text
    written = run_cli("report", "--period", "2026-H2", "-o", str(tmp_path / "r.md"))
    assert "1 entry," in written.output and "1 entries" not in written.output


def test_tag_dash_h_prints_help():
    result = run_cli("tag", "-h")
    assert result.exit_code == 0
    assert "tag [OPTIONS] ID [CHANGES]" in result.output


def test_init_over_an_existing_file_exits_2(tmp_path):
    target = tmp_path / "h.toml"
    target.write_text("# mine\n")
    result = run_cli("init", "--path", str(target))
    assert result.exit_code == 2
    assert "--force" in result.output and target.read_text() == "# mine\n"


def test_harvest_without_any_config_says_how_to_make_one():
    result = run_cli("harvest")
    assert result.exit_code == 2
    assert "No config file found" in result.output and "harvester init" in result.output


def test_file_tracking_uri_to_a_missing_folder_is_a_config_error_and_creates_nothing(tmp_path):
    folder = tmp_path / "no-such-mlruns"
    result = run_cli("--config", mlflow_config(tmp_path, folder.as_uri()), "harvest")
    assert result.exit_code == 2
    assert "does not exist" in result.output and str(folder) in result.output
    assert not folder.exists()
    assert not (tmp_path / "home" / "harvester.db").exists()


def test_unknown_tracking_uri_scheme_is_a_config_error(tmp_path):
    result = run_cli("--config", mlflow_config(tmp_path, "htp://mlflow.example.com"), "harvest")
    assert result.exit_code == 2
    assert "unknown scheme htp://" in result.output


def test_harvest_names_every_missing_secret(tmp_path, monkeypatch):
    for name in ("MLF_USER", "MLF_PASS", "GH_TOKEN_X"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "mlruns").mkdir()
    cfg = mlflow_config(tmp_path, (tmp_path / "mlruns").as_uri(), extra="""\
username_env = "MLF_USER"
password_env = "MLF_PASS"
[connectors.gh]
type = "github"
token_env = "GH_TOKEN_X"
""")
    result = run_cli("--config", cfg, "harvest")
    assert result.exit_code == 2
    for name in ("MLF_USER", "MLF_PASS", "GH_TOKEN_X"):
        assert name in result.output


def test_rules_list_rejects_an_unknown_rules_table(tmp_path):
    cfg = write_config(tmp_path / "h.toml", "[rules.metric_lfit]\nmin_relative_lift = 0.1\n")
    result = run_cli("--config", str(cfg), "rules", "list")
    assert result.exit_code == 2
    assert "metric_lfit" in result.output


def test_outcome_overwrite_asks_for_replace(store):
    from harvester.models import Entry

    entry = store.add_entry(Entry(id=None, text="Shipped ranker v2", occurred_at=WHEN))
    assert run_cli("outcome", str(entry.id), "CTR +2%").exit_code == 0
    refused = run_cli("outcome", str(entry.id), "CTR +3%")
    assert refused.exit_code == 2 and "--replace" in refused.output
    assert store.get_entry(entry.id).outcome == "CTR +2%"
    assert run_cli("outcome", str(entry.id), "CTR +3%", "--replace").exit_code == 0
    assert store.get_entry(entry.id).outcome == "CTR +3%"


def test_journal_shows_outcomes(store):
    from harvester.models import Entry

    entry = store.add_entry(Entry(id=None, text="Shipped ranker v2", occurred_at=WHEN))
    store.update_entry(entry.id, outcome="CTR +2.1% in the A/B test")
    assert "outcome: CTR +2.1% in the A/B test" in run_cli("journal").output


def test_confirm_with_empty_text_is_an_error(store):
    add_draft(store, 1)
    result = run_cli("drafts", "confirm", "1", "--text", " ")
    assert result.exit_code == 2 and "empty" in result.output
    assert store.get_draft(1).status == "pending"


def test_harvest_summary_says_since_when_each_source_read(store, tmp_path):
    from harvester.cli.harvesting import print_summary
    from harvester.harvest import HarvestSummary, SourceResult
    from harvester.drafting.redraft import DraftCounts
    from click.testing import CliRunner
    import click

    default = datetime(2026, 7, 1, tzinfo=timezone.utc)
    summary = HarvestSummary(since=default, drafts=DraftCounts(), sources=[
        SourceResult("mlflow-prod", "mlflow", since=datetime(2026, 9, 20, 8, 30, tzinfo=timezone.utc)),
        SourceResult("gh", "github", since=default)])

    @click.command()
    def show():
        print_summary(summary)

    text = CliRunner().invoke(show).output
    assert "2026-09-20 08:30" in text and "2026-07-01 00:00" in text
    assert "Harvested since" not in text


def test_drafts_list_filters_by_kind_source_and_since(store):
    add_draft(store, 1, kind="metric_lift", source="mlflow-prod", when=utcnow() - timedelta(days=3))
    add_draft(store, 2, kind="model_promoted", source="mlflow-prod", when=utcnow() - timedelta(days=3))
    add_draft(store, 3, kind="metric_lift", source="wandb", when=utcnow() - timedelta(days=60))
    ids = lambda *a: [d["id"] for d in json.loads(run_cli("drafts", "list", *a, "--json").output)]  # noqa: E731
    assert sorted(ids("--kind", "metric_lift")) == [1, 3]
    assert ids("--source", "wandb") == [3]
    assert ids("--kind", "metric_lift", "--since", "30d") == [1]
    assert ids("--status", "all", "--kind", "model_promoted") == [2]


def test_drafts_list_fits_the_terminal_without_breaking_words(store, monkeypatch):
    add_draft(store, 1)
    store.edit_draft(1, LONG)
    monkeypatch.setenv("COLUMNS", "60")
    lines = run_cli("drafts", "list").output.splitlines()
    url = "https://mlflow.example.com/#/experiments/1/runs/" + "a" * 70
    statement_lines = [ln for ln in lines if ln.startswith("      ")]
    listing = lines[:lines.index("")]  # the hint after it keeps its commands whole
    assert all(len(ln) <= 60 for ln in listing if url not in ln)
    assert any(ln.strip() == url for ln in statement_lines)  # too long for a line: whole, on its own
    assert " ".join(ln.strip() for ln in statement_lines) == LONG
    assert "edited" in lines[0]


def test_rules_and_connectors_list_print_toml_to_paste(tmp_path):
    cfg = write_config(tmp_path / "h.toml", "[rules.metric_lift]\nenabled = false\n")
    rules = run_cli("--config", str(cfg), "rules", "list").output
    parsed = tomllib.loads(rules)
    assert parsed["rules"]["metric_lift"]["enabled"] is False
    assert "enabled = false  # boolean, default true" in rules
    connectors = tomllib.loads(run_cli("connectors", "list").output)
    assert connectors["connectors"]["my-mlflow"]["type"] == "mlflow"
    assert isinstance(json.loads(run_cli("rules", "list", "--json").output), list)


def test_progress_lines_count_what_the_summary_counts(tmp_path, monkeypatch):
    import re

    from harvester.sample import seed_sample_store

    for key in ("MLFLOW_ALLOW_FILE_STORE", "MLFLOW_TRACKING_URI"):
        monkeypatch.setenv(key, "")
    uri = seed_sample_store(tmp_path / "sample")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    config = mlflow_config(tmp_path, uri, '[harvest]\npage_size = 10\n')
    from click.testing import CliRunner

    from harvester.cli import cli

    result = CliRunner().invoke(cli, ["--config", config, "harvest", "--since", "120d", "--progress"])
    assert result.exit_code == 0, result.output
    counts = [int(n.replace(",", "")) for n in re.findall(r"mlflow-prod: ([\d,]+) records \(reading \w+\)", result.output)]
    assert len(counts) > 2 and counts == sorted(counts)  # one growing count for the source, across its streams
    row = next(line for line in result.output.splitlines() if line.strip().startswith("mlflow-prod") and "ok" in line)
    assert f"{counts[-1]:,}" in row.split()
