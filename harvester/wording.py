"""Turn a finding into an impact statement (action + specific work + measurable result)
and a prompt for the outcome the tool cannot see. One function per finding kind."""

from __future__ import annotations

from typing import Callable

from harvester.models import Finding, Metric

Wording = Callable[[Finding], tuple[str, str]]
WORDINGS: dict[str, Wording] = {}


def words_for(kind: str):
    def register(fn: Wording) -> Wording:
        WORDINGS[kind] = fn
        return fn

    return register


def word_finding(finding: Finding) -> tuple[str, str]:
    fn = WORDINGS.get(finding.kind, word_generic)
    return fn(finding)


def format_number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "?"
    if unit == "USD":
        return f"${value:,.2f}" if abs(value) < 1000 else f"${value:,.0f}"
    text = f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if "e" in text:
        text = f"{value:.6f}".rstrip("0").rstrip(".")
    return f"{text} {unit}" if unit and unit != "USD" else text


def format_change(metric: Metric) -> str:
    change = metric.relative_change
    return "" if change is None else f" ({change * 100:+.1f}%)"


def describe_metric(metric: Metric) -> str:
    return (f"{metric.name} from {format_number(metric.before, metric.unit)} to "
            f"{format_number(metric.after, metric.unit)}{format_change(metric)}")


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@words_for("metric_lift")
def word_metric_lift(f: Finding) -> tuple[str, str]:
    m = f.metrics[0]
    statement = (f"Improved {m.name} of {f.subject} from {format_number(m.before)} to {format_number(m.after)}"
                 f"{format_change(m)} over {plural(int(f.facts.get('runs', 0)), 'tracked run')} "
                 f"(against the {f.facts.get('baseline_kind')}).")
    prompt = (f"What did this {m.name} lift translate to: an online or system metric (CTR, precision at the "
              f"serving threshold, alerts avoided) or a business number (revenue, losses prevented, hours saved)?")
    return statement, prompt


@words_for("experiment_campaign")
def word_experiment_campaign(f: Finding) -> tuple[str, str]:
    m = f.metrics[0]
    explored = f.facts.get("explored") or []
    idea = f"changes to {', '.join(explored)}" if explored else "a line of experiments"
    statement = (f"Ruled out {idea} on {f.subject} after {plural(int(f.facts.get('runs', 0)), 'tracked run')}: "
                 f"the best {m.name} ({format_number(m.after)}) did not beat the {f.facts.get('baseline_kind')} "
                 f"({format_number(m.before)}).")
    prompt = ("Which hypothesis did these runs test, and what did settling it save the team "
              "(weeks of work, compute, a direction not taken)?")
    return statement, prompt


@words_for("model_promoted")
def word_model_promoted(f: Finding) -> tuple[str, str]:
    target = f.facts.get("target") or "serving"
    previous = f.facts.get("previous_version")
    replacing = f" (replacing v{previous})" if previous and str(previous) != str(f.facts.get("version")) else ""
    with_metric = ""
    if f.metrics:
        with_metric = " with " + ", ".join(f"{m.name} {format_number(m.after)}" for m in f.metrics)
    statement = f"Promoted {f.subject} v{f.facts.get('version')} to {target}{replacing}{with_metric}."
    prompt = ("What changed in production after this release? Add the online metric (CTR, latency, error rate) "
              "and the business effect once they are known.")
    return statement, prompt


def word_efficiency(verb: str, prompt: str) -> Wording:
    def word(f: Finding) -> tuple[str, str]:
        head, *rest = f.metrics
        also = "; also " + "; ".join(describe_metric(m) for m in rest) if rest else ""
        statement = (f"{verb} {describe_metric(head)} on {f.subject}{also}, "
                     f"measured over {plural(int(f.facts.get('runs', 0)), 'tracked run')}.")
        return statement, prompt

    return word


WORDINGS["latency_reduction"] = word_efficiency(
    "Cut", "Which service or users got faster, and what did it unlock (an SLA met, fewer machines, better conversion)?")
WORDINGS["cost_reduction"] = word_efficiency(
    "Reduced", "What does this come to per month or per year at production volume, and who budgets for it?")


def word_generic(f: Finding) -> tuple[str, str]:
    statement = str(f.facts.get("statement") or f"{f.kind.replace('_', ' ').capitalize()}: {f.subject}.")
    return statement, str(f.facts.get("impact_prompt") or "What outcome did this produce for users or the business?")
