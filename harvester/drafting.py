"""Run the rules over stored records and turn findings into drafts (new, refreshed, or left alone)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Sequence

from harvester.config import Config
from harvester.linking import describe_links, link_findings, linked_summary
from harvester.models import Draft, Evidence, Finding, utcnow
from harvester.registry import build_rules
from harvester.rubric import Framework, load_framework
from harvester.rules.base import DetectContext, RecordGroup, Rule
from harvester.store import Store
from harvester.store.store import DRAFTED_INPUTS_KEY, RECORDS_VERSION_KEY
from harvester.wording import word_finding

SERVING_KINDS = ("model_version",)


@dataclass
class DraftCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0
    superseded: int = 0
    findings: int = 0
    skipped: bool = False  # nothing the rules read had changed since the last pass
    by_source: Counter = field(default_factory=Counter)

    def add(self, outcome: str, source: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        if outcome in ("new", "updated"):
            self.by_source[(source, outcome)] += 1


def build_context(store: Store, now: datetime) -> DetectContext:
    """Facts rules need across groups: which runs sit behind a serving model version."""
    serving = set()
    for r in store.load_records("model_version"):
        if r.attributes.get("serving") and r.attributes.get("run_id"):
            serving.add((r.source, str(r.attributes["run_id"])))
    return DetectContext(now=now, serving_runs=frozenset(serving))


def detect_findings(store: Store, rules: Sequence[Rule], context: DetectContext,
                    on_group: Callable[[], None] | None = None) -> list[Finding]:
    kinds = {k for rule in rules for k in rule.kinds}
    findings: list[Finding] = []
    for source, kind, subject, records in store.iter_record_groups(kinds):
        group = RecordGroup(source=source, kind=kind, subject=subject, records=records)
        for rule in rules:
            if kind in rule.kinds:
                findings.extend(rule.detect(group, context))
        if on_group:
            on_group()
    for rule in rules:
        findings.extend(rule.finalize(context))
    return findings


def draft_from_findings(linked: Sequence[Finding], framework: Framework) -> Draft:
    primary = linked[0]
    statement, prompt = word_finding(primary)
    links = describe_links(linked)
    if links:
        statement = f"{statement} {links}"
    evidence: list[Evidence] = []
    for f in linked:
        for e in f.evidence:
            if e.url not in {x.url for x in evidence}:
                evidence.append(e)
    metrics = tuple(m for f in linked for m in f.metrics)
    tags: list[str] = []
    for f in linked:
        for t in framework.tag(f.kind, statement):
            if t not in tags:
                tags.append(t)
    return Draft(id=None, fingerprint=primary.fingerprint, status="pending", kind=primary.kind,
                 source=primary.source, subject=primary.subject, occurred_at=max(f.occurred_at for f in linked),
                 statement=statement, impact_prompt=prompt, metrics=metrics, evidence=tuple(evidence),
                 tags=tuple(tags), linked=tuple(linked_summary(linked)))


def load_rules(config: Config) -> list[Rule]:
    return build_rules(dict(config.rules), config.label)


def drafting_inputs(rules: Sequence[Rule], framework: Framework) -> str:
    """A signature of everything besides the records that drafts depend on: the rules and their
    parameters, the rubric, and the code that detects, links, words and tags (hashed, so an
    upgrade from a checkout without a version bump still redrafts)."""
    from pathlib import Path

    import harvester.rules as rules_package

    digest = hashlib.sha256(json.dumps([sorted(repr(r) for r in rules), repr(framework)]).encode())
    here = Path(__file__).parent
    code = sorted(Path(rules_package.__file__).parent.glob("*.py")) + \
        [here / name for name in ("drafting.py", "linking.py", "wording.py", "rubric.py")]
    for path in code:
        try:
            digest.update(path.read_bytes())
        except OSError:  # not installed as files (a zip): the version stands in for the code
            from harvester import __version__

            digest.update(__version__.encode())
    return digest.hexdigest()


def drafting_state(store: Store, rules: Sequence[Rule], framework: Framework) -> dict:
    """What a drafting pass now would be computed from; saved after each complete pass."""
    return {"inputs": drafting_inputs(rules, framework), "records": store.get_state(RECORDS_VERSION_KEY)}


def redraft_if_changed(store: Store, config: Config, now: datetime | None = None,
                       rules: Sequence[Rule] | None = None) -> DraftCounts:
    """`redraft`, unless no record, rule parameter or rubric changed since the last complete
    pass: then the drafts are already what a pass would make, and a nightly run with nothing
    new stays fast however long the history."""
    rules = load_rules(config) if rules is None else rules
    framework = load_framework(config.rubric.framework or None)
    current = drafting_state(store, rules, framework)
    if store.get_state(DRAFTED_INPUTS_KEY) == current:
        return DraftCounts(skipped=True)
    return draft_all(store, rules, framework, current, now or utcnow())


def redraft(store: Store, config: Config, now: datetime | None = None,
            on_group: Callable[[], None] | None = None, rules: Sequence[Rule] | None = None) -> DraftCounts:
    """Rules over every stored record -> findings -> drafts. Needs no network; safe to re-run."""
    rules = load_rules(config) if rules is None else rules
    framework = load_framework(config.rubric.framework or None)
    return draft_all(store, rules, framework, drafting_state(store, rules, framework), now or utcnow(), on_group)


def draft_all(store: Store, rules: Sequence[Rule], framework: Framework, drafted_from: dict, now: datetime,
              on_group: Callable[[], None] | None = None) -> DraftCounts:
    """The drafting pass; `drafted_from` (read before the records are) is saved once it completes."""
    findings = detect_findings(store, rules, build_context(store, now), on_group)
    store.save_findings(findings)
    counts = DraftCounts(findings=len(findings))
    drafted = set()
    for linked in link_findings(findings):
        draft = draft_from_findings(linked, framework)
        drafted.add(draft.fingerprint)
        counts.add(store.save_draft(draft), draft.source)
        if len(linked) > 1:  # drafts of findings now joined to this one, from earlier harvests
            counts.superseded += store.supersede_drafts([f.fingerprint for f in linked[1:]], draft.fingerprint)
    counts.superseded += store.retire_missing_drafts(drafted)
    store.set_state(DRAFTED_INPUTS_KEY, drafted_from)
    return counts
