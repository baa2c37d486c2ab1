"""Group findings that describe one accomplishment, so it becomes one draft with all its evidence.

A finding that names other work (a PR whose text carries a Jira key, an MLflow run id, a
registered model and version, or a W&B run URL) keeps those names in facts["references"].
`link_findings` joins it with the findings those names point at: ML findings by run id or
model version, ticket findings by issue key. The first finding of each group is the primary,
whose wording and fingerprint the draft takes: an ML result, else a ticket or epic, else the PR.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Sequence

from harvester.models import Finding

ML_KINDS = ("metric_lift", "model_promoted", "latency_reduction", "cost_reduction", "experiment_campaign")
TICKET_KINDS = ("epic_completed", "incident_resolved", "ticket_resolved")
PR_KINDS = ("pr_shipped", "docs_written")

JIRA_KEY = re.compile(r"(?<![\w-])([A-Z][A-Z0-9]{1,9}-[1-9][0-9]{0,6})(?![\w-])")
# Upper-case prefixes that look like Jira keys but name standards and versions.
NOT_JIRA = frozenset({"UTF", "SHA", "ISO", "RFC", "PEP", "GPT", "CVE", "HTTP", "TLS", "SSL", "AES", "RSA", "MD",
                      "UTC", "GMT", "COVID", "IPV", "CUDA", "SM", "EC", "PR", "ES", "FP", "INT", "BF", "TF"})
RUN_ID = re.compile(r"(?<![0-9a-fA-F])([0-9a-f]{32})(?![0-9a-fA-F])")
MODEL_URI = re.compile(r"models:/([A-Za-z0-9][\w.-]*)/(\d+)")
MODEL_VERSION = re.compile(r"(?<![\w/-])([A-Za-z][\w.-]*[A-Za-z0-9])\s+(?:v|version\s+)(\d+)\b", re.IGNORECASE)
WANDB_RUN = re.compile(r"https?://[\w.-]*wandb[\w.-]*(?::\d+)?/[\w.-]+/[\w.-]+/runs/([\w-]+)")


def find_references(*texts: str | None) -> dict[str, list]:
    """Jira keys, MLflow run ids, (model, version) pairs and W&B run ids named in some text."""
    text = "\n".join(t for t in texts if t)
    jira = [k for k in JIRA_KEY.findall(text) if k.split("-", 1)[0] not in NOT_JIRA]
    models = [[name, version] for name, version in MODEL_URI.findall(text)]
    models += [[name, version] for name, version in MODEL_VERSION.findall(text)]
    return {"jira": unique(jira), "runs": unique(RUN_ID.findall(text)),
            "models": unique_pairs(models), "wandb": unique(WANDB_RUN.findall(text))}


def has_references(refs: Mapping[str, Any] | None) -> bool:
    return bool(refs) and any(refs.get(k) for k in ("jira", "runs", "models", "wandb"))


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def unique_pairs(pairs: Iterable[list]) -> list[list]:
    seen, out = set(), []
    for name, version in pairs:
        key = (name.lower(), str(version))
        if key not in seen:
            seen.add(key)
            out.append([name, str(version)])
    return out


def rank(f: Finding) -> tuple[int, int]:
    if f.kind in ML_KINDS:
        return 0, ML_KINDS.index(f.kind)
    if f.kind in TICKET_KINDS:
        return 1, TICKET_KINDS.index(f.kind)
    return 2, 0


def ticket_keys(f: Finding) -> set[str]:
    keys = {f.subject, str(f.facts.get("key") or "")}
    keys.update(str(k) for k in f.facts.get("keys") or ())
    return {k.upper() for k in keys if k}


def link_findings(findings: Sequence[Finding]) -> list[tuple[Finding, ...]]:
    """Findings grouped into accomplishments, primary first; unlinked findings stand alone."""
    by_run: dict[str, list[int]] = {}
    by_model: dict[tuple[str, str], list[int]] = {}
    by_key: dict[str, list[int]] = {}
    for i, f in enumerate(findings):
        if f.kind in ML_KINDS:
            for rid in f.record_ids:
                by_run.setdefault(str(rid).lower(), []).append(i)
            model, version = f.facts.get("model"), f.facts.get("version")
            if model and version is not None:
                by_model.setdefault((str(model).lower(), str(version)), []).append(i)
        elif f.kind in TICKET_KINDS:
            for key in ticket_keys(f):
                by_key.setdefault(key, []).append(i)

    parent = list(range(len(findings)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, f in enumerate(findings):
        refs = f.facts.get("references")
        if not has_references(refs):
            continue
        targets = [j for rid in list(refs.get("runs") or ()) + list(refs.get("wandb") or ())
                   for j in by_run.get(str(rid).lower(), ())]
        targets += [j for name, version in refs.get("models") or () for j in by_model.get((name.lower(), str(version)), ())]
        targets += [j for key in refs.get("jira") or () for j in by_key.get(str(key).upper(), ())]
        for j in targets:
            parent[root(j)] = root(i)

    groups: dict[int, list[Finding]] = {}
    for i, f in enumerate(findings):
        groups.setdefault(root(i), []).append(f)
    return [tuple(sorted(g, key=lambda f: (rank(f), -f.occurred_at.timestamp()))) for g in groups.values()]


def describe_links(linked: Sequence[Finding]) -> str:
    """A short sentence naming the PRs and tickets joined to the primary finding ('' if none)."""
    primary, rest = linked[0], linked[1:]
    prs = [pr_label(f) for f in rest if f.kind in PR_KINDS]
    tickets = [f"{TICKET_NOUNS[f.kind]} {f.facts.get('key') or f.subject}" for f in rest if f.kind in TICKET_KINDS]
    others = [f"{f.subject}" for f in rest if f.kind in ML_KINDS and f.subject != primary.subject]
    parts = []
    if prs:
        parts.append(f"Shipped in {join_labels(prs, 'PR')}")
    if tickets:
        parts.append(("for " if prs else "Tracked in ") + ", ".join(tickets))
    if others:
        parts.append(("with " if parts else "With ") + ", ".join(others))
    return (" ".join(parts) + ".") if parts else ""


TICKET_NOUNS = {"ticket_resolved": "ticket", "epic_completed": "epic", "incident_resolved": "incident"}


def pr_label(f: Finding) -> str:
    """acme/fraud#42, or acme/fraud#42, #43 for a group of PRs."""
    numbers = [p.get("number") for p in f.facts.get("prs") or () if isinstance(p, Mapping)]
    if not numbers:
        return f.subject
    more = f" and {len(numbers) - 3} more" if len(numbers) > 3 else ""
    return f.subject + ", ".join(f"#{n}" for n in numbers[:3]) + more


def join_labels(labels: Sequence[str], noun: str) -> str:
    plural = len(labels) > 1 or any("," in x for x in labels)
    return f"{noun}{'s' if plural else ''} " + "; ".join(labels)


def linked_summary(linked: Sequence[Finding]) -> list[dict[str, str]]:
    """{source, kind, subject} for every finding in a draft after the primary (for --json)."""
    return [{"source": f.source, "kind": f.kind, "subject": str(f.facts.get("key") or f.subject)} for f in linked[1:]]
