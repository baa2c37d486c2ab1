"""Run the CLI in-process and write configs for tests."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(*args: str, input: str | None = None, env: dict | None = None):
    from harvester.cli import cli

    runner = CliRunner()
    return runner.invoke(cli, list(args), input=input, env=env, catch_exceptions=False)
