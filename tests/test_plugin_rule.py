"""Adding a rule is one new file: a plugin rule module, installed through the `harvester.rules`
entry-point group like any package would be, gets its wording, digest group, report section,
recap counter and outcome chase from its declaration alone, end to end through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

RULE_MODULE = '''
"""Sweeps: three or more of my finished runs in one experiment."""

from dataclasses import dataclass
from typing import ClassVar

from harvester.models import Evidence, Finding, Metric
from harvester.rules.base import FindingKind, Rule
from harvester.timeutil import quarter_of


def word_sweep(story):
    f = story.primary
    return (f"Ran a sweep of {f.facts['runs']} runs on {f.subject}.", "What did the sweep settle?")


@dataclass(frozen=True)
class SweepRunRule(Rule):
    kinds: ClassVar[frozenset[str]] = frozenset({"run"})
    finding_kinds: ClassVar[tuple[FindingKind, ...]] = (FindingKind(
        "sweep_run", "Sweeps run", rank=60, check_in=True, needs_outcome=True, recap=("sweeps_run",),
        dimensions=("experimentation",), noun="sweep", wording="harvester_sweep_rule:word_sweep"),)
    description: ClassVar[str] = "Three or more of your finished runs in one experiment."

    min_runs: int = 3

    def detect(self, group, context):
        runs = [r for r in group.records if r.mine and r.attributes.get("status") == "finished"]
        if len(runs) < self.min_runs:
            return
        yield Finding(rule=self.rule_name(), kind="sweep_run", source=group.source, subject=group.subject,
                      occurred_at=runs[-1].occurred_at,
                      period=quarter_of(runs[-1].occurred_at), metrics=(Metric("runs", None, float(len(runs))),),
                      record_ids=tuple(r.external_id for r in runs),
                      evidence=tuple(Evidence(url=r.url, label="latest run", source=group.source)
                                     for r in runs[-1:] if r.url),
                      facts={"runs": len(runs)})
'''


@pytest.fixture
def plugin_path(tmp_path) -> Path:
    """A folder on PYTHONPATH holding the rule module and the metadata pip would write for it."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "harvester_sweep_rule.py").write_text(textwrap.dedent(RULE_MODULE), encoding="utf-8")
    info = folder / "harvester_sweep_rule-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: harvester-sweep-rule\nVersion: 0.1\n",
                                   encoding="utf-8")
    (info / "entry_points.txt").write_text("[harvester.rules]\nsweep = harvester_sweep_rule\n", encoding="utf-8")
    return folder


def run_harvester(plugin_path: Path, home: Path, *args: str, exit_code: int = 0) -> str:
    env = {**os.environ, "HARVESTER_HOME": str(home),
           "PYTHONPATH": os.pathsep.join([str(plugin_path), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "harvester", *args], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == exit_code, done.stdout + done.stderr
    return done.stdout if exit_code == 0 else done.stderr


def test_a_plugin_rule_reaches_every_output_from_its_declaration(plugin_path, tmp_path):
    home, sample = tmp_path / "home", tmp_path / "sample"
    listed = json.loads(run_harvester(plugin_path, home, "rules", "list", "--json"))
    assert {r["name"]: r["description"] for r in listed}["sweep_run"] == \
        "Three or more of your finished runs in one experiment."

    demo = json.loads(run_harvester(plugin_path, home, "demo", "--dir", str(sample), "--json"))
    sweeps = [d for d in demo["drafts"] if d["kind"] == "sweep_run"]
    assert sweeps, [d["kind"] for d in demo["drafts"]]
    sweep = sweeps[0]
    assert sweep["statement"].startswith("Ran a sweep of ") and sweep["statement"].endswith(" runs on " +
                                                                                            sweep["subject"] + ".")
    assert sweep["impact_prompt"] == "What did the sweep settle?"
    assert sweep["tags"] == ["experimentation"]

    config = ["--config", str(sample / "harvester.toml")]
    digest = run_harvester(plugin_path, home, *config, "digest", "--since", "365d")
    assert f"== Sweeps run ({len(sweeps)}) ==" in digest and sweep["statement"] in digest

    run_harvester(plugin_path, home, *config, "drafts", "confirm", str(sweep["id"]))
    report = run_harvester(plugin_path, home, *config, "report", "--since", "365d", "--format", "json")
    built = json.loads(report)
    text = json.dumps(built)
    assert sweep["statement"] in text
    assert built["recap"]["labels"]["sweeps_run"] == "Sweeps run" and built["recap"]["counts"]["sweeps_run"] == 1
    assert [m["kind"] for m in built["missing_outcomes"]] == ["sweep_run"]  # declared needs_outcome
    sections = {d["dimension"]: d for d in built["performance"]}
    assert sweep["statement"] in json.dumps(sections["experimentation"])  # the tag its kind declares
    markdown = run_harvester(plugin_path, home, *config, "report", "--since", "365d", "--format", "md")
    assert "Sweeps run" in markdown and sweep["statement"] in markdown


def test_a_rule_that_raises_is_one_line_naming_it_and_the_switch(plugin_path, tmp_path):
    module = plugin_path / "harvester_sweep_rule.py"
    module.write_text(module.read_text().replace("runs = [r for r", "runs = [r.no_such_field for r"))
    error = run_harvester(plugin_path, tmp_path / "home", "demo", "--dir", str(tmp_path / "sample"), exit_code=1)
    assert error.startswith("Error: rule sweep_run failed on run records of ") and "Traceback" not in error
    assert "AttributeError" in error and "[rules.sweep_run] enabled = false" in error
    assert len(error.strip().splitlines()) == 1
