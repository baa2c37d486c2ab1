"""Keep an accomplishment's fingerprint when the runs under it shift.

A campaign's identity includes its first run, so a run logged later with an earlier start
time, a deleted first run or a boundary moved by one run would give the same work a new
fingerprint, and a rejected accomplishment would come back as a new pending draft. A finding
whose fingerprint is new therefore takes over the identity of a stored finding of the same
kind, source, subject and leading identity parts (the metric) that rests on some of the same
records: the one it shares most records with.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol, Sequence

from harvester.models import Finding


class FindingIndex(Protocol):
    def finding_fingerprints(self) -> set[str]: ...

    def load_finding_identities(self, subjects) -> list[dict[str, Any]]: ...


def carry_identities(findings: Sequence[Finding], index: FindingIndex) -> list[Finding]:
    stored = index.finding_fingerprints()
    new = [f for f in findings if f.fingerprint not in stored and f.identity]
    if not new:
        return list(findings)
    claimed = {f.fingerprint for f in findings if f.fingerprint in stored}
    candidates = [c for c in index.load_finding_identities({(f.kind, f.source, f.subject) for f in new})
                  if c["fingerprint"] not in claimed]
    carried: dict[int, Finding] = {}
    for f in sorted(new, key=lambda f: f.occurred_at):
        match = best_predecessor(f, candidates, claimed)
        if match is not None:
            claimed.add(match["fingerprint"])
            carried[id(f)] = replace(f, identity=tuple(match["identity"]))
    return [carried.get(id(f), f) for f in findings]


def best_predecessor(f: Finding, candidates: Sequence[dict[str, Any]], claimed: set[str]) -> dict[str, Any] | None:
    ids = {str(r) for r in f.record_ids}
    best, best_overlap = None, 0
    for c in candidates:
        if c["fingerprint"] in claimed or (c["kind"], c["source"], c["subject"]) != (f.kind, f.source, f.subject):
            continue
        identity = [str(x) for x in c["identity"]]
        if len(identity) != len(f.identity) or identity[:-1] != [str(x) for x in f.identity[:-1]]:
            continue
        overlap = len(ids & {str(r) for r in c["record_ids"]})
        if overlap > best_overlap:
            best, best_overlap = c, overlap
    return best
