"""The "self-review" prompt: the period's report, with the rules that keep an assistant's
self-review to what the journal can show."""

from __future__ import annotations

from harvester.assistant.tools import JournalTools
from harvester.report.formats import render_report

RULES = """\
Write my self-review for {period} from my harvester journal below, and from nothing else.

- Cite only journal entries of this report, each with its evidence links exactly as given. Every claim, \
number or date must come from an entry; never round, combine or estimate numbers, and never add work the \
journal does not hold.
- Use the tools `show_entry` and `search_journal` for an entry's detail; they read the same journal.
- Rubric dimensions with no evidence in this period: {gaps}. Name each one as a gap ("no evidence in the \
journal for this period") instead of writing about it; do not invent evidence for it.
- Where an entry has no stated outcome, say the outcome is not recorded rather than guessing it.
"""


def write_self_review_prompt(tools: JournalTools, period: str) -> str:
    built = tools.build_report(period)
    gaps = ", ".join(f"{d.title} ({d.id})" for d in built.empty_dimensions) or "none"
    return RULES.format(period=built.period, gaps=gaps) + "\n---\n\n" + render_report(built, "md")
