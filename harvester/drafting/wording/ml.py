"""Words for ML results: lifts, ruled-out ideas, latency and cost wins, promotions.

Shape: verb + the thing + how (the params that changed, the run's note) + the result (key
metric before and after, the others after "also") + where it went (the model shipped from it).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from harvester.models import Finding, Metric
from harvester.drafting.wording.names import MetricNames
from harvester.drafting.wording.numbers import format_pair, format_percent, format_value, join_words, plural, quoted
from harvester.drafting.wording.story import Story

PRE_SERVING = ("staging", "candidate", "challenger")
OUTCOME_QUESTION = ("an online or system metric (precision at the serving threshold, latency, alerts) or a "
                    "business number (revenue, losses prevented, hours saved)")


def change_text(m: Metric) -> str:
    """from 0.81 to 0.86 (+6.7%)"""
    before, after = format_pair(m.before, m.after, m.unit)
    change = m.relative_change
    return f"from {before} to {after}" + (f" ({format_percent(change)})" if change is not None else "")


def moved_text(m: Metric, names: MetricNames) -> str:
    """validation loss fell from 0.41 to 0.33 (−20%)"""
    verb = "rose" if m.after > m.before else "fell"
    return f"{names.label(m.name)} {verb} {change_text(m)}"


def is_number(value: Any) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return str(value).strip().lower() not in ("nan", "inf", "-inf", "infinity")


SWITCHED_ON, SWITCHED_OFF = ("true", "on", "yes", "enabled"), ("false", "off", "no", "disabled")


def param_change(change: Mapping[str, Any], names: MetricNames) -> tuple[str, str]:
    """(verb, what): ('raising', 'batch size from 8 to 48'), ('turning on', 'gradient checkpointing')"""
    label = names.param(str(change["param"]))
    before, after = change.get("before"), change.get("after")
    low_before, low_after = str(before).strip().lower(), str(after).strip().lower()
    if low_before in SWITCHED_OFF and low_after in SWITCHED_ON:
        return "turning on", label
    if low_before in SWITCHED_ON and low_after in SWITCHED_OFF:
        return "turning off", label
    if before in (None, ""):
        return "setting", f"{label} to {after}"
    if after in (None, ""):
        return "dropping", f"{label} (was {before})"
    if is_number(before) and is_number(after):
        return ("raising" if float(after) > float(before) else "lowering"), f"{label} from {before} to {after}"
    return "changing", f"{label} from {before} to {after}"


def describe_changes(changes: Sequence[Mapping[str, Any]], names: MetricNames) -> str:
    """changing quantization from none to int8 and backend from torch to onnx, and raising batch size from 8 to 48"""
    by_verb: dict[str, list[str]] = {}
    for change in changes:
        verb, what = param_change(change, names)
        by_verb.setdefault(verb, []).append(what)
    clauses = [f"{verb} {join_words(items)}" for verb, items in by_verb.items()]
    if len(clauses) > 1 and any(len(items) > 1 for items in by_verb.values()):
        return ", ".join(clauses[:-1]) + ", and " + clauses[-1]
    return join_words(clauses)


def how_text(f: Finding, names: MetricNames) -> str:
    """The specific work behind a run result, from the evidence ('' when none is known)."""
    parts = []
    changes = describe_changes(f.facts.get("changes") or (), names)
    if changes:
        parts.append("by " + changes)
    note = str(f.facts.get("description") or "").strip()
    if note:
        first = note.split()[0].lower()
        if not changes and first.endswith("ing") and len(note) <= 100:
            parts.append("by " + note[0].lower() + note[1:].rstrip("."))
        else:
            parts.append(f"(best run: {quoted(note, 100)})")
    elif not changes and f.facts.get("run_name"):
        parts.append(f"(best run: {f.facts['run_name']})")
    return " ".join(parts)


def where_shipped(facts: Mapping[str, Any], subject: str) -> str:
    """fraud-detector v7, now champion, replacing v6"""
    model, version, target = facts.get("model") or subject, facts.get("version"), facts.get("target") or "serving"
    previous = facts.get("previous_version")
    replacing = f", replacing v{previous}" if previous and str(previous) != str(version) else ""
    place = f"now {target}" if facts.get("via") == "alias" else f"now in {target}"
    return f"{model} v{version}, {place}{replacing}"


def others_moved(story: Story) -> list[Metric]:
    """Every metric after the lead one: the finding's own, then those of joined run results."""
    extra = [m for f in story.joined_family("ml") if f.kind != "model_promoted" for m in f.metrics]
    seen, out = {story.primary.metrics[0].name}, []
    for m in list(story.primary.metrics[1:]) + extra:
        if m.name not in seen and m.before is not None and m.after is not None and m.before != m.after:
            seen.add(m.name)
            out.append(m)
    return out


