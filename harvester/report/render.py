"""Render a Report as Markdown (pastes into review tools), self-contained HTML (screen and
print to PDF) or JSON (everything, for other programs).

Everything that comes from entries, sources or the framework file is untrusted text:
HTML escapes it, Markdown backslash-escapes its control characters, and only http(s)
URLs ever become links.
"""

from __future__ import annotations

import html
import json
import re
from typing import Callable
from urllib.parse import quote, urlsplit

from harvester.drafting.kinds import kind_of
from harvester.report.build import DEFAULT_OUTCOME_PROMPT, MonthSummary, Report, ReportEntry
from harvester.drafting.wording.numbers import plural

FORMATS = ("md", "html", "json")

# Characters that start inline Markdown (emphasis, links, code, raw HTML, entities, tables,
# strikethrough, math, headings); each is shown literally once backslash-escaped.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$#!])")
_MD_BLOCK_START = re.compile(r"^([+\-=]|\d+(?=[.)]))")
_UNSAFE_URL = re.compile(r"[\s\x00-\x1f\x7f]")
# Kept as-is in Markdown link targets; everything else (parentheses, <, >) is percent-encoded.
URL_SAFE = ":/?#@!$&'*+,;=%-._~[]"


def render_report(report: Report, fmt: str) -> str:
    renderers: dict[str, Callable[[Report], str]] = {"md": render_markdown, "html": render_html,
                                                     "json": render_json}
    return renderers[fmt](report)


