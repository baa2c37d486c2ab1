"""How the commands harvester suggests (in the digest, the report, the CLI's hints) start."""

from __future__ import annotations

import shlex

from harvester.config import HOME_CONFIG_FILENAME, Config, app_dir


def command_prefix(config: Config) -> str:
    """`harvester`, plus `--config PATH` when the config would not be found without it."""
    if config.path is None or config.path.resolve() == (app_dir() / HOME_CONFIG_FILENAME).resolve():
        return "harvester"
    return f"harvester --config {shlex.quote(str(config.path.resolve()))}"
