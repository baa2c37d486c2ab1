"""The "history:" lines `drafts show` and `journal show` end with: one change per line."""

from __future__ import annotations

from harvester.safe_text import one_line

DETAIL_WIDTH = 70


def describe_change(event) -> str:
    """A short detail of what changed, e.g. `tags: a -> a, b` or `"Old wording" -> "New wording"`."""
    before, after = dict(event.before or {}), dict(event.after or {})
    if event.action in ("edited", "entry-edited"):
        key = "statement" if "statement" in after else "text"
        return f"{shorten(before.get(key))!r} -> {shorten(after.get(key))!r}"
    if event.action == "tagged":
        return f"tags: {', '.join(before.get('tags') or ()) or '-'} -> {', '.join(after.get('tags') or ()) or '-'}"
    if event.action == "outcome":
        return shorten(after.get("outcome"))
    if event.action == "confirmed":
        return f"as journal entry {after.get('entry_id')}"
    if event.action == "rejected":
        return f"because: {shorten(after['reason'])}" if after.get("reason") else ""
    if event.action == "restored":
        ids = before.get("entry_ids")
        removed = f"; journal entry {', '.join(map(str, ids))} deleted" if ids else ""
        return f"was {before['status']}{removed}" if before.get("status") else "back in the journal"
    if event.action == "deleted":
        return after.get("reason") or ""
    if event.action == "created":
        return f"from draft {after['draft_id']}" if after.get("draft_id") else "logged by hand"
    return ""


def shorten(value) -> str:
    text = one_line(value if value is not None else "")
    return text if len(text) <= DETAIL_WIDTH else text[:DETAIL_WIDTH - 1] + "…"


def format_history_lines(events) -> list[str]:
    if not events:
        return []
    lines = ["  history:"]
    for e in events:
        detail = describe_change(e)
        via = f" (via {one_line(e.via)})" if e.via != "cli" else ""
        lines.append(f"    {e.changed_at:%Y-%m-%d %H:%M} UTC  {one_line(e.action)}{via}"
                     f"{'  ' + one_line(detail) if detail else ''}")
    return lines
