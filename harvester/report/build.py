"""Building the review report: the Performance Report sections per dimension, the Period Recap
and the entries still missing their business outcome; harvester.report.render turns it into
Markdown, HTML or JSON."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Sequence

from harvester.drafting.kinds import kind_of, kind_registry
from harvester.models import Entry, ensure_utc, utcnow
from harvester.drafting.rubric import Dimension, Framework, Level
from harvester.timeutil import month_of

TOP_OUTCOMES = 5
DEFAULT_OUTCOME_PROMPT = "What did this change for users or the business (a number if you have one)?"

# Labels of the Period Recap counters, in display order. A kind adds to the counters in its
# `recap`; "experiments" counts distinct experiments, and "runs_tracked" sums the runs behind them.
RECAP_LABELS = {
    "models_shipped": "Models shipped",
    "experiments": "Experiments",
    "runs_tracked": "Runs tracked",
    "negative_results": "Negative results recorded",
    "prs_merged": "PRs merged",
    "reviews_given": "Reviews given",
    "tickets_closed": "Tickets closed",
}


@dataclass(frozen=True)
class ReportEntry:
    """A journal entry as the report shows it, with what the report knows about its origin."""

    entry: Entry
    runs: int | None = None
    impact_prompt: str = ""
    joined_kinds: tuple[str, ...] = ()  # kinds of the findings joined into the entry's draft (a promotion)

    @property
    def measured(self) -> bool:
        """A measured result (numbers or a stated outcome) rather than activity."""
        return bool(self.entry.outcome) or any(m.after is not None for m in self.entry.metrics)

    @property
    def change(self) -> float | None:
        """The largest relative metric change, as a magnitude."""
        changes = [abs(c) for m in self.entry.metrics if (c := m.relative_change) is not None]
        return max(changes) if changes else None

    @property
    def needs_outcome(self) -> bool:
        return kind_of(self.entry.kind).needs_outcome and not (self.entry.outcome or "").strip()

    def as_json(self) -> dict[str, Any]:
        data = self.entry.as_json()
        data["evidence_detail"] = [e.as_dict() for e in self.entry.evidence]
        data.update(measured=self.measured, relative_change=self.change, runs=self.runs,
                    needs_outcome=self.needs_outcome, impact_prompt=self.impact_prompt or None)
        return data


@dataclass(frozen=True)
class DimensionSection:
    dimension: Dimension
    results: tuple[ReportEntry, ...]
    activity: tuple[ReportEntry, ...]
    expectation: str = ""

    @property
    def entries(self) -> tuple[ReportEntry, ...]:
        return self.results + self.activity

    @property
    def empty(self) -> bool:
        return not self.entries


@dataclass(frozen=True)
class MonthSummary:
    month: str
    entries: tuple[ReportEntry, ...]

    @property
    def kinds(self) -> dict[str, int]:
        return dict(Counter(r.entry.kind for r in self.entries).most_common())


@dataclass(frozen=True)
class Recap:
    counts: dict[str, int]
    labels: dict[str, str]
    top_outcomes: tuple[ReportEntry, ...]
    timeline: tuple[MonthSummary, ...]


@dataclass(frozen=True)
class Report:
    author: str
    period: str
    since: datetime | None
    until: datetime
    generated_at: datetime
    framework: Framework
    level: Level | None
    sections: tuple[DimensionSection, ...]
    unmapped: tuple[ReportEntry, ...]
    recap: Recap
    missing_outcomes: tuple[ReportEntry, ...]
    total: int
    command: str = "harvester"  # how the commands the report suggests start

    def unmapped_hint(self, text: Callable[[str], str] = str,
                      code: Callable[[str], str] = lambda c: f"`{c}`") -> str:
        """One line: how many entries count toward no dimension, and the commands that fix it.
        `text` and `code` format the framework name and the commands for the output format."""
        n = len(self.unmapped)
        if not n:
            return ""
        has, them = ("entry has", "it") if n == 1 else ("entries have", "them")
        return (f"{n} {has} no dimension of {text(self.framework.name)}: run {code(self.command + ' retag')} "
                f"to map {them} onto this framework, or tag {them} with {code(self.command + ' tag ID +DIM')}.")

    @property
    def empty_dimensions(self) -> tuple[Dimension, ...]:
        return tuple(s.dimension for s in self.sections if s.empty)

    @property
    def last_day(self) -> datetime:
        """The inclusive end of the period, for display."""
        return self.until - timedelta(microseconds=1)

    def as_json(self) -> dict[str, Any]:
        fw = self.framework
        return {
            "author": self.author,
            "period": {"label": self.period, "since": self.since.isoformat() if self.since else None,
                       "until": self.until.isoformat()},
            "generated_at": self.generated_at.isoformat(),
            "framework": {"name": fw.name,
                          "dimensions": [{"id": d.id, "title": d.title, "description": d.description}
                                         for d in fw.dimensions],
                          "levels": [{"id": lv.id, "title": lv.title} for lv in fw.levels]},
            "level": {"id": self.level.id, "title": self.level.title} if self.level else None,
            "total_entries": self.total,
            "performance": [{"dimension": s.dimension.id, "title": s.dimension.title,
                             "description": s.dimension.description, "expectation": s.expectation or None,
                             "empty": s.empty, "results": [r.as_json() for r in s.results],
                             "activity": [r.as_json() for r in s.activity]} for s in self.sections],
            "empty_dimensions": [d.id for d in self.empty_dimensions],
            "unmapped": [r.as_json() for r in self.unmapped],
            "unmapped_hint": self.unmapped_hint() or None,
            "recap": {
                "counts": self.recap.counts,
                "labels": self.recap.labels,
                "top_outcomes": [r.as_json() for r in self.recap.top_outcomes],
                "timeline": [{"month": m.month, "count": len(m.entries), "kinds": m.kinds,
                              "entries": [r.entry.id for r in m.entries]} for m in self.recap.timeline],
                "kind_titles": {k: kind_of(k).title
                                for k in dict.fromkeys(r.entry.kind for m in self.recap.timeline for r in m.entries)},
            },
            "missing_outcomes": [r.as_json() for r in self.missing_outcomes],
        }


def build_report(store, framework: Framework, *, until: datetime, since: datetime | None = None,
                 period: str = "", level: Level | None = None, author: str = "",
                 now: datetime | None = None, command: str = "harvester") -> Report:
    """Read the period's journal entries and organise them by the framework's dimensions."""
    until = ensure_utc(until)
    since = ensure_utc(since) if since else None
    entries = sorted(store.list_entries(since=since, until=until), key=lambda e: (e.occurred_at, e.id or 0))
    origins = store.load_entry_origins([e.id for e in entries]) if entries else {}
    items = [report_entry(e, origins.get(e.id, {})) for e in entries]
    return Report(
        author=author, period=period or describe_range(since, until), since=since, until=until,
        generated_at=now or utcnow(), framework=framework, level=level,
        sections=tuple(build_section(d, items, level) for d in framework.dimensions),
        unmapped=tuple(r for r in items if not set(r.entry.tags) & set(framework.ids)),
        recap=build_recap(items, since, until),
        missing_outcomes=tuple(r for r in items if r.needs_outcome),
        total=len(items), command=command,
    )


def report_entry(entry: Entry, origin: dict[str, Any]) -> ReportEntry:
    runs = origin.get("facts", {}).get("runs")
    return ReportEntry(entry=entry, runs=int(runs) if isinstance(runs, (int, float)) else None,
                       impact_prompt=origin.get("impact_prompt", ""),
                       joined_kinds=tuple(str(k) for k in origin.get("joined_kinds", ())))


def build_section(dimension: Dimension, items: Sequence[ReportEntry], level: Level | None) -> DimensionSection:
    mine = [r for r in items if dimension.id in r.entry.tags]
    return DimensionSection(dimension=dimension, results=tuple(r for r in mine if r.measured),
                            activity=tuple(r for r in mine if not r.measured),
                            expectation=dimension.expectation(level.id) if level else "")


def recap_labels() -> dict[str, str]:
    """Every recap counter with its label, in display order: the known counters, any other a
    declared kind names (titled from its name), then the entry total."""
    labels = dict(RECAP_LABELS)
    for kind in kind_registry().values():
        for counter in kind.recap:
            labels.setdefault(counter, counter.replace("_", " ").capitalize())
    labels["entries"] = "Journal entries"
    return labels


def experiment_key(entry: Entry) -> tuple:
    """One experiment: its source and subject (an entry without a subject stands alone)."""
    return (entry.source, entry.subject) if entry.subject else ("entry", entry.id)


def count_recap(items: Sequence[ReportEntry], labels: dict[str, str]) -> dict[str, int]:
    counts = dict.fromkeys(labels, 0)
    experiments = set()
    for r in items:
        recap = kind_of(r.entry.kind).recap
        counted = set(recap)
        for counter in recap:
            counts[counter] += 1
        for joined in r.joined_kinds:  # a lift shipped as a model version also counts as a model shipped
            for counter in set(kind_of(joined).recap) - counted - {"experiments"}:
                counts[counter] += 1
                counted.add(counter)
        if "experiments" in recap:
            experiments.add(experiment_key(r.entry))
            counts["runs_tracked"] += r.runs or 0  # a hand-logged result tracked no runs
    counts["experiments"] = len(experiments)
    counts["entries"] = len(items)
    return counts


def rank_outcomes(items: Sequence[ReportEntry], limit: int = TOP_OUTCOMES) -> tuple[ReportEntry, ...]:
    """Entries with a stated business outcome first, then the largest relative metric changes.

    Negative results are excluded: their metric change is how far they fell short."""
    candidates = [r for r in items if "negative_results" not in kind_of(r.entry.kind).recap
                  and (r.entry.outcome or r.change)]
    candidates.sort(key=lambda r: (bool(r.entry.outcome), r.change or 0.0, r.entry.occurred_at), reverse=True)
    return tuple(candidates[:limit])


def build_recap(items: Sequence[ReportEntry], since: datetime | None, until: datetime) -> Recap:
    by_month: dict[str, list[ReportEntry]] = {}
    for r in items:
        by_month.setdefault(month_of(r.entry.occurred_at), []).append(r)
    start = since or (items[0].entry.occurred_at if items else until - timedelta(days=1))
    months = month_range(start, until - timedelta(microseconds=1))
    labels = recap_labels()
    return Recap(counts=count_recap(items, labels), labels=labels, top_outcomes=rank_outcomes(items),
                 timeline=tuple(MonthSummary(m, tuple(by_month.get(m, ()))) for m in months))


def month_range(start: datetime, last: datetime) -> list[str]:
    """Every month label from start to last inclusive, e.g. ['2026-07', '2026-08']."""
    year, month = start.year, start.month
    out = []
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def describe_range(since: datetime | None, until: datetime) -> str:
    last = until - timedelta(microseconds=1)
    return f"{since:%Y-%m-%d} to {last:%Y-%m-%d}" if since else f"everything to {last:%Y-%m-%d}"
