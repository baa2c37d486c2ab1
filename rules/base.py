"""The rule protocol: a frozen dataclass whose fields are its parameters."""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, ClassVar, Hashable, Iterable, Iterator, Sequence

from harvester.errors import HarvesterError, RuleError
from harvester.rules.kinds import FindingKind
from harvester.models import Finding, Record, utcnow
from harvester.safe_text import one_line


@dataclass(frozen=True)
class RecordGroup:
    """The records of one (source, kind, subject), oldest first.

    `memo` holds what several rules derive from the same records (the runs frame), so it is
    built once per group rather than once per rule."""

    source: str
    kind: str
    subject: str
    records: Sequence[Record]
    memo: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class DetectContext:
    """What rules may know beyond their group: the clock and cross-record facts
    prepared by the detect step (never a database handle)."""

    now: datetime = field(default_factory=utcnow)
    serving_runs: frozenset[tuple[str, str]] = frozenset()  # (source, run id) behind a serving model version


@dataclass(frozen=True)
class Rule:
    """Subclass as `@dataclass(frozen=True) class FooRule(Rule)`; registered as `foo`.

    `kinds` are the record kinds the rule reads, `finding_kinds` the kinds of finding it makes;
    `detect` maps one group to findings
    and must be pure: no I/O, no store, no clock but `context.now`.
    """

    kinds: ClassVar[frozenset[str]] = frozenset()
    finding_kinds: ClassVar[tuple[FindingKind, ...]] = ()  # what it makes: declared once, read everywhere
    description: ClassVar[str] = ""
    abstract: ClassVar[bool] = True  # only a class that says so itself is left out of the registry

    enabled: bool = True

    @classmethod
    def rule_name(cls) -> str:
        base = cls.__name__.removesuffix("Rule")
        return re.sub(r"(?<!^)(?=[A-Z])", "_", base).lower()

    def detect(self, group: RecordGroup, context: DetectContext) -> Iterable[Finding]:
        raise NotImplementedError


@dataclass(frozen=True)
class RollupRule(Rule):
    """A rule that makes one finding per bucket of records gathered across groups (a period's
    reviews, a repository's releases in a quarter) rather than per group.

    `bucket` names the bucket a record counts toward (None: it does not count); `summarise`
    turns one bucket's records, in the order their groups came, into findings. `detect_in_groups` gathers the
    buckets, so the rule itself keeps no state between groups."""

    abstract: ClassVar[bool] = True

    def bucket(self, group: RecordGroup, record: Record) -> Hashable | None:
        raise NotImplementedError

    def summarise(self, key: Any, records: Sequence[Record], context: DetectContext) -> Iterable[Finding]:
        raise NotImplementedError


@dataclass
class Detected:
    """What one pass over some groups found: per (source, kind, subject) group read by a
    per-group rule, its findings (empty when none); per rollup rule (by its index in the
    rules given), the findings of its buckets in key order."""

    groups: dict[tuple[str, str, str], list[Finding]] = field(default_factory=dict)
    rollups: dict[int, list[Finding]] = field(default_factory=dict)

    def findings(self) -> list[Finding]:
        return [f for found in self.groups.values() for f in found] + \
            [f for found in self.rollups.values() for f in found]


def detect_in_groups(rules: Sequence[Rule], groups: Iterable[RecordGroup], context: DetectContext,
                     on_group: Callable[[], None] | None = None) -> list[Finding]:
    """Every rule over every group it reads, then each rollup's buckets in key order."""
    return detect_by_group(rules, groups, context, on_group).findings()


def detect_by_group(rules: Sequence[Rule], groups: Iterable[RecordGroup], context: DetectContext,
                    on_group: Callable[[], None] | None = None) -> Detected:
    """`detect_in_groups`, its findings kept apart by the group or rollup rule they came from."""
    found = Detected()
    buckets: dict[int, dict[Any, list[Record]]] = {i: {} for i, rule in enumerate(rules)
                                                   if isinstance(rule, RollupRule)}
    for group in groups:
        for i, rule in enumerate(rules):
            if group.kind not in rule.kinds:
                continue
            with rule_failures(rule, f"{group.kind} records of {group.source} {group.subject!r}"):
                if i in buckets:
                    for record in group.records:
                        key = rule.bucket(group, record)
                        if key is not None:
                            buckets[i].setdefault(key, []).append(record)
                else:
                    found.groups.setdefault((group.source, group.kind, group.subject), []).extend(
                        rule.detect(group, context))
        if on_group:
            on_group()
    for i, gathered in buckets.items():
        rule = rules[i]
        found.rollups[i] = []
        for key in sorted(gathered):
            with rule_failures(rule, f"its bucket {key!r}"):
                found.rollups[i].extend(rule.summarise(key, gathered[key], context))
    return found


@contextmanager
def rule_failures(rule: Rule, where: str) -> Iterator[None]:
    """A rule that raises becomes one line naming the rule and how to turn it off."""
    try:
        yield
    except HarvesterError:
        raise
    except Exception as exc:
        name = rule.rule_name()
        raise RuleError(one_line(f"rule {name} failed on {where}: {type(exc).__name__}: {exc}. Fix the rule, or "
                                 f"turn it off with [rules.{name}] enabled = false.")) from exc
