"""Engineering rules over GitHub records: PRs shipped, docs written, reviews given.

PRs from search carry no sizes, so a PR's weight is judged from its title, labels and body:
typo fixes, version and dependency bumps, bot PRs and (when sizes are known) tiny PRs draft
nothing on their own; PRs that name the same Jira key or share a [bracket] title prefix in
one repository are one feature and make one draft.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Sequence

from harvester.rules.kinds import FindingKind
from harvester.rules.references import find_references
from harvester.models import Evidence, Finding, Metric, Record
from harvester.records import PullRequestAttributes, read_pull_request_attributes, read_review_attributes
from harvester.rules.base import DetectContext, RecordGroup, RollupRule, Rule
from harvester.timeutil import period_of

TRIVIAL_TITLE = re.compile(
    r"(?i)(\btypos?\b|\bspelling\b|\bbump(s|ed)?\b|\bversion bump\b|^\s*(chore|build)\(deps(-dev)?\)|"
    r"^\s*deps(-dev)?:|\bupdate (the )?(dependency|dependencies|deps|lock ?file|requirements)\b|"
    r"\bupgrade [\w.@/-]+ (from|to) v?\d|\bpin [\w.-]+ to\b|\bfix (lint|formatting)\b|\breformat\b|"
    r"\bwhitespace\b|^\s*merge branch\b|^\s*revert \")")
TRIVIAL_LABELS = frozenset({"dependencies", "typo", "trivial", "chore", "deps"})
DOCS_TITLE = re.compile(
    r"(?i)(^\s*docs?(\([^)]*\))?!?:|^\s*\[docs?\]|\b(readme|documentation|docstrings?|runbook|tutorial|"
    r"user guide|design doc(ument)?|adr|architecture decision record)\b|^\s*rfc\b)")
DESIGN_TITLE = re.compile(r"(?i)(\bdesign doc(ument)?\b|^\s*rfc\b|\badr\b|\barchitecture decision record\b)")
DOCS_LABELS = frozenset({"documentation", "docs", "design-doc", "design doc", "rfc", "adr"})
BRACKET_PREFIX = re.compile(r"^\s*\[([^\]]{2,40})\]")
GENERIC_PREFIXES = frozenset({"wip", "draft", "docs", "doc", "fix", "chore", "ci", "test", "tests", "hotfix"})


# What each forge calls a change and how it numbers one: (noun, sigil, plural noun).
CHANGE_NAMES = {"github": ("PR", "#", "pull requests"), "gitlab": ("MR", "!", "merge requests")}


def change_names(forge: object) -> tuple[str, str, str]:
    return CHANGE_NAMES.get(str(forge or "github"), CHANGE_NAMES["github"])


def forge_fact(forge: str) -> dict[str, str]:
    """The forge in a finding's facts, only where it is not GitHub, so stored findings of
    GitHub work stay as they were."""
    return {} if forge == "github" else {"forge": forge}


def check_period(period: str) -> None:
    if period not in ("month", "quarter", "half", "year"):
        raise ValueError(f"period must be month, quarter, half or year, got {period!r}")


def pr_text(record: Record) -> tuple[str, str]:
    a = read_pull_request_attributes(record)
    return str(a["title"] or record.title or ""), str(a["body"] or "")


def lines_changed(attributes: PullRequestAttributes) -> int | None:
    adds, dels = attributes["additions"], attributes["deletions"]
    if isinstance(adds, int) and isinstance(dels, int):
        return adds + dels
    return None


def classify_pull_request(record: Record, min_lines: int = 10) -> str:
    """'bot', 'trivial', 'docs' or 'code'."""
    a = read_pull_request_attributes(record)
    if a["is_bot"]:
        return "bot"
    title, _ = pr_text(record)
    labels = {str(x).lower() for x in a["labels"]}
    if TRIVIAL_TITLE.search(title) or labels & TRIVIAL_LABELS:
        return "trivial"
    if DOCS_TITLE.search(title) or labels & DOCS_LABELS:
        return "docs"
    size = lines_changed(a)
    if size is not None and size < min_lines:
        return "trivial"
    return "code"


def feature_key(record: Record) -> str | None:
    """What several PRs of one feature share: a Jira key, else a [bracket] title prefix."""
    title, body = pr_text(record)
    refs = find_references(title, body)
    if refs["jira"]:
        return refs["jira"][0]
    match = BRACKET_PREFIX.match(title)
    if match and match.group(1).strip().lower() not in GENERIC_PREFIXES:
        return f"[{match.group(1).strip()}]"
    return None


def merge_references(records: Sequence[Record]) -> dict[str, list]:
    merged: dict[str, list] = {"jira": [], "runs": [], "models": [], "wandb": []}
    for r in records:
        for k, values in find_references(*pr_text(r)).items():
            for v in values:
                if v not in merged[k]:
                    merged[k].append(v)
    return merged


def pr_summary(r: Record) -> dict[str, Any]:
    a = read_pull_request_attributes(r)
    return {"number": a["number"], "title": a["title"] or r.title, "url": r.url,
            "merged_at": r.occurred_at.isoformat()}


def size_facts(records: Sequence[Record]) -> dict[str, int]:
    totals: dict[str, int] = {}
    shapes = [read_pull_request_attributes(r) for r in records]
    for key in ("additions", "deletions", "changed_files"):
        values = [a[key] for a in shapes]
        if values and all(isinstance(v, int) for v in values):
            totals[key] = sum(values)
    return totals


def pr_evidence(group: RecordGroup, records: Sequence[Record], limit: int = 10) -> tuple[Evidence, ...]:
    evidence = []
    for r in records[:limit]:
        if r.url:
            a = read_pull_request_attributes(r)
            noun, sigil, _ = change_names(a["forge"])
            evidence.append(Evidence(url=r.url, label=f"{noun} {group.subject}{sigil}{a['number']}", source=group.source))
    return tuple(evidence)


@dataclass(frozen=True)
class PrShippedRule(Rule):
    """My merged PRs, one draft per PR or per feature (same Jira key or [prefix] in a repo)."""

    kinds: ClassVar[frozenset[str]] = frozenset({"pull_request"})
    finding_kinds: ClassVar[tuple[FindingKind, ...]] = (FindingKind(
        "pr_shipped", "Pull requests shipped", rank=0, recap=("prs_merged",), noun="PR",
        wording="harvester.drafting.wording.work:word_pr_shipped"),)
    description: ClassVar[str] = ("A merged PR of yours, or one feature's PRs (same Jira key or [prefix] in the "
                                  "title, one repository) as one draft; typo fixes, version and dependency bumps, bot "
                                  "PRs and PRs under min_lines (when sizes are known) draft nothing on their own.")

    min_lines: int = 10
    period: str = "quarter"

    def __post_init__(self):
        check_period(self.period)

    def detect(self, group: RecordGroup, context: DetectContext) -> Iterable[Finding]:
        features: dict[str, list[Record]] = {}
        for r in group.records:
            if not r.mine:
                continue
            kind = classify_pull_request(r, self.min_lines)
            if kind in ("bot", "docs"):
                continue
            key = feature_key(r) or f"#{read_pull_request_attributes(r)['number'] or r.external_id}"
            features.setdefault(key, []).append(r)
        findings = []
        for key, records in features.items():
            weighty = [r for r in records if classify_pull_request(r, self.min_lines) == "code"]
            if not weighty:
                continue
            records.sort(key=lambda r: r.occurred_at)
            last = records[-1]
            sizes = size_facts(records)
            lines = sizes.get("additions", 0) + sizes.get("deletions", 0) if "additions" in sizes else None
            shapes = [read_pull_request_attributes(r) for r in records]
            reviewers = sorted({str(x) for a in shapes for x in a["reviewers"]})
            labels = sorted({str(x) for a in shapes for x in a["labels"]})
            findings.append(Finding(
                rule=self.rule_name(), kind="pr_shipped", source=group.source, subject=group.subject,
                occurred_at=last.occurred_at, period=period_of(last.occurred_at, self.period),
                metrics=(Metric("lines changed", None, float(lines)),) if lines is not None else (),
                record_ids=tuple(r.external_id for r in records), evidence=pr_evidence(group, records),
                facts={"repo": group.subject, "feature": None if key.startswith("#") else key,
                       "title": read_pull_request_attributes(weighty[0])["title"] or weighty[0].title,
                       "count": len(records), "prs": [pr_summary(r) for r in records], **sizes,
                       "reviewers": reviewers, "labels": labels, "references": merge_references(records),
                       **forge_fact(shapes[0]["forge"])},
                identity=(key,),
            ))
        return findings


@dataclass(frozen=True)
class DocsWrittenRule(Rule):
    """A merged PR of mine that is mostly documentation, or a design doc."""

    kinds: ClassVar[frozenset[str]] = frozenset({"pull_request"})
    finding_kinds: ClassVar[tuple[FindingKind, ...]] = (FindingKind(
        "docs_written", "Docs written", rank=1, dimensions=("partnership-mentorship",), noun="docs PR",
        wording="harvester.drafting.wording.work:word_docs_written"),)
    description: ClassVar[str] = ("A merged PR that is documentation or a design doc (docs: titles, README, runbook, "
                                  "RFC, ADR, a documentation label).")

    period: str = "quarter"

    def __post_init__(self):
        check_period(self.period)

    def detect(self, group: RecordGroup, context: DetectContext) -> Iterable[Finding]:
        findings = []
        for r in group.records:
            if not r.mine or classify_pull_request(r) != "docs":
                continue
            title, body = pr_text(r)
            a = read_pull_request_attributes(r)
            labels = {str(x).lower() for x in a["labels"]}
            findings.append(Finding(
                rule=self.rule_name(), kind="docs_written", source=group.source, subject=group.subject,
                occurred_at=r.occurred_at, period=period_of(r.occurred_at, self.period),
                record_ids=(r.external_id,), evidence=pr_evidence(group, [r]),
                facts={"repo": group.subject, "title": title, "number": a["number"],
                       "prs": [pr_summary(r)], "count": 1,
                       "design_doc": bool(DESIGN_TITLE.search(title) or labels & {"design-doc", "design doc", "rfc",
                                                                                    "adr"}),
                       "references": find_references(title, body), **forge_fact(a["forge"])},
                identity=(f"#{a['number'] or r.external_id}",),
            ))
        return findings


def drop_covered_comments(records: Sequence[Record]) -> list[Record]:
    """The reviews less the comments (GitLab's, one record per merge request) on a change that
    also has a review of its own in the same period: an approval and its comments are one review."""
    def change(r: Record) -> tuple[str, Any]:
        a = read_review_attributes(r)
        return a["repo"] or r.subject, a["pr_number"]

    reviewed = {change(r) for r in records if read_review_attributes(r)["via"] != "comments"}
    return [r for r in records if read_review_attributes(r)["via"] != "comments" or change(r) not in reviewed]


@dataclass(frozen=True)
class ReviewGivenRule(RollupRule):
    """Reviews of other people's PRs: one draft per period, not one per review."""

    kinds: ClassVar[frozenset[str]] = frozenset({"review"})
    finding_kinds: ClassVar[tuple[FindingKind, ...]] = (FindingKind(
        "review_given", "Reviews given", rank=3, recap=("reviews_given",), dimensions=("partnership-mentorship",),
        noun="reviews", wording="harvester.drafting.wording.work:word_review_given"),)
    description: ClassVar[str] = ("Your reviews of other people's PRs, one draft per period with counts, authors and "
                                  "repositories, from min_reviews up; comments on a change you also approved in "
                                  "the period count once.")

    period: str = "quarter"
    min_reviews: int = 3

    def __post_init__(self):
        check_period(self.period)

    def bucket(self, group: RecordGroup, record: Record) -> tuple[str, str] | None:
        a = read_review_attributes(record)
        if not record.mine or a["own_pr"] or a["pr_author_is_bot"]:
            return None
        return group.source, period_of(record.occurred_at, self.period)

    def summarise(self, key: tuple[str, str], records: Sequence[Record],
                  context: DetectContext) -> Iterable[Finding]:
        source, period = key
        records = drop_covered_comments(records)
        shapes = {id(r): read_review_attributes(r) for r in records}
        prs = {(shapes[id(r)]["repo"] or r.subject, shapes[id(r)]["pr_number"]): r for r in records}
        if len(records) < self.min_reviews:
            return
        repos: dict[str, int] = {}
        for repo, _ in prs:
            repos[repo] = repos.get(repo, 0) + 1
        authors = {a["pr_author_id"] or a["pr_author_login"] for a in shapes.values()} - {None}
        records = sorted(records, key=lambda r: r.occurred_at)
        evidence = []
        for r in list(prs.values())[:5]:
            a = shapes[id(r)]
            url = a["pr_url"] or r.url
            if url:
                sigil = change_names(a["forge"])[1]
                evidence.append(Evidence(url=url, label=f"reviewed {a['repo']}{sigil}{a['pr_number']}", source=source))
        yield Finding(
            rule=self.rule_name(), kind="review_given", source=source, subject=f"code reviews {period}",
            occurred_at=records[-1].occurred_at, period=period,
            metrics=(Metric("reviews", None, float(len(records))), Metric("pull requests", None, float(len(prs)))),
            record_ids=tuple(r.external_id for r in records), evidence=tuple(evidence),
            facts={"reviews": len(records), "pull_requests": len(prs), "authors": len(authors),
                   "repos": dict(sorted(repos.items(), key=lambda kv: (-kv[1], kv[0]))), "period": period,
                   "approvals": sum(1 for a in shapes.values() if a["state"] == "approved"),
                   "changes_requested": sum(1 for a in shapes.values() if a["state"] == "changes_requested"),
                   **forge_fact(next(iter(shapes.values()))["forge"])},
            identity=(period,),
        )
