"""Run the rules over stored records and turn findings into drafts (new, refreshed, or left alone)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Callable, Sequence

from harvester.config import Config
from harvester.drafting.detection import detect_findings
from harvester.drafting.kinds import kind_of
from harvester.drafting.linking import FindingGroup, link_findings, linked_summary
from harvester.models import DECIDED_STATUSES, Draft, Evidence, Finding, utcnow
from harvester.registry import build_rules
from harvester.drafting.rubric import Framework
from harvester.rules.base import DetectContext, Rule
from harvester.rules.metric_names import metric_family
from harvester.safe_text import one_line
from harvester.store import Store
from harvester.store.state import DRAFTED_INPUTS_KEY
from harvester.drafting.wording import MetricNames, Mention, Story, word_story

# Facts that hold words a person wrote (PR titles, ticket summaries, labels): the only text tags read.
AUTHORED_FACTS = ("title", "summary", "titles", "labels")


@dataclass
class DraftCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0
    superseded: int = 0
    findings: int = 0
    skipped: bool = False  # nothing the rules read had changed since the last pass
    held: tuple[str, ...] = ()  # sources whose last harvest did not complete: their drafts wait
    by_source: Counter = field(default_factory=Counter)

    @classmethod
    def combine(cls, counts: Sequence["DraftCounts"]) -> "DraftCounts":
        """The counts of several members' passes as one."""
        total = cls(skipped=bool(counts) and all(c.skipped for c in counts))
        for c in counts:
            for name in ("new", "updated", "unchanged", "kept", "superseded", "findings"):
                setattr(total, name, getattr(total, name) + getattr(c, name))
            total.by_source.update(c.by_source)
        total.held = tuple(sorted({s for c in counts for s in c.held}))
        return total

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


def authored_texts(f: Finding) -> list[str]:
    texts = []
    for key in AUTHORED_FACTS:
        value = f.facts.get(key)
        texts += [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)] if value else []
    return texts


def tag_findings(findings: Sequence[Finding], framework: Framework) -> tuple[str, ...]:
    """Rubric dimensions from each finding's structure (kind, metric families) and authored words."""
    tags: list[str] = []
    for f in findings:
        kind = kind_of(f.kind)
        texts = authored_texts(f) if not kind.is_ml else []
        for t in framework.tag_finding(f.kind, [metric_family(m.name) for m in f.metrics], texts, kind.dimensions):
            if t not in tags:
                tags.append(t)
    return tuple(t for t in framework.ids if t in tags)


def draft_from_group(group: FindingGroup, framework: Framework, names: MetricNames | None = None) -> Draft:
    linked = group.findings
    primary = linked[0]
    story = Story(primary=primary, joined=tuple(linked[1:]), names=names or MetricNames(),
                  mentions=tuple(Mention(f, via) for f, via in group.mentions))
    statement, prompt = (one_line(text) for text in word_story(story))
    evidence: list[Evidence] = []
    for f in linked:
        for e in f.evidence:
            if e.url not in {x.url for x in evidence}:
                evidence.append(replace(e, label=one_line(e.label), url=one_line(e.url)))
    family = kind_of(primary.kind).family
    metrics, seen = [], set()
    for m in (m for f in linked if kind_of(f.kind).family == family for m in f.metrics):
        if m.name not in seen:
            seen.add(m.name)
            metrics.append(m)
    return Draft(id=None, fingerprint=primary.fingerprint, status="pending", kind=primary.kind,
                 source=primary.source, subject=primary.subject, occurred_at=max(f.occurred_at for f in linked),
                 statement=statement, impact_prompt=prompt, metrics=tuple(metrics), evidence=tuple(evidence),
                 tags=tag_findings(linked, framework), linked=tuple(linked_summary(linked)))


def split_decided(groups: Sequence[FindingGroup], states: dict[str, tuple[str, bool]],
                  covered: set[str] = frozenset()) -> list[FindingGroup]:
    """Keep the engineer's decisions where they were made: a finding whose own draft was
    confirmed, rejected or edited is never folded into another draft; a decided draft does
    not absorb a finding that already has a draft of its own; and a finding that was part of
    a confirmed or rejected draft (`covered`) is not drafted again on its own."""
    def status(f: Finding) -> str:
        return states.get(f.fingerprint, ("", False))[0]

    def decided(f: Finding) -> bool:
        return status(f) in DECIDED_STATUSES or states.get(f.fingerprint, ("", False))[1]

    out = []
    for g in groups:
        members = [f for f in g.findings if f.fingerprint not in covered or f.fingerprint in states]
        if not members:
            continue
        primary = members[0]
        alone = [f for f in members[1:] if decided(f) or (decided(primary) and status(f) == "pending")]
        out.append(FindingGroup(tuple(f for f in members if f not in alone), g.mentions))
        out.extend(FindingGroup((f,)) for f in alone)
    return out


