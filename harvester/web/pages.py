"""The pages' Jinja environment (autoescaped: every value from a source is untrusted) and the
small formatting helpers the templates call."""

from __future__ import annotations

from functools import cache
from urllib.parse import urlencode

from harvester.safe_text import one_line, printable, safe_url
from harvester.templating import load_environment


def format_day(when) -> str:
    return f"{when:%Y-%m-%d}" if when else ""


def format_time(when) -> str:
    return f"{when:%Y-%m-%d %H:%M} UTC" if when else ""


def build_query(values: dict) -> str:
    """`?a=1&b=2` of the values that are set, '' when none is."""
    kept = {k: v for k, v in values.items() if v not in (None, "")}
    return "?" + urlencode(kept) if kept else ""


@cache
def page_environment():
    from harvester.cli.drafts import describe_metric
    from harvester.cli.history import describe_change

    return load_environment("harvester.web", autoescape=True,
                            filters={"one_line": one_line, "printable": printable, "safe_url": safe_url,
                                     "day": format_day, "time": format_time},
                            globals={"describe_metric": describe_metric, "describe_change": describe_change,
                                     "build_query": build_query})
