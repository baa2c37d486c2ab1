"""The review report from a year of journal entries: every format, the rubric sections, the
recap, chain completeness, inert untrusted text and a company framework end to end."""

from __future__ import annotations

import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harvester.models import Metric
from harvester.report.build import build_report
from harvester.report.formats import OUTPUT_FORMATS, format_for_suffix, render_report
from harvester.report.render import escape_md
from harvester.safe_text import safe_url
from harvester.drafting.rubric import load_framework
from harvester.timeutil import period_bounds
from tests.support.cli import run_cli, write_config
from tests.support.journal import INJECTION, seed_year

EXAMPLE_FRAMEWORK = Path(__file__).parents[2] / "docs" / "example-framework.toml"


def year_report(store, label="2026", **kw):
    since, until = period_bounds(label)
    return build_report(store, kw.pop("framework", None) or load_framework(), since=since, until=until,
                        period=label, **kw)


@pytest.fixture
def journal(store):
    return seed_year(store)


def md_sections(text: str) -> dict[str, str]:
    """'### Title' -> the Markdown under it, up to the next heading of level 2 or 3."""
    parts = re.split(r"^(#{2,3} .*)$", text, flags=re.M)
    return {parts[i][4:]: parts[i + 1] for i in range(1, len(parts), 2) if parts[i].startswith("### ")}


class DimensionSectionParser(HTMLParser):
    """Collects the text of each <section class="dimension" id="dim-...">."""

    def __init__(self):
        super().__init__()
        self.sections: dict[str, str] = {}
        self.current: str | None = None
        self.depth = 0
        self.links: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "a":
            self.links.append(a.get("href", ""))
        if tag == "section":
            if self.current:
                self.depth += 1
            elif a.get("class") == "dimension":
                self.current, self.depth = a["id"][4:], 0
                self.sections[self.current] = ""

    def handle_endtag(self, tag):
        if tag == "section" and self.current:
            if self.depth == 0:
                self.current = None
            else:
                self.depth -= 1

    def handle_data(self, data):
        if self.current:
            self.sections[self.current] += data


def test_every_format_puts_each_entry_under_its_dimensions(store, journal):
    report = year_report(store)
    framework = load_framework()
    in_year = {k: e for k, e in journal.items() if k not in ("before", "after")}
    assert report.total == len(in_year)

    data = json.loads(render_report(report, "json"))
    by_dim = {s["dimension"]: {x["id"] for x in s["results"] + s["activity"]} for s in data["performance"]}
    assert list(by_dim) == list(framework.ids)
    for dim in framework.ids:
        assert by_dim[dim] == {e.id for e in in_year.values() if dim in e.tags}, dim
    # The rubric placement itself, as the drafter and `log` tagged these entries.
    assert journal["lift"].id in by_dim["model-performance"] and journal["lift"].id in by_dim["experimentation"]
    assert journal["latency"].id in by_dim["efficiency"] and journal["cost"].id in by_dim["efficiency"]
    assert journal["review_1"].id in by_dim["partnership-mentorship"]
    assert journal["epic"].id in by_dim["business-impact"]
    assert journal["pr_backfill"].id in by_dim["data-features"]
    assert journal["latency"].id not in by_dim["model-performance"]
    assert [x["id"] for x in data["unmapped"]] == [journal["pr_cleanup"].id]
    assert journal["before"].id not in set().union(*by_dim.values())
    assert journal["after"].id not in set().union(*by_dim.values())

    md = md_sections(render_report(report, "md"))
    parser = DimensionSectionParser()
    parser.feed(render_report(report, "html"))
    for d in framework.dimensions:
        for e in in_year.values():
            if e is journal["injection"]:
                continue
            text_md = escape_md(e.text)
            assert (text_md in md[escape_md(d.title)]) == (d.id in e.tags), (d.id, e.text)
            assert (e.text in parser.sections[d.id]) == (d.id in e.tags), (d.id, e.text)