def safe_href(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link; None for anything else (javascript:, data:, ...)."""
    if not url or _UNSAFE_URL.search(url):
        return None
    parts = urlsplit(url)
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def escape_md(text: str) -> str:
    """Untrusted text as literal Markdown: one line, every control character escaped."""
    text = " ".join(str(text).split())
    text = _MD_SPECIAL.sub(r"\\\1", text)
    match = _MD_BLOCK_START.match(text)
    if match:  # a leading "-", "+", "=" or "1." would open a list or a heading
        text = (match.group(1) + "\\" + text[len(match.group(1)):]) if match.group(1).isdigit() \
            else "\\" + text
    return text


def md_link(label: str, url: str) -> str:
    href = safe_href(url)
    if href is None:
        return f"{escape_md(label)}: {escape_md(url)}"
    return f"[{escape_md(label)}]({quote(href, safe=URL_SAFE)})"


def describe_kinds(kinds: dict[str, int]) -> str:
    """'Pull requests shipped: 1, Reviews given: 1', titled as each kind declares."""
    return ", ".join(f"{kind_of(k).title}: {n}" for k, n in kinds.items())


def md_code(command: str) -> str:
    fence = "``" if "`" in command else "`"
    return f"{fence}{command}{fence}"


# -- Markdown ----------------------------------------------------------------------------------


def render_markdown(report: Report) -> str:
    out: list[str] = []
    who = f": {escape_md(report.author)}" if report.author else ""
    out += [f"# Performance Report{who}", ""]
    meta = [f"**Period:** {escape_md(describe_period(report))}", f"**Framework:** {escape_md(report.framework.name)}"]
    if report.level:
        meta.append(f"**Level:** {escape_md(report.level.title)}")
    meta.append(plural(report.total, "journal entry", "journal entries"))
    out += [" · ".join(meta), ""]
    if report.unmapped:
        out += [f"**{report.unmapped_hint(escape_md, md_code)}**", ""]

    out += ["## Period Recap", ""]
    out += [f"- {escape_md(label)}: {report.recap.counts[key]}" for key, label in report.recap.labels.items()]
    out += ["", "### Top outcomes", ""]
    if report.recap.top_outcomes:
        out += [f"{i}. {md_entry(r)}" for i, r in enumerate(report.recap.top_outcomes, 1)]
    else:
        out.append("No measured results or business outcomes recorded in this period yet.")
    out += ["", "### Timeline", ""]
    for label, month in timeline_rows(report.recap.timeline):
        out.append(f"- **{label}**: {describe_month(month.kinds, len(month.entries))}")

    out += ["", "## Performance by dimension", ""]
    for section in report.sections:
        d = section.dimension
        out += [f"### {escape_md(d.title)}", ""]
        if d.description:
            out += [f"*{escape_md(d.description)}*", ""]
        if section.expectation:
            out += [f"**Expected at {escape_md(report.level.title)}:** {escape_md(section.expectation)}", ""]
        if section.empty:
            # dimension ids are validated ([A-Za-z0-9_.-]), so they need no escaping
            out += [f"**No evidence in this period.** {gap_hint(report.command, d.id)}", ""]
            continue
        for label, group in (("Measured results", section.results), ("Activity", section.activity)):
            if group:
                out += [f"{label}:", ""] + [f"- {md_entry(r)}" for r in group] + [""]

    if report.unmapped:
        out += ["## Not mapped to a dimension", "",
                f"These count toward no dimension of {escape_md(report.framework.name)} until they are re-tagged:", ""]
        out += [f"- Entry {r.entry.id} · {md_entry(r)}" for r in report.unmapped] + [""]

    out += ["## Chain completeness", ""]
    if report.missing_outcomes:
        n = len(report.missing_outcomes)
        add_each = md_code(f'{report.command} outcome ENTRY_ID "text"')
        out += [f"{n} {'entry still misses its' if n == 1 else 'entries still miss their'} business outcome. "
                f"Add each with {add_each}:", ""]
        for r in report.missing_outcomes:
            answer = md_code(f'{report.command} outcome {r.entry.id} "..."')
            out.append(f"- **#{r.entry.id}** {r.entry.occurred_at:%Y-%m-%d} · {escape_md(r.entry.text)}")
            out.append(f"  - {escape_md(r.impact_prompt or DEFAULT_OUTCOME_PROMPT)} {answer}")
        out.append("")
    else:
        out += ["Every result in this period carries its business outcome.", ""]
    return "\n".join(out)


def md_entry(r: ReportEntry) -> str:
    e = r.entry
    parts = [f"**{e.occurred_at:%Y-%m-%d}** · {escape_md(e.text)}"]
    if e.outcome:
        parts.append(f"**Outcome:** {escape_md(e.outcome)}")
    if e.evidence:
        parts.append("Evidence: " + ", ".join(md_link(ev.label or "link", ev.url) for ev in e.evidence))
    return " · ".join(parts)


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


def describe_month(kinds: dict[str, int], count: int) -> str:
    if not count:
        return "no entries"
    return f"{count} {'entry' if count == 1 else 'entries'} ({escape_md(describe_kinds(kinds))})"


def gap_hint(command: str, dim_id: str) -> str:
    return (f"Log work with `{command} log \"...\" --tag {dim_id}` or tag an entry with "
            f"`{command} tag ID +{dim_id}` before the review.")


# -- HTML -----------------------------------------------------------------------------------------

CSS = """
:root { color-scheme: light; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1d1d1f;
       background: #f6f6f3; margin: 0; }
main { max-width: 860px; margin: 0 auto; padding: 32px 28px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 36px 0 10px; border-bottom: 2px solid #e4e4de; }
h3 { font-size: 16px; margin: 24px 0 6px; } h4 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em;
     color: #666; margin: 14px 0 4px; }
.meta, .desc { color: #555; } .desc { font-style: italic; margin: 0 0 6px; }
.expect { background: #f2f5fb; border-left: 3px solid #6b8cce; padding: 6px 10px; margin: 6px 0; }
.counts { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; margin: 0; }
.counts div { border: 1px solid #e4e4de; border-radius: 6px; padding: 8px 10px; }
.counts dt { font-size: 12px; color: #666; } .counts dd { margin: 0; font-size: 22px; font-weight: 600; }
ul.entries, ol.entries { padding-left: 20px; } .entries li { margin: 0 0 10px; }
time { font-variant-numeric: tabular-nums; color: #555; margin-right: 6px; }
.outcome, .evidence, .prompt { margin: 2px 0 0; font-size: 14px; } .evidence, .prompt { color: #555; }
.gap, .notice { background: #fff6e5; border-left: 3px solid #e0a030; padding: 6px 10px; }
table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: 4px 8px;
        border-bottom: 1px solid #eee; vertical-align: top; }
code { font-size: 13px; background: #f1f1ee; padding: 1px 4px; border-radius: 3px; }
a { color: #2856b6; }
@page { margin: 16mm 14mm; }
@media print {
  body { background: #fff; font-size: 10.5pt; } main { max-width: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
  a[href]::after { content: " (" attr(href) ")"; font-size: 8pt; color: #555; word-break: break-all; }
  h2, h3, h4 { break-after: avoid; } li, .gap, .notice, .expect, .counts div { break-inside: avoid; }
  #performance { break-before: page; }
}
"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def html_link(label: str, url: str) -> str:
    href = safe_href(url)
    if href is None:
        return f"{esc(label)}: {esc(url)}"
    return f'<a href="{esc(href)}" rel="noopener noreferrer">{esc(label)}</a>'


def html_entry(r: ReportEntry, with_id: bool = False) -> str:
    e = r.entry
    head = f"<strong>#{e.id}</strong> " if with_id else ""
    parts = [f'<li>{head}<time datetime="{e.occurred_at:%Y-%m-%d}">{e.occurred_at:%Y-%m-%d}</time>'
             f"<span>{esc(e.text)}</span>"]
    if e.outcome:
        parts.append(f'<p class="outcome"><strong>Outcome:</strong> {esc(e.outcome)}</p>')
    if e.evidence:
        links = ", ".join(html_link(ev.label or "link", ev.url) for ev in e.evidence)
        parts.append(f'<p class="evidence">Evidence: {links}</p>')
    return "".join(parts) + "</li>"


def render_html(report: Report) -> str:
    title = "Performance Report" + (f": {report.author}" if report.author else "")
    meta = [describe_period(report), f"framework {report.framework.name}"]
    if report.level:
        meta.append(f"level {report.level.title}")
    meta.append(plural(report.total, "journal entry", "journal entries"))
    body: list[str] = [f"<header><h1>{esc(title)}</h1><p class=\"meta\">{esc(' · '.join(meta))}</p>"]
    if report.unmapped:
        body.append(f'<p class="notice">{report.unmapped_hint(esc, lambda c: f"<code>{esc(c)}</code>")}</p>')
    body.append("</header>")

    body.append('<section id="recap"><h2>Period Recap</h2><dl class="counts">')
    body += [f"<div><dt>{esc(label)}</dt><dd>{report.recap.counts[key]}</dd></div>"
             for key, label in report.recap.labels.items()]
    body.append("</dl><h3>Top outcomes</h3>")
    if report.recap.top_outcomes:
        body.append('<ol class="entries">' + "".join(html_entry(r) for r in report.recap.top_outcomes) + "</ol>")
    else:
        body.append("<p>No measured results or business outcomes recorded in this period yet.</p>")
    body.append("<h3>Timeline</h3><table><thead><tr><th>Month</th><th>Entries</th><th>What</th></tr></thead><tbody>")
    for label, m in timeline_rows(report.recap.timeline):
        what = describe_kinds(m.kinds) or "-"
        body.append(f"<tr><td>{label}</td><td>{len(m.entries)}</td><td>{esc(what)}</td></tr>")
    body.append("</tbody></table></section>")

    body.append('<section id="performance"><h2>Performance by dimension</h2>')
    for section in report.sections:
        d = section.dimension
        body.append(f'<section class="dimension" id="dim-{esc(d.id)}"><h3>{esc(d.title)}</h3>')
        if d.description:
            body.append(f'<p class="desc">{esc(d.description)}</p>')
        if section.expectation:
            body.append(f'<p class="expect"><strong>Expected at {esc(report.level.title)}:</strong> '
                        f"{esc(section.expectation)}</p>")
        if section.empty:
            body.append(f'<p class="gap"><strong>No evidence in this period.</strong> '
                        f"{esc(gap_hint(report.command, d.id))}</p>")
        for label, group in (("Measured results", section.results), ("Activity", section.activity)):
            if group:
                body.append(f'<h4>{label}</h4><ul class="entries">' + "".join(html_entry(r) for r in group) + "</ul>")
        body.append("</section>")
    body.append("</section>")

    if report.unmapped:
        body.append('<section id="unmapped"><h2>Not mapped to a dimension</h2>'
                    f"<p>These count toward no dimension of {esc(report.framework.name)} until they are re-tagged.</p>"
                    '<ul class="entries">' + "".join(html_entry(r, with_id=True) for r in report.unmapped)
                    + "</ul></section>")

    body.append('<section id="chain"><h2>Chain completeness</h2>')
    if report.missing_outcomes:
        n = len(report.missing_outcomes)
        body.append(f"<p>{n} {'entry still misses its' if n == 1 else 'entries still miss their'} business outcome. "
                    f"Add each with <code>{esc(report.command)} outcome ENTRY_ID \"text\"</code>.</p>"
                    '<ul class="entries">')
        for r in report.missing_outcomes:
            e = r.entry
            body.append(f"<li><strong>#{e.id}</strong> <time>{e.occurred_at:%Y-%m-%d}</time>{esc(e.text)}"
                        f'<p class="prompt">{esc(r.impact_prompt or DEFAULT_OUTCOME_PROMPT)} '
                        f"<code>{esc(report.command)} outcome {e.id} \"...\"</code></p></li>")
        body.append("</ul>")
    else:
        body.append("<p>Every result in this period carries its business outcome.</p>")
    body.append("</section>")

    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{esc(title)}</title>\n<style>{CSS}</style></head>\n<body><main>\n"
            + "\n".join(body) + "\n</main></body></html>\n")


# -- JSON --------------------------------------------------------------------------------------------


def render_json(report: Report) -> str:
    return json.dumps(report.as_json(), indent=2, ensure_ascii=False, default=str) + "\n"
