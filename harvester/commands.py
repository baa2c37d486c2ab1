"""How the commands harvester suggests (in the digest, the report, the CLI's hints) start."""

from __future__ import annotations

import shlex
from pathlib import Path

from harvester.config import HOME_CONFIG_FILENAME, Config, app_dir


def command_prefix(config: Config) -> str:
    """`harvester`, plus `--config PATH` when the config would not be found without it."""
    return command_prefix_for(config.path)


def command_prefix_for(path: Path | None) -> str:
    """`harvester`, plus `--config PATH` unless `path` is the app dir's config (or none)."""
    if path is None or path.resolve() == (app_dir() / HOME_CONFIG_FILENAME).resolve():
        return "harvester"
    return f"harvester --config {shlex.quote(str(path.resolve()))}"
