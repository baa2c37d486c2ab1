"""The pages of `harvester serve`: inbox, draft, journal and report, and the forms that change a
draft. Each change is the store call the CLI makes for it (recorded `via web`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from harvester.errors import HarvesterError, StateError
from harvester.models import DRAFT_STATUSES
from harvester.safe_text import one_line

if TYPE_CHECKING:
    from harvester.web.app import Site

VIA = "web"


class FormError(HarvesterError):
    """A form filled in a way the change cannot use (an empty wording, an unreadable date)."""


def safe_next(value: str | None, default: str) -> str:
    """Where to go after a form: a path of this site only, never another host."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return default


def read_filters(args) -> dict:
    from harvester.timeutil import parse_past

    status = args.get("status", "pending")
    if status not in (*DRAFT_STATUSES, "all"):
        raise FormError(f"Unknown status {status!r}; pick one of {', '.join(DRAFT_STATUSES)} or all.")
    since = (args.get("since") or "").strip()
    start = parse_past(since, "since") if since else None  # a ConfigError when unreadable: a 400 page
    return {"status": status, "kind": args.get("kind", ""), "source": args.get("source", ""), "since": since,
            "start": start}


def register(web, site: "Site") -> None:
    from flask import flash, redirect, request

    def list_inbox(filters: dict):
        statuses = None if filters["status"] == "all" else [filters["status"]]
        return site.store.list_drafts(statuses, since=filters["start"],
                                      kinds=[filters["kind"]] if filters["kind"] else (),
                                      sources=[filters["source"]] if filters["source"] else ())

    def done(message: str, draft_id: int, undo: bool = False):
        """Back to the page the form names, with the message (and an Undo button for a decision)."""
        flash(message, f"undo:{draft_id}" if undo else "message")
        return redirect(safe_next(request.form.get("next"), f"/drafts/{draft_id}"), code=303)

    @web.get("/")
    def inbox():
        filters = read_filters(request.args)
        drafts = list_inbox(filters)
        every = site.store.list_drafts()
        at = request.args.get("at", "0")
        selected = min(int(at), len(drafts) - 1) if at.isdigit() and drafts else 0
        query = {k: filters[k] for k in ("status", "kind", "source", "since") if filters[k] and
                 (k != "status" or filters[k] != "pending")}
        return site.render("inbox.html.j2", drafts=drafts, filters=filters, query=query, selected=selected,
                           kinds=sorted({d.kind for d in every}), sources=sorted({d.source for d in every}),
                           statuses=(*DRAFT_STATUSES, "all"))

    @web.get("/drafts/<int:draft_id>")
    def show_draft(draft_id: int):
        from harvester.cli.review import asks_for_outcome

        draft = site.store.get_draft(draft_id)
        pending = [d.id for d in site.store.list_drafts(["pending"])]
        index = pending.index(draft_id) if draft_id in pending else None
        entry = (next((e for e in site.store.list_entries() if e.draft_id == draft_id), None)
                 if draft.status == "confirmed" else None)
        return site.render("draft.html.j2", d=draft, history=site.store.history("draft", draft_id), entry=entry,
                           asks_outcome=asks_for_outcome(draft.kind), dimensions=site.config.framework.dimensions,
                           previous_id=pending[index - 1] if index else None,
                           next_id=pending[index + 1] if index is not None and index + 1 < len(pending) else None)

    @web.post("/drafts/<int:draft_id>/confirm")
    def confirm(draft_id: int):
        text = (request.form.get("text") or "").strip()
        entry = site.store.confirm_draft(draft_id, text or None, via=VIA)
        return done(f"Confirmed #{draft_id} as journal entry {entry.id}.", draft_id, undo=True)

    @web.post("/drafts/<int:draft_id>/edit")
    def edit(draft_id: int):
        text = (request.form.get("text") or "").strip()
        if not text:
            raise FormError("The wording is empty; the draft was not changed.")
        if text == site.store.get_draft(draft_id).statement.strip():
            return done("No change.", draft_id)
        site.store.edit_draft(draft_id, text, via=VIA)
        return done(f"Draft #{draft_id} updated.", draft_id)

    @web.post("/drafts/<int:draft_id>/reject")
    def reject(draft_id: int):
        reason = (request.form.get("reason") or "").strip()
        site.store.reject_drafts([draft_id], reason or None, via=VIA)
        return done(f"Rejected #{draft_id}.", draft_id, undo=True)

    @web.post("/drafts/<int:draft_id>/restore")
    def restore(draft_id: int):
        before = site.store.get_draft(draft_id).status
        site.store.restore_drafts([draft_id], via=VIA)
        removed = " (its journal entry is deleted)" if before == "confirmed" else ""
        return done(f"Restored #{draft_id} to pending{removed}.", draft_id)

    @web.post("/drafts/<int:draft_id>/tags")
    def tag(draft_id: int):
        from harvester.drafting.tags import apply_changes, parse_changes

        draft = site.store.get_draft(draft_id)
        if draft.status == "confirmed":
            raise StateError(f"Draft {draft_id} is confirmed; tag its journal entry: "
                             f"`harvester tag ENTRY_ID +DIM` (`harvester journal` lists the ids).")
        changes = tuple((request.form.get("changes") or "").split())
        added, removed = parse_changes(changes, draft.tags, site.config.framework.ids)
        tags = apply_changes(draft.tags, added, removed)
        if tags == list(draft.tags):
            return done("Tags unchanged.", draft_id)
        site.store.set_draft_tags(draft_id, tags, via=VIA)
        return done(f"Draft #{draft_id} tags: {one_line(', '.join(tags)) or '(none)'}", draft_id)

    @web.post("/drafts/<int:draft_id>/outcome")
    def answer_outcome(draft_id: int):
        from harvester.cli.review import asks_for_outcome

        draft = site.store.get_draft(draft_id)
        if not asks_for_outcome(draft.kind):
            raise StateError(f"A {draft.kind} draft has no outcome to record; confirm it instead.")
        answer = (request.form.get("outcome") or "").strip()
        if not answer:
            raise FormError("The outcome is empty; nothing was recorded.")
        entry = site.store.confirm_draft(draft_id, outcome=answer, via=VIA)
        return done(f"Confirmed #{draft_id} as journal entry {entry.id}, outcome: {one_line(answer)}", draft_id,
                    undo=True)

    @web.get("/journal")
    def journal():
        since = (request.args.get("since") or "").strip()
        start = read_filters({"since": since})["start"]
        return site.render("journal.html.j2", entries=site.store.list_entries(since=start), since=since)

    @web.get("/report")
    def report():
        from harvester.cli.report import resolve_window
        from harvester.commands import command_prefix
        from harvester.report.build import build_report
        from harvester.report.formats import render_report

        period = (request.args.get("period") or "").strip()
        try:
            label, start, end = resolve_window(period or None, None, None)
        except click.UsageError as exc:
            raise FormError(exc.format_message()) from None
        config = site.config
        framework = config.framework
        level = config.rubric.level
        built = build_report(site.store, framework, since=start, until=end, period=label,
                             level=framework.level(level) if level else None, author=config.identity.name,
                             command=command_prefix(config))
        return site.render("report.html.j2", period=label, report_html=render_report(built, "html"))
