"""How drafts read. `word_story` words one draft; each finding kind names its own wording."""

from harvester.models import Finding
from harvester.drafting.wording.names import MetricNames
from harvester.drafting.wording.story import Mention, Story, word_story


def word_finding(finding: Finding, names: MetricNames | None = None) -> tuple[str, str]:
    """(statement, prompt) of a finding drafted on its own."""
    return word_story(Story(primary=finding, names=names or MetricNames()))


__all__ = ["MetricNames", "Mention", "Story", "word_finding", "word_story"]
