"""The README's reference tables are generated from the code (`cog -r README.md`) and must
match it; the example config is checked in test_config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_tables_match_the_code():
    done = subprocess.run([sys.executable, "-m", "cogapp", "--check", "--verbosity=1", str(ROOT / "README.md")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, ("README.md's generated tables are out of date; run `cog -r README.md`.\n"
                                  + done.stdout + done.stderr)


def test_the_tables_are_in_the_readme():
    from harvester.cli.reference import command_table, rule_table

    assert command_table() in README and rule_table() in README
    assert "| `harvester drafts confirm` |" in README and "| `metric_lift` |" in README


def test_readme_starts_with_the_two_commands():
    head = README.split("## ", 1)[0]
    assert "pip install -e . && .venv/bin/harvester demo" in head
    assert "pip install -e '.[test]' && .venv/bin/python -m pytest" in head


def documented_settings():
    from harvester.assistant.settings import AssistantSettings
    from harvester.digest.model import DigestSettings
    from harvester.nightly import NightlySettings
    from harvester.web.settings import ServeSettings

    return [NightlySettings, DigestSettings, AssistantSettings, ServeSettings]


def test_every_setting_in_a_readme_table_says_what_it_means():
    import dataclasses

    missing = [f"{cls.__name__}.{f.name}" for cls in documented_settings() for f in dataclasses.fields(cls)
               if f.init and not f.metadata.get("help")]
    assert not missing, f"settings without help text: {missing}"
