"""A connector that needs no server, for tests that run `python -m harvester` in subprocesses:
`count` records one minute apart from `start`, each read `delay` seconds after the last, and
a second harvest resumes after its cursor like a real source. `use_steady_source` registers it
in this process.

`install_steady_plugin(folder)` registers it as a plugin (a dist-info with an entry point in
the `harvester.connectors` group): put the folder and the repository on PYTHONPATH."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

from harvester.connectors.base import Connector, HarvestWindow
from harvester.models import Cursor, Record

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class SteadySettings:
    count: int = 20
    delay: float = 0.0
    start: str = "2026-01-05T09:00:00+00:00"
    payload_bytes: int = 0  # filler in each record's payload, to fill a database


class SteadyConnector(Connector):
    type_name = "steady"
    settings_class = SteadySettings
    streams = ("items",)
    description = "A test source that needs no server."

    def fetch(self, stream: str, cursor: Cursor | None, window: HarvestWindow) -> Iterator[Record]:
        start = datetime.fromisoformat(self.settings.start)
        after = datetime.fromisoformat(cursor.value) if cursor and cursor.value else None
        seen = cursor.seen_ids if cursor else frozenset()
        for i in range(self.settings.count):
            when, item_id = start + timedelta(minutes=i), f"item-{i}"
            if after is not None and (when < after or (when == after and item_id in seen)):
                continue
            time.sleep(self.settings.delay)
            yield Record(source=self.instance, kind="item", external_id=item_id, occurred_at=when,
                         subject="steady", actor="ada", title=f"Item {i}",
                         payload={"filler": f"{i:06d}" * (self.settings.payload_bytes // 6)})


def use_steady_source(monkeypatch) -> None:
    from harvester import registry

    builtin = registry.connector_targets()
    monkeypatch.setattr(registry, "connector_targets",
                        lambda: {**builtin, "steady": "tests.support.steady_source:SteadyConnector"})


def install_steady_plugin(folder: Path) -> dict[str, str]:
    """Register the connector for subprocesses; returns the environment entries to add."""
    info = folder / "steady_source_plugin-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: steady-source-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[harvester.connectors]\nsteady = tests.support.steady_source:SteadyConnector\n")
    return {"PYTHONPATH": f"{folder}:{REPO}"}
