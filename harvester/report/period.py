"""A review period's report as the config asks for it (framework, level, author, command),
for every front end that writes one: `harvester report` and the MCP server."""

from __future__ import annotations

from datetime import datetime

from harvester.config import Config
from harvester.report.build import Report


def period_window(label: str | None = None) -> tuple[str, datetime, datetime]:
    """(label, start, end) of a period such as 2026-H2 or 2026-Q3, `end` exclusive, in UTC.
    Default: the current half-year."""
    from harvester.models import utcnow
    from harvester.timeutil import period_bounds, period_of

    label = label.strip().upper() if label and label.strip() else period_of(utcnow(), "half")
    start, end = period_bounds(label)
    return label, start, end


def build_config_report(store, config: Config, *, until: datetime, since: datetime | None = None,
                        period: str = "", level_id: str | None = None) -> Report:
    """The report of [since, until) with the config's framework, [rubric] level (unless
    `level_id` names another), name and command prefix."""
    from harvester.commands import command_prefix
    from harvester.report.build import build_report

    framework = config.framework
    level_id = level_id or config.rubric.level
    return build_report(store, framework, since=since, until=until, period=period,
                        level=framework.level(level_id) if level_id else None,
                        author=config.identity.name, command=command_prefix(config))
