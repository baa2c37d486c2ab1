"""The report's output formats: the one list the CLI's --format choices, its help and the -o
suffix inference are built from. Renderers load on first use, so the CLI starts without them."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harvester.report.build import Report


@dataclass(frozen=True)
class OutputFormat:
    name: str
    renderer: str  # a function of harvester.report.render taking a Report, returning the text
    suffixes: tuple[str, ...]  # the file name endings that select this format, the usual one first
    description: str

    def render(self, report: Report) -> str:
        return getattr(import_module("harvester.report.render"), self.renderer)(report)


OUTPUT_FORMATS = {f.name: f for f in (
    OutputFormat("md", "render_markdown", (".md", ".markdown"), "Markdown, to paste into review tools"),
    OutputFormat("html", "render_html", (".html", ".htm"), "self-contained HTML, to print to PDF"),
    OutputFormat("json", "render_json", (".json",), "everything, for other programs"),
)}
DEFAULT_FORMAT = "md"


def format_for_suffix(suffix: str) -> OutputFormat:
    """The format a file name ending selects; Markdown for any other ending."""
    suffix = suffix.lower()
    return next((f for f in OUTPUT_FORMATS.values() if suffix in f.suffixes), OUTPUT_FORMATS[DEFAULT_FORMAT])


def render_report(report: Report, name: str) -> str:
    return OUTPUT_FORMATS[name].render(report)


def describe_formats() -> str:
    """'md (Markdown, to paste into review tools), html (...), json (...)' for --format's help."""
    return ", ".join(f"{f.name} ({f.description})" for f in OUTPUT_FORMATS.values())