def test_measured_results_come_before_activity_with_dates_and_evidence(store, journal):
    md = md_sections(render_report(year_report(store), "md"))
    section = md["Model performance outcomes"]
    results, activity = section.index("Measured results:"), section.index("Activity:")
    assert results < activity
    assert section.index("Improved validation AUC of fraud-detector") < activity
    assert section.index("Merged PR \\#433") > activity
    assert "**2026-02-12**" in section
    assert "[best run](https://mlflow.example.com/#/experiments/3/runs/metric_lift0212)" in section
    assert "**Outcome:** Chargeback losses fell 9% in the first month" in section


def test_dimensions_without_evidence_are_called_out(store, journal):
    q1 = year_report(store, "2026-Q1")
    assert {d.id for d in q1.empty_dimensions} == {"efficiency", "business-impact"}
    md = md_sections(render_report(q1, "md"))
    assert md["Efficiency: latency and cost"].strip().startswith("*Faster inference")
    assert "**No evidence in this period.**" in md["Efficiency: latency and cost"]
    assert "harvester tag ID +efficiency" in md["Efficiency: latency and cost"]
    assert "No evidence" not in md["Model performance outcomes"]
    html_text = render_report(q1, "html")
    assert html_text.count('class="gap"') == 2
    assert json.loads(render_report(q1, "json"))["empty_dimensions"] == ["efficiency", "business-impact"]
    assert year_report(store).empty_dimensions == ()


def test_recap_counts_top_outcomes_and_timeline(store, journal):
    report = year_report(store)
    assert report.recap.counts == {
        # fraud-detector's lift and its ruled-out campaign are one experiment; the hand-logged W&B lift another
        "models_shipped": 1, "experiments": 2, "runs_tracked": 14 + 12, "negative_results": 1, "prs_merged": 3,
        "reviews_given": 2, "tickets_closed": 3, "entries": 17,
    }
    top = [r.entry.id for r in report.recap.top_outcomes]
    with_outcome = {journal[k].id for k in ("promotion", "epic", "injection")}
    assert set(top[:3]) == with_outcome
    # then the largest relative changes: latency -66.7%, cost -37.5%; never the negative result
    assert top[3:] == [journal["latency"].id, journal["cost"].id]
    assert journal["campaign"].id not in top
    months = {m.month: len(m.entries) for m in report.recap.timeline}
    assert list(months) == [f"2026-{m:02d}" for m in range(1, 13)]
    assert months["2026-07"] == 2 and months["2026-02"] == 1 and sum(months.values()) == 17
    md = render_report(report, "md")
    assert "- Experiments: 2\n- Runs tracked: 26\n" in md and "- Models shipped: 1" in md and "- PRs merged: 3" in md
    assert "- **2026-07**: 2 entries (Pull requests shipped: 1, Reviews given: 1)" in md
    html_text = render_report(report, "html")
    assert "<dt>Experiments</dt><dd>2</dd>" in html_text and "<dt>Runs tracked</dt><dd>26</dd>" in html_text
    counts = json.loads(render_report(report, "json"))["recap"]["counts"]
    assert counts["experiments"] == 2 and counts["runs_tracked"] == 26 and "experiments_run" not in counts


def test_unmapped_entries_are_counted_with_the_fix_in_every_format(store, journal):
    report = year_report(store, command="harvester --config /srv/h.toml")
    line = ("1 entry has no dimension of ML Engineer: run `harvester --config /srv/h.toml retag` to map it onto "
            "this framework, or tag it with `harvester --config /srv/h.toml tag ID +DIM`.")
    assert f"**{line}**" in render_report(report, "md")
    assert ("1 entry has no dimension of ML Engineer: run <code>harvester --config /srv/h.toml retag</code> to map "
            "it onto this framework") in render_report(report, "html")
    data = json.loads(render_report(report, "json"))
    assert data["unmapped_hint"] == line and [x["id"] for x in data["unmapped"]] == [journal["pr_cleanup"].id]
    q1 = year_report(store, "2026-Q1")
    assert not q1.unmapped and "no dimension of" not in render_report(q1, "md")
    assert json.loads(render_report(q1, "json"))["unmapped_hint"] is None