def load_rules(config: Config) -> list[Rule]:
    return build_rules(dict(config.rules), config.label)


def drafting_inputs(rules: Sequence[Rule], framework: Framework, names: MetricNames | None = None) -> str:
    """A signature of everything besides the records that drafts depend on: the rules and their
    parameters, the rubric, and the code that detects, links, words and tags (hashed, so an
    upgrade from a checkout without a version bump still redrafts)."""
    from pathlib import Path

    import harvester.rules as rules_package

    digest = hashlib.sha256(json.dumps([sorted(repr(r) for r in rules), repr(framework),
                                        repr(names or MetricNames())]).encode())
    here = Path(__file__).parent
    code = sorted(Path(rules_package.__file__).parent.glob("*.py")) + sorted((here / "wording").glob("*.py")) + \
        [here / name for name in ("drafting.py", "detection.py", "linking.py", "identity.py", "kinds.py", "rubric.py")]
    for path in code:
        try:
            digest.update(path.read_bytes())
        except OSError:  # not installed as files (a zip): the version stands in for the code
            from harvester import __version__

            digest.update(__version__.encode())
    return digest.hexdigest()


def drafting_state(store: Store, rules: Sequence[Rule], framework: Framework, names: MetricNames) -> dict:
    """What a drafting pass now would be computed from; saved after each complete pass. The
    sources held back count: a pass after one of them completes again must run."""
    return {"inputs": drafting_inputs(rules, framework, names), "records": store.records_version(),
            "held": sorted(store.unfinished_sources())}


def metric_names(config: Config) -> MetricNames:
    return MetricNames(dict(config.wording.metric_names))


def redraft_if_changed(store: Store, config: Config, now: datetime | None = None,
                       rules: Sequence[Rule] | None = None) -> DraftCounts:
    """`redraft`, unless no record, rule parameter or rubric changed since the last complete
    pass: then the drafts are already what a pass would make, and a nightly run with nothing
    new stays fast however long the history. When only records changed, the rules re-run over
    the groups they changed (harvester.drafting.detection), so the pass grows with the change."""
    rules = load_rules(config) if rules is None else rules
    framework = config.framework
    names = metric_names(config)
    current = drafting_state(store, rules, framework, names)
    if store.get_state(DRAFTED_INPUTS_KEY) == current:
        return DraftCounts(skipped=True, held=tuple(current["held"]))
    return draft_all(store, rules, framework, current, now or utcnow(), names=names, full=False)


def redraft(store: Store, config: Config, now: datetime | None = None,
            on_group: Callable[[], None] | None = None, rules: Sequence[Rule] | None = None) -> DraftCounts:
    """Rules over every stored record -> findings -> drafts. Needs no network; safe to re-run."""
    rules = load_rules(config) if rules is None else rules
    framework = config.framework
    names = metric_names(config)
    return draft_all(store, rules, framework, drafting_state(store, rules, framework, names), now or utcnow(),
                     on_group, names)


def draft_all(store: Store, rules: Sequence[Rule], framework: Framework, drafted_from: dict, now: datetime,
              on_group: Callable[[], None] | None = None, names: MetricNames | None = None,
              full: bool = True) -> DraftCounts:
    """The drafting pass; `drafted_from` (read before the records are) is saved once it completes.
    Unless `full`, the rules re-run only where records changed since the last pass; the
    drafts are the same either way.

    Findings resting on a source whose latest harvest did not complete change no draft: what
    it fetched may be partial, so its drafts wait, neither added, refreshed nor retired."""
    context = build_context(store, now)
    detection = detect_findings(store, rules, context, drafted_from["inputs"], full, on_group)
    findings = detection.findings
    store.save_findings(detection.fresh)
    held = set(drafted_from.get("held") or ())
    counts = DraftCounts(findings=len(findings), held=tuple(sorted(held)))
    drafted, made = set(), []
    for group in split_decided(link_findings(findings), store.draft_states(), store.covered_by_decisions()):
        if held & {f.source for f in group.findings}:
            drafted.update(f.fingerprint for f in group.findings)
            continue
        made.append((group, draft_from_group(group, framework, names)))
        drafted.add(made[-1][1].fingerprint)
    # Each finding is in one group, so no draft saved here is one another group sets aside.
    for (group, draft), outcome in zip(made, store.save_drafts([draft for _, draft in made])):
        counts.add(outcome, draft.source)
        if len(group.findings) > 1:  # drafts of findings now joined to this one, from earlier harvests
            counts.superseded += store.supersede_drafts([f.fingerprint for f in group.findings[1:]], draft.fingerprint)
    counts.superseded += store.retire_missing_drafts(drafted, keep_sources=held)
    store.save_detected(detection.state(rules, drafted_from["inputs"], context), detection.consumed)
    store.set_state(DRAFTED_INPUTS_KEY, drafted_from)
    return counts
