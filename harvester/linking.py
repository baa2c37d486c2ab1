"""Group findings that describe one accomplishment, so it becomes one draft with all its evidence.

Default: every finding stands alone. Cross-source linking (a PR naming a run or ticket)
extends `link_findings`.
"""

from __future__ import annotations

from typing import Sequence

from harvester.models import Finding


def link_findings(findings: Sequence[Finding]) -> list[tuple[Finding, ...]]:
    return [(f,) for f in findings]
