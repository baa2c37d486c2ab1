"""Group findings that describe one accomplishment, so it becomes one draft with all its evidence.

A finding that names other work (a PR whose text carries a Jira key, an MLflow run id, a
registered model and version, or a W&B run URL) keeps those names in facts["references"].
`link_findings` joins it with the findings those names point at: ML findings by run id or
model version, ticket findings by issue key. The first finding of each group is the primary,
whose wording and fingerprint the draft takes: the lowest family and rank its kind declares
(an ML result, else a ticket or epic, else the PR).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from harvester.drafting.kinds import kind_of
from harvester.models import Finding
from harvester.rules.references import has_references

# Kinds joined when they rest on the same best run (a promotion: on the run its version came from).
SAME_RUN_KINDS = ("metric_lift", "latency_reduction", "cost_reduction", "model_promoted")

def rank(f: Finding) -> tuple[int, int]:
    return kind_of(f.kind).link_rank()


def is_rollup(f: Finding) -> bool:
    """An epic, or the tickets under one: a body of work of its own, never folded into an ML result."""
    return f.kind == "epic_completed" or bool(f.facts.get("rollup"))


def own_keys(f: Finding) -> set[str]:
    return {k.upper() for k in (f.subject, str(f.facts.get("key") or "")) if k}


def child_keys(f: Finding) -> set[str]:
    return {str(k).upper() for k in f.facts.get("keys") or () if k} - own_keys(f)


@dataclass(frozen=True)
class FindingGroup:
    """One accomplishment: its findings, primary first, and the findings of other drafts it
    names (finding, ticket key that connects them)."""

    findings: tuple[Finding, ...]
    mentions: tuple[tuple[Finding, str], ...] = ()

    @property
    def primary(self) -> Finding:
        return self.findings[0]


class UnionFind:
    def __init__(self, size: int):
        self.parent = list(range(size))

    def root(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        self.parent[self.root(b)] = self.root(a)


def link_findings(findings: Sequence[Finding]) -> list[FindingGroup]:
    """Findings grouped into accomplishments, primary first; unlinked findings stand alone.

    Joined: findings on the same best run (a lift, its latency and cost wins, the model
    version promoted from it); a finding and the run, model version or ticket its text names.
    An epic (or the tickets rolled up under one) reached through one of its child tickets
    stays its own draft when the other side is an ML result: each names the other instead."""
    by_run: dict[str, list[int]] = {}
    by_best: dict[tuple[str, str], list[int]] = {}
    by_model: dict[tuple[str, str], list[int]] = {}
    by_key: dict[str, list[int]] = {}
    by_child: dict[str, list[int]] = {}
    for i, f in enumerate(findings):
        kind = kind_of(f.kind)
        if kind.is_ml:
            for rid in f.record_ids:
                by_run.setdefault(str(rid).lower(), []).append(i)
            best = f.facts.get("run_id") if f.kind == "model_promoted" else f.facts.get("best_run_id")
            if best and f.kind in SAME_RUN_KINDS:
                by_best.setdefault((f.source, str(best).lower()), []).append(i)
            model, version = f.facts.get("model"), f.facts.get("version")
            if model and version is not None:
                by_model.setdefault((str(model).lower(), str(version)), []).append(i)
        elif kind.is_ticket:
            for key in own_keys(f):
                by_key.setdefault(key, []).append(i)
            for key in child_keys(f):
                by_child.setdefault(key, []).append(i)

    sets = UnionFind(len(findings))
    for members in by_best.values():
        for j in members[1:]:
            sets.join(members[0], j)
    deferred: list[tuple[int, int, str]] = []
    for i, f in enumerate(findings):
        refs = f.facts.get("references")
        if not has_references(refs):
            continue
        targets = [j for rid in list(refs.get("runs") or ()) + list(refs.get("wandb") or ())
                   for j in by_run.get(str(rid).lower(), ())]
        targets += [j for name, version in refs.get("models") or () for j in by_model.get((name.lower(), str(version)), ())]
        for key in refs.get("jira") or ():
            key = str(key).upper()
            for j in by_key.get(key, ()):
                (deferred.append((i, j, key)) if is_rollup(findings[j]) else targets.append(j))
            deferred += [(i, j, key) for j in by_child.get(key, ())]
        for j in targets:
            sets.join(i, j)

    has_ml = {sets.root(i) for i, f in enumerate(findings) if kind_of(f.kind).is_ml}
    crossings: list[tuple[int, int, str]] = []
    for i, j, key in deferred:
        if sets.root(i) in has_ml:
            crossings.append((i, j, key))
        else:
            sets.join(j, i)

    groups: dict[int, list[Finding]] = {}
    for i, f in enumerate(findings):
        groups.setdefault(sets.root(i), []).append(f)
    mentions: dict[int, list[tuple[Finding, str]]] = {}
    for i, j, key in crossings:
        ml_root, epic_root = sets.root(i), sets.root(j)
        if ml_root == epic_root:
            continue
        ml_primary = lead(groups[ml_root])
        add_mention(mentions, ml_root, findings[j], key)
        add_mention(mentions, epic_root, ml_primary, key)
    return [FindingGroup(tuple(sorted(g, key=lead_order)), tuple(mentions.get(root, ()))) for root, g in groups.items()]


def lead_order(f: Finding) -> tuple:
    """Primary first: the kind's family and rank, then the newest."""
    return (*rank(f), -f.occurred_at.timestamp())


def lead(findings: Sequence[Finding]) -> Finding:
    return min(findings, key=lead_order)


def add_mention(mentions: dict[int, list[tuple[Finding, str]]], root: int, finding: Finding, key: str) -> None:
    items = mentions.setdefault(root, [])
    if all(f.fingerprint != finding.fingerprint for f, _ in items):
        items.append((finding, key))


def linked_summary(linked: Sequence[Finding]) -> list[dict[str, str]]:
    """{source, kind, subject} for every finding in a draft after the primary (for --json)."""
    return [{"source": f.source, "kind": f.kind, "subject": str(f.facts.get("key") or f.subject),
             "fingerprint": f.fingerprint} for f in linked[1:]]
