"""Words for engineering and ticket work: PRs, docs, reviews, releases, tickets, epics, incidents.
Each reads the draft's lead finding; the links sentence is added by `word_story`."""

from __future__ import annotations

import re

from harvester.models import Finding
from harvester.drafting.wording.numbers import format_value, plural, quoted
from harvester.drafting.wording.story import Story
from harvester.rules.engineering import change_names


def format_duration(days: object) -> str:
    if not isinstance(days, (int, float)):
        return ""
    if days < 1:
        hours = days * 24
        text = format_value(max(round(hours, 1), 0.1) if hours < 10 else round(hours))
        return f"{text} hour{'' if text == '1' else 's'}"
    return plural(round(days / 7), "week") if days >= 21 else plural(round(days), "day")


def points_text(points: object) -> str:
    return f"{format_value(float(points))} story points" if isinstance(points, (int, float)) and points else ""


def word_ticket_resolved(story: Story) -> tuple[str, str]:
    f = story.primary
    key, facts = f.facts.get("key") or f.subject, f.facts
    title = " ".join(x for x in (key, quoted(facts.get("summary"), 100)) if x)
    points = points_text(facts.get("story_points"))
    if facts.get("rollup"):
        keys = [str(k) for k in facts.get("keys") or []]
        if len(keys) == 1:
            one = " ".join(x for x in (keys[0], quoted((facts.get("titles") or [""])[0], 100)) if x)
            statement = f"Resolved {one} toward epic {title}{f' ({points})' if points else ''}."
        else:
            shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
            detail = "; ".join(x for x in (shown, points) if x)
            statement = f"Resolved {plural(len(keys), 'ticket')} toward epic {title} ({detail})."
        prompt = (f"What is epic {key} for, and what did these tickets move it toward (a model in production, "
                  "a launch, a deadline met, time saved for the team)?")
        return statement, prompt
    detail = ", ".join(x for x in (str(facts.get("type") or ""), points) if x)
    took = format_duration(facts.get("days"))
    statement = f"Resolved {title}{f' ({detail})' if detail else ''}{f' in {took}' if took else ''}."
    prompt = (f"What did resolving {key} change: who uses the result, and what did it save, unblock or improve "
              "(hours, errors, a launch)?")
    return statement, prompt


def word_epic_completed(story: Story) -> tuple[str, str]:
    f = story.primary
    key, facts = f.facts.get("key") or f.subject, f.facts
    title = " ".join(x for x in (key, quoted(facts.get("summary"), 100)) if x)
    took = format_duration(facts.get("days"))
    children = int(facts.get("children") or 0)
    points = points_text(facts.get("story_points"))
    if children:
        mine = f", resolving {plural(children, 'issue')} of it myself{f' ({points})' if points else ''}"
    else:
        mine = " as its owner"
    statement = f"Completed epic {title}{f' in {took}' if took else ''}{mine}."
    prompt = ("What did this epic deliver, and what did it move: a model or service in production, an online "
              "or business metric, a cost, a deadline met?")
    return statement, prompt


def word_incident_resolved(story: Story) -> tuple[str, str]:
    f = story.primary
    key, facts = f.facts.get("key") or f.subject, f.facts
    title = " ".join(x for x in (key, quoted(facts.get("summary"), 100)) if x)
    kind = "incident" if "incident" in str(facts.get("type") or "").lower() else "bug"
    priority = f"{facts.get('priority')}-priority " if facts.get("priority") else ""
    hours = facts.get("hours")
    took = f" within {format_duration(hours / 24)} of it being raised" if isinstance(hours, (int, float)) else ""
    statement = f"Resolved {priority}{kind} {title}{took}."
    prompt = ("How many users, requests or predictions were affected and for how long, and what did you change "
              "so it does not happen again?")
    return statement, prompt