def test_chain_completeness_lists_missing_outcomes_until_added(store, journal):
    report = year_report(store)
    missing = [r.entry.id for r in report.missing_outcomes]
    assert missing == [journal[k].id for k in ("lift", "latency", "cost", "wandb_lift")]
    md = render_report(report, "md").split("## Chain completeness", 1)[1]
    lift_id = journal["lift"].id
    assert f'`harvester outcome {lift_id} "..."`' in md
    assert "what did this validation AUC lift translate to" in md  # the draft's own prompt
    store.update_entry(lift_id, outcome="Fraud losses down $40k a month")
    after = year_report(store)
    assert lift_id not in [r.entry.id for r in after.missing_outcomes]
    assert f"harvester outcome {lift_id} " not in render_report(after, "md")
    assert after.recap.top_outcomes[0].entry.id == lift_id  # an outcome and the largest metric change


def test_injected_html_and_markdown_render_inert(store, journal):
    report = year_report(store)
    html_text = render_report(report, "html")
    parser = DimensionSectionParser()
    parser.feed(html_text)
    assert "script" not in parser.tags and "img" not in parser.tags and "i" not in parser.tags
    assert all(h.startswith("https://") for h in parser.links)
    assert not any("javascript" in h or "example.com/a" in h for h in parser.links)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html_text
    assert INJECTION in parser.sections["partnership-mentorship"]  # shown literally, as text
    assert "<style>" in html_text and "@media print" in html_text
    assert not re.search(r"(src|href)=\"?(https?:)?//(?!github\.com|mlflow\.example\.com)", html_text)

    md = render_report(report, "md")
    line = next(ln for ln in md.splitlines() if "alert(1)" in ln)
    plain = line.replace("\\\\", "")
    # Every character that could start emphasis, a link, an image or raw HTML is backslash-escaped.
    assert not re.search(r"(?<!\\)[*_\[\]<>`]", re.sub(r"\*\*(2026-12-15|Outcome:)\*\*", "", plain))
    assert "\\[x\\](javascript:alert(1))" in line and "\\<img src=x onerror=alert(1)\\>" in line
    assert not re.search(r"(?<!\\)\]\((javascript|https://example\.com/a)", md)  # no link was formed


@pytest.mark.parametrize("text,expected", [
    ("- looks like a list", "\\- looks like a list"),
    ("1. looks numbered", "1\\. looks numbered"),
    ("# heading", "\\# heading"),
    ("line one\n\n## two", "line one \\#\\# two"),
    ("a | b ~~c~~ $5 & `x`", "a \\| b \\~\\~c\\~\\~ \\$5 \\& \\`x\\`"),
])
def test_escape_md_neutralises_block_and_inline_syntax(text, expected):
    assert escape_md(text) == expected


@pytest.mark.parametrize("url,href", [
    ("https://github.com/a/b/pull/1", "https://github.com/a/b/pull/1"),
    ("http://mlflow:5000/#/runs/1", "http://mlflow:5000/#/runs/1"),
    (" https://github.com/a/b/pull/1\n", "https://github.com/a/b/pull/1"),  # surrounding whitespace is stripped
    ("https://github.com/a b", None), ("https://github.com/a\tb", None), ("https://github.com/a\x00b", None),
    ("javascript:alert(1)", None), ("JAVASCRIPT:alert(1)", None), ("data:text/html,<b>", None),
    ("java\nscript:alert(1)", None), ("//evil.example/x", None), ("https://", None), ("", None), (None, None),
])
def test_only_http_links_without_inner_whitespace_become_hrefs(url, href):
    assert safe_url(url) == href


