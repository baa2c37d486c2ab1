"""Render a Report as Markdown (pastes into review tools), self-contained HTML (screen and
print to PDF) or JSON (everything, for other programs).

Everything that comes from entries, sources or the framework file is untrusted text:
HTML autoescapes it, Markdown backslash-escapes its control characters, and only http(s)
URLs ever become links.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from urllib.parse import quote

from harvester.drafting.kinds import kind_of
from harvester.drafting.wording.numbers import plural
from harvester.report.build import DEFAULT_OUTCOME_PROMPT, MonthSummary, Report
from harvester.safe_text import safe_url
from harvester.templating import load_environment

# Characters that start inline Markdown (emphasis, links, code, raw HTML, entities, tables,
# strikethrough, math, headings); each is shown literally once backslash-escaped.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$#!])")
_MD_BLOCK_START = re.compile(r"^([+\-=]|\d+(?=[.)]))")
# Kept as-is in Markdown link targets; everything else (parentheses, <, >) is percent-encoded.
URL_SAFE = ":/?#@!$&'*+,;=%-._~[]"


def escape_md(text: str) -> str:
    """Untrusted text as literal Markdown: one line, every control character escaped."""
    text = " ".join(str(text).split())
    text = _MD_SPECIAL.sub(r"\\\1", text)
    match = _MD_BLOCK_START.match(text)
    if match:  # a leading "-", "+", "=" or "1." would open a list or a heading
        text = (match.group(1) + "\\" + text[len(match.group(1)):]) if match.group(1).isdigit() \
            else "\\" + text
    return text


def encode_md_href(url: str) -> str:
    return quote(url, safe=URL_SAFE)


def md_code(command: str) -> str:
    fence = "``" if "`" in command else "`"
    return f"{fence}{command}{fence}"


def format_day(when: datetime) -> str:
    return f"{when:%Y-%m-%d}"


def describe_kinds(kinds: dict[str, int]) -> str:
    """'Pull requests shipped: 1, Reviews given: 1', titled as each kind declares."""
    return ", ".join(f"{kind_of(k).title}: {n}" for k, n in kinds.items())


def describe_period(report: Report) -> str:
    span = (f"{report.since:%Y-%m-%d} to {report.last_day:%Y-%m-%d}" if report.since
            else f"up to {report.last_day:%Y-%m-%d}")
    return span if report.period in (span, "") or report.period.startswith("everything") else f"{report.period} ({span})"


def timeline_rows(timeline: tuple[MonthSummary, ...]) -> list[tuple[str, MonthSummary]]:
    """(label, month) per month with entries; a run of empty months is one row, '2026-08 to 2026-10'."""
    rows: list[tuple[str, MonthSummary]] = []
    empty: list[str] = []

    def close_empty() -> None:
        if empty:
            label = empty[0] if len(empty) == 1 else f"{empty[0]} to {empty[-1]}"
            rows.append((label, MonthSummary(label, ())))
            empty.clear()

    for month in timeline:
        if month.entries:
            close_empty()
            rows.append((month.month, month))
        else:
            empty.append(month.month)
    close_empty()
    return rows


def gap_hint(command: str, dim_id: str) -> str:
    return (f"Log work with `{command} log \"...\" --tag {dim_id}` or tag an entry with "
            f"`{command} tag ID +{dim_id}` before the review.")


@cache
def report_environment(html: bool):
    from markupsafe import escape

    return load_environment(
        "harvester.report", autoescape=html,
        filters={"md": escape_md, "md_href": encode_md_href, "safe_url": safe_url, "day": format_day},
        globals={"plural": plural, "describe_period": describe_period, "describe_kinds": describe_kinds,
                 "timeline_rows": timeline_rows, "gap_hint": gap_hint, "escape_md": escape_md, "md_code": md_code,
                 "escape": escape, "default_outcome_prompt": DEFAULT_OUTCOME_PROMPT})


def render_markdown(report: Report) -> str:
    return report_environment(False).get_template("report.md.j2").render(report=report)


def render_html(report: Report) -> str:
    return report_environment(True).get_template("report.html.j2").render(report=report)


def render_json(report: Report) -> str:
    return json.dumps(report.as_json(), indent=2, ensure_ascii=False, default=str) + "\n"