def run_result(story: Story, verb: str, thing: str, runs_word: str = "run") -> tuple[str, bool]:
    """'<verb> <metric> of <thing> from A to B (+p%) over N runs by ...; also ..., and shipped it as ...'
    and whether the specific work is known."""
    f, names = story.primary, story.names
    head = f.metrics[0]
    runs = int(f.facts.get("runs") or 0)
    how = how_text(f, names)
    text = f"{verb} {names.label(head.name)} of {thing} {change_text(head)} over {plural(runs, runs_word)}"
    text += f" {how}" if how else ""
    also = [moved_text(m, names) for m in others_moved(story)]
    if also:
        text += "; also " + join_words(also)
    promotions = story.joined_of("model_promoted")
    if promotions:
        shipped = where_shipped(promotions[0].facts, promotions[0].subject)
        text += f". Shipped it as {shipped}" if also else f", and shipped it as {shipped}"
    known = bool(how) or bool(story.joined_family("engineering"))
    return text + ".", known


def ask_change(known: bool, question: str) -> str:
    if known:
        return question
    return "What did you change to get this result (features, data, architecture, tuning)? And " + \
        question[0].lower() + question[1:]


def word_metric_lift(story: Story) -> tuple[str, str]:
    f = story.primary
    genai = f.facts.get("evaluation") == "genai"
    verb = "Improved" if f.facts.get("direction", "up") == "up" else "Reduced"
    thing = f"the {f.subject} LLM application" if genai else f.subject
    statement, known = run_result(story, verb, thing, "evaluation run" if genai else "run")
    label = story.names.label(f.metrics[0].name)
    if genai:
        question = (f"What did the better {label} change for the people using this application (answers "
                    "accepted, escalations, time to answer, cost per request)?")
    else:
        gain = "lift" if f.facts.get("direction", "up") == "up" else "improvement"
        question = f"What did this {label} {gain} translate to: {OUTCOME_QUESTION}?"
    return statement, ask_change(known, question)


def word_efficiency(story: Story) -> tuple[str, str]:
    f = story.primary
    head = f.metrics[0]
    family = f.facts.get("family") or ("latency" if f.kind == "latency_reduction" else "cost")
    rising = head.after > head.before
    verb = "Raised" if rising else ("Cut" if family == "latency" else "Reduced")
    statement, known = run_result(story, verb, f.subject)
    if f.kind == "latency_reduction":
        question = "Which service or users got faster, and what did it unlock (an SLA met, fewer machines, better conversion)?"
    else:
        question = "What does this come to per month or per year at production volume, and who budgets for it?"
    return statement, ask_change(known, question)


def word_experiment_campaign(story: Story) -> tuple[str, str]:
    f, names = story.primary, story.names
    m = f.metrics[0]
    label = names.label(m.name)
    explored = [names.param(str(p)) for p in f.facts.get("explored") or ()]
    idea = f"changes to {join_words(explored)}" if explored else "a line of experiments"
    genai = f.facts.get("evaluation") == "genai"
    runs = plural(int(f.facts.get("runs") or 0), "evaluation run" if genai else "run")
    thing = f"the {f.subject} LLM application" if genai else f.subject
    before, after = format_pair(m.before, m.after, m.unit)
    improvement = float(f.facts.get("improvement") or 0.0)
    if improvement > 0:
        side = "above" if f.facts.get("direction", "up") == "up" else "below"
        bar = float(f.facts.get("bar") or 0.0)
        statement = (f"Tested {idea} on {thing} over {runs}: the best {label} ({after}) was only "
                     f"{format_percent(improvement, signed=False)} {side} the {before} baseline, under the "
                     f"{format_percent(bar, signed=False)} bar, so the baseline stands.")
    elif improvement == 0:
        statement = (f"Ruled out {idea} on {thing} after {runs}: the best {label} only matched the baseline "
                     f"of {before}.")
    else:
        statement = (f"Ruled out {idea} on {thing} after {runs}: none beat the baseline {label} of {before} "
                     f"(best {after}).")
    prompt = ("Which hypothesis did these runs test, and what did settling it save the team "
              "(weeks of work, compute, a direction not taken)?")
    return statement, prompt


def word_model_promoted(story: Story) -> tuple[str, str]:
    f, names = story.primary, story.names
    facts = f.facts
    target = str(facts.get("target") or "serving")
    with_metric = ""
    if f.metrics and f.metrics[0].after is not None:
        m = f.metrics[0]
        with_metric = f", with {names.label(m.name)} {format_value(m.after, m.unit)} on its source run"
    if target.lower() in PRE_SERVING:
        statement = f"Promoted {facts.get('model') or f.subject} v{facts.get('version')} to {target}{with_metric}."
    else:
        statement = f"Shipped {where_shipped(facts, f.subject)}{with_metric}."
    prompt = ("What changed in production after this release? Add the online metric (CTR, latency, error rate) "
              "and the business effect once they are known.")
    return statement, prompt


