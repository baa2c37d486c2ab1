"""A draft's story: the finding that leads it, the findings joined to it (the same piece of
work seen from other sources), and findings it only names (an epic with a draft of its own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from harvester.drafting.kinds import kind_of
from harvester.models import Finding
from harvester.drafting.wording.names import MetricNames
from harvester.drafting.wording.numbers import join_words, quoted
from harvester.rules.engineering import change_names


@dataclass(frozen=True)
class Mention:
    """Another draft's finding this one names, and the ticket key that connects them."""

    finding: Finding
    via: str = ""


@dataclass(frozen=True)
class Story:
    primary: Finding
    joined: tuple[Finding, ...] = ()
    mentions: tuple[Mention, ...] = ()
    names: MetricNames = field(default_factory=MetricNames)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return (self.primary, *self.joined)

    def joined_of(self, *kinds: str) -> list[Finding]:
        return [f for f in self.joined if f.kind in kinds]

    def joined_family(self, family: str) -> list[Finding]:
        return [f for f in self.joined if kind_of(f.kind).family == family]


def word_story(story: Story) -> tuple[str, str]:
    """(statement, impact prompt) for a draft, in the words of its primary finding's kind."""
    wording = kind_of(story.primary.kind).wording_function() or word_generic
    statement, prompt = wording(story)
    links = describe_links(story)
    return (f"{statement} {links}" if links else statement), prompt


def word_generic(story: Story) -> tuple[str, str]:
    f = story.primary
    statement = str(f.facts.get("statement") or f"{kind_of(f.kind).title}: {f.subject}.")
    return statement, str(f.facts.get("impact_prompt") or "What outcome did this produce for users or the business?")


def pr_label(f: Finding) -> str:
    """acme/fraud#42, or acme/fraud#42, #43 for a group of PRs."""
    numbers = [p.get("number") for p in f.facts.get("prs") or () if isinstance(p, Mapping)]
    if not numbers:
        return f.subject
    more = f" and {len(numbers) - 3} more" if len(numbers) > 3 else ""
    sigil = change_names(f.facts.get("forge"))[1]
    return f.subject + ", ".join(f"{sigil}{n}" for n in numbers[:3]) + more


def pr_reference(prs: Sequence[Finding]) -> str:
    """PR acme/fraud#42 “Add merchant features”, or PRs acme/fraud#42; acme/infra#7 (MR and
    acme/fraud!42 for GitLab's)."""
    nouns = {change_names(f.facts.get("forge"))[0] for f in prs}
    noun = nouns.pop() if len(nouns) == 1 else "PR"
    if len(prs) == 1 and len(prs[0].facts.get("prs") or ()) <= 1:
        title = quoted(prs[0].facts.get("title"), 80)
        return f"{noun} {pr_label(prs[0])}{' ' + title if title else ''}"
    return f"{noun}s " + "; ".join(pr_label(f) for f in prs)


def ticket_reference(f: Finding) -> str:
    key = f.facts.get("key") or f.subject
    return f"{kind_of(f.kind).noun or 'ticket'} {key}"


def describe_links(story: Story) -> str:
    """A sentence naming the PRs and tickets joined to an ML or ticket result, and the drafts
    it is connected to ('' if none). PR-led drafts name their own tickets in their wording."""
    primary = story.primary
    family = kind_of(primary.kind).family
    prs = story.joined_family("engineering") if family != "engineering" else []
    tickets = [ticket_reference(f) for f in story.joined_family("ticket")] if family != "ticket" else []
    others = [f.subject for f in story.joined_family("ml")
              if f.subject != primary.subject and f.kind != "model_promoted"]  # a promotion is worded as shipped
    parts = []
    if prs:
        parts.append(f"Merged in {pr_reference(prs)}")
    if tickets:
        parts.append(("for " if prs else "Tracked in ") + join_words(tickets))
    if family == "engineering":
        keys = [ticket_reference(f) for f in story.joined_family("ticket")]
        if keys:
            parts.append(f"For {join_words(keys)}")
    if others:
        parts.append(("with " if parts else "With ") + ", ".join(others))
    sentence = (" ".join(parts) + ".") if parts else ""
    mentions = [describe_mention(m, story) for m in story.mentions]
    return " ".join(x for x in (sentence, *mentions) if x)


def describe_mention(mention: Mention, story: Story) -> str:
    """How a draft names a connected draft: the lift names its epic, the epic names the lift."""
    other = mention.finding
    if kind_of(other.kind).is_ticket:
        title = quoted(other.facts.get("summary"), 60)
        via = f" through ticket {mention.via}" if mention.via and mention.via != other.subject else ""
        return f"Part of epic {other.facts.get('key') or other.subject}{' ' + title if title else ''}{via}."
    metric = f"{story.names.label(other.metrics[0].name)} " if other.metrics else ""
    via = f" (ticket {mention.via})" if mention.via else ""
    return f"Includes the {metric}{kind_of(other.kind).noun or 'result'} on {other.subject}{via}."