def test_every_renderer_links_through_the_one_url_filter(store):
    from harvester.models import Entry, Evidence

    store.add_entry(Entry(id=None, text="Shipped", occurred_at=period_bounds("2026")[0], kind="note",
                          source="manual", evidence=(Evidence("  https://github.com/a/b/pull/9  ", "padded"),
                                                     Evidence("https://github.com/a b", "inner space"))))
    report = year_report(store)
    md, page = render_report(report, "md"), render_report(report, "html")
    assert "[padded](https://github.com/a/b/pull/9)" in md and "inner space: https://github.com/a b" in md
    assert re.findall(r'href="([^"]*)"', page) == ["https://github.com/a/b/pull/9"]
    assert "inner space: https://github.com/a b" in page


def test_the_format_registry_drives_the_cli_choices_and_suffixes():
    import click

    from harvester.cli import cli

    option = next(p for p in cli.get_command(click.Context(cli), "report").params if p.name == "fmt")
    assert list(option.type.choices) == list(OUTPUT_FORMATS) == ["md", "html", "json"]
    assert all(name in option.help for name in OUTPUT_FORMATS)
    assert [format_for_suffix(s).name for s in (".md", ".MARKDOWN", ".htm", ".html", ".json", ".txt")] == \
        ["md", "md", "html", "html", "json", "md"]


def test_cli_writes_each_format_and_infers_it_from_the_file_name(isolated_home, tmp_path):
    from harvester.config import default_store_url
    from harvester.store import open_store

    store = open_store(default_store_url(), "me")
    entries = seed_year(store)
    store.close()
    for name, marker in (("r.html", "<!DOCTYPE html>"), ("r.md", "# Performance Report"), ("r.json", "{")):
        result = run_cli("report", "--period", "2026", "-o", str(tmp_path / name))
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).read_text(encoding="utf-8").startswith(marker)
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["period"]["label"] == "2026" and data["total_entries"] == 17
    window = json.loads(run_cli("report", "--since", "2026-07-01", "--until", "2026-07-30", "--format", "json").output)
    assert sorted(x for m in window["recap"]["timeline"] for x in m["entries"]) == \
        [entries["pr_backfill"].id, entries["review_1"].id]  # --until's whole day is included
    stdout = run_cli("report", "--period", "2026-Q3", "--format", "md", "--level", "staff")
    assert stdout.exit_code == 0 and "**Level:** Staff ML Engineer" in stdout.output


