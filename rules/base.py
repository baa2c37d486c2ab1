"""The rule protocol: a frozen dataclass whose fields are its parameters."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Iterable, Mapping, Sequence

from harvester.rules.kinds import FindingKind
from harvester.models import Finding, Record, utcnow


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
    extra: Mapping[str, object] = field(default_factory=dict)


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

    def finalize(self, context: DetectContext) -> Iterable[Finding]:
        """Findings that span groups; called once after every group was seen."""
        return ()