def pr_numbers(f: Finding, limit: int = 4) -> str:
    sigil = change_names(f.facts.get("forge"))[1]
    numbers = [f"{sigil}{p.get('number')}" for p in f.facts.get("prs") or ()]
    return ", ".join(numbers[:limit]) + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def size_text(facts) -> str:
    if not isinstance(facts.get("additions"), int) or not isinstance(facts.get("deletions"), int):
        return ""
    files = f" across {plural(facts['changed_files'], 'file')}" if isinstance(facts.get("changed_files"), int) else ""
    return f", +{facts['additions']:,}/-{facts['deletions']:,} lines{files}"


def word_pr_shipped(story: Story) -> tuple[str, str]:
    f = story.primary
    facts = f.facts
    reviewers = list(facts.get("reviewers") or ())
    reviewed = f", reviewed by {', '.join(reviewers[:3])}" if reviewers else ""
    count = int(facts.get("count") or 1)
    noun = change_names(facts.get("forge"))[0]
    if count > 1:
        feature = str(facts.get("feature") or "").strip("[]")
        what = f"the work for {feature}" if re.fullmatch(r"[A-Z][A-Z0-9]+-\d+", feature) else (feature or "a feature")
        statement = (f"Shipped {what} in {f.subject} across {count} merged {noun}s ({pr_numbers(f)})"
                     f"{size_text(facts)}{reviewed}.")
    else:
        statement = (f"Shipped {quoted(facts.get('title'))} in {f.subject} ({noun} {pr_numbers(f)})"
                     f"{size_text(facts)}{reviewed}.")
    prompt = ("What did this change make possible, and for whom? Which number moved (latency, errors, incidents, "
              "hours saved, a launch date)?")
    return statement, prompt


def word_docs_written(story: Story) -> tuple[str, str]:
    f = story.primary
    title = quoted(f.facts.get("title"))
    noun = change_names(f.facts.get("forge"))[0]
    if f.facts.get("design_doc"):
        statement = f"Wrote the design doc {title} for {f.subject} ({noun} {pr_numbers(f)})."
        prompt = "Which decision did this design settle, who reviewed or adopted it, and what did it save or prevent?"
    else:
        statement = f"Wrote documentation {title} in {f.subject} ({noun} {pr_numbers(f)})."
        prompt = ("Who relies on this documentation (new hires, other teams, on-call), and how much time or how many "
                  "questions does it save them?")
    return statement, prompt


def word_review_given(story: Story) -> tuple[str, str]:
    f = story.primary
    facts = f.facts
    repos = dict(facts.get("repos") or {})
    shown = ", ".join(list(repos)[:3]) + (f" and {len(repos) - 3} more" if len(repos) > 3 else "")
    where = f"{len(repos)} repositories ({shown})" if len(repos) > 1 else shown
    detail = [plural(int(facts.get("reviews") or 0), "review")]
    if facts.get("changes_requested"):
        detail.append(f"{facts['changes_requested']} asking for changes")
    changes = change_names(facts.get("forge"))[2]
    statement = (f"Reviewed {plural(int(facts.get('pull_requests') or 0), changes[:-1], changes)} by "
                 f"{plural(int(facts.get('authors') or 0), 'engineer')} in {where} during {facts.get('period')} "
                 f"({', '.join(detail)}).")
    prompt = ("Which of these reviews changed a design or caught a defect before production, and whom did they "
              "help grow (mentoring, another team)?")
    return statement, prompt


def word_release_shipped(story: Story) -> tuple[str, str]:
    f = story.primary
    tags = [str(t) for t in f.facts.get("releases") or ()]
    deployments = int(f.facts.get("deployments") or 0)
    parts = []
    if tags:
        named = tags[0] if len(tags) == 1 else f"{tags[0]} to {tags[-1]}"
        parts.append(f"{plural(len(tags), 'release')} ({named})")
    if deployments:
        parts.append(plural(deployments, "production deployment"))
    statement = f"Shipped {' and '.join(parts)} of {f.subject} in {f.facts.get('period') or f.period}."
    prompt = ("What did these releases put in front of users, and did any move an online metric, cut incidents "
              "or unblock another team?")
    return statement, prompt