@pytest.mark.parametrize("args,message", [
    (["--period", "2026-Q5"], "Cannot read the period"),
    (["--period", "2026", "--since", "2026-01-01"], "either --period or --since"),
    (["--since", "2026-09-01", "--until", "2026-08-01"], "--since must be before --until"),
    (["--level", "wizard"], "Unknown level 'wizard'"),
])
def test_cli_bad_input_is_one_clear_line_and_exit_2(isolated_home, args, message):
    result = run_cli("report", *args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_company_framework_end_to_end(isolated_home, tmp_path):
    """[rubric] framework = a file next to the config: tags, report sections and levels follow it."""
    shutil.copy(EXAMPLE_FRAMEWORK, tmp_path / "acme.toml")
    config = write_config(tmp_path / "harvester.toml",
                          '[identity]\nname = "Ada Example"\n[rubric]\nframework = "acme.toml"\nlevel = "l5"\n')
    sub = tmp_path / "elsewhere"
    sub.mkdir()
    os.chdir(sub)  # the framework path is read relative to the config file, not the working directory
    base = ["--config", str(config)]
    logged = run_cli(*base, "log", "Ran an ablation against the baseline for churn model", "--date", "2026-08-03",
                     "--json")
    assert logged.exit_code == 0, logged.output
    assert json.loads(logged.output)["tags"] == ["customer-impact", "scientific-rigour"]
    run_cli(*base, "log", "Paired with a new hire on the drift alert runbook", "--date", "2026-09-10")
    bad = run_cli(*base, "log", "x", "--tag", "model-performance")
    assert bad.exit_code == 2 and "customer-impact" in bad.output

    from harvester.config import load_config
    from harvester.store import open_store
    from tests.support.journal import confirm_finding, day, ml_finding

    cfg = load_config(config)
    store = open_store(cfg.store_url, cfg.identity.owner)
    fw = load_framework(cfg.rubric.framework)
    lat = confirm_finding(store, fw, ml_finding("latency_reduction", "ranker", day(7, 1),
                                                (Metric("p99_ms", 300.0, 200.0),), runs=4))
    assert lat.tags == ("engineering-craft",)  # the drafter tagged it with the company's dimensions
    store.close()

    result = run_cli(*base, "report", "--period", "2026-H2", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["framework"]["name"] == "Acme Applied Science ladder"
    assert [s["dimension"] for s in data["performance"]] == [
        "customer-impact", "scientific-rigour", "engineering-craft", "operational-excellence", "team-multiplier"]
    sections = {s["dimension"]: s for s in data["performance"]}
    assert [x["text"] for x in sections["scientific-rigour"]["activity"]] == [
        "Ran an ablation against the baseline for churn model"]
    assert {x["id"] for x in sections["engineering-craft"]["results"]} == {lat.id}
    assert sections["engineering-craft"]["expectation"].startswith("Makes systems measurably faster")
    assert data["level"] == {"id": "l5", "title": "Senior Applied Scientist"}
    md = run_cli(*base, "report", "--period", "2026-H2").output
    assert "### Team multiplier" in md and "**Expected at Senior Applied Scientist:**" in md
    assert "Model performance outcomes" not in md


def test_example_framework_in_docs_loads_with_levels_and_expectations():
    fw = load_framework(str(EXAMPLE_FRAMEWORK))
    assert [lv.id for lv in fw.levels] == ["l4", "l5", "l6"]
    assert all(d.expectation("l5") for d in fw.dimensions)
    assert fw.tag("pr_shipped", "Refactored the feature pipeline") == ("engineering-craft",)


@pytest.mark.parametrize("text,message", [
    ('[[dimensions]]\nid = "a"\ntitle = "A"\n[dimensions.expectations]\nsenior = "x"\n',
     "expectations for unknown level 'senior'"),
    ('[[levels]]\nid = "l1"\ntitle = "L1"\n[[levels]]\nid = "l1"\ntitle = "Again"\n'
     '[[dimensions]]\nid = "a"\ntitle = "A"\n', "level id 'l1' appears twice"),
    ('[[dimensions]]\nid = "a b"\ntitle = "A"\n', "dimension id 'a b'"),
    ('[[levels]]\nid = "l1"\n[[dimensions]]\nid = "a"\ntitle = "A"\n', "level #1 needs an id and a title"),
])
def test_framework_errors_name_the_file_and_the_problem(tmp_path, text, message):
    from harvester.errors import ConfigError

    path = tmp_path / "ladder.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_framework(str(path))
    assert message in str(err.value) and str(path) in str(err.value)


def test_a_framework_without_levels_still_loads():
    from harvester.drafting.rubric import parse_framework

    fw = parse_framework('name = "Mini"\n[[dimensions]]\nid = "impact"\ntitle = "Impact"\nkinds = ["metric_lift"]\n', "mini")
    assert fw.levels == () and fw.dimensions[0].expectation("senior") == ""
    assert fw.tag("metric_lift", "anything") == ("impact",)


def test_compiled_templates_are_cached_in_the_app_dir_and_a_damaged_cache_is_passed_over(store, journal,
                                                                                         isolated_home):
    from harvester.report.render import report_environment

    def render_afresh() -> str:  # a new environment, as a new process builds: templates come from the disk cache
        report_environment.cache_clear()
        return render_report(year_report(store), "md")

    first = render_afresh()
    cached = sorted((isolated_home / "cache" / "templates").glob("__jinja2_*.cache"))
    assert cached, "the report's templates were compiled into the cache"
    assert render_afresh() == first
    for path in cached:
        path.write_bytes(b"\x00not a compiled template")
    assert render_afresh() == first
    report_environment.cache_clear()  # later tests build theirs in their own app dir
