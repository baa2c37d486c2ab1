"""How a draft about a model or dataset on the Hugging Face Hub reads."""

from __future__ import annotations

from harvester.drafting.wording.numbers import plural, quoted
from harvester.drafting.wording.story import Story


def word_hub_release(story: Story) -> tuple[str, str]:
    """Published the model acme/fraud-detector on the Hugging Face Hub (3 revisions: "Add ONNX
    export", ...); 1,204 downloads and 17 likes so far."""
    f = story.primary
    repo_type = str(f.facts.get("repo_type") or "model")
    revisions = int(f.facts.get("revisions") or 0)
    titles = [t for t in (quoted(t, 80) for t in f.facts.get("titles") or ()) if t]
    verb = "Published" if f.facts.get("published") else "Updated"
    changes = plural(revisions, "revision")
    if titles:
        more = ", ..." if revisions > len(titles) else ""
        changes += ": " + ", ".join(titles) + more
    statement = f"{verb} the {repo_type} {f.subject} on the Hugging Face Hub ({changes})"
    outcome = outcome_of(f.facts)
    statement += f"; {outcome}." if outcome else "."
    what = "model" if repo_type == "model" else "dataset"
    prompt = (f"What did this {what} enable: who uses it, in which product or experiment, and what did it replace "
              "or make possible?")
    return statement, prompt


def counted(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def outcome_of(facts) -> str:
    """1,204 downloads and 17 likes so far; or, where the Hub gave only its 30-day count,
    1,204 downloads in the last 30 days and 17 likes."""
    downloads, likes = facts.get("downloads"), facts.get("likes")
    loads = counted(downloads, "download") if isinstance(downloads, int) else ""
    liked = counted(likes, "like") if isinstance(likes, int) else ""
    if loads and facts.get("downloads_window") != "all time":
        return f"{loads} in the last 30 days" + (f" and {liked}" if liked else "")
    return " and ".join(p for p in (loads, liked) if p) + (" so far" if loads or liked else "")
