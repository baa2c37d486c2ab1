"""The digest's links: GET shows the draft and one button (mail scanners fetch links, so a GET
never changes anything); the button's POST checks the link again, acts, and uses it up. A link
is its own credential: no session cookie is needed, only the token and its page's CSRF token."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harvester.errors import NotFoundError
from harvester.web.links import LinkRefusedError, load_used_links, read_link, record_used_link
from harvester.web.secret import csrf_token, tokens_match

if TYPE_CHECKING:
    from harvester.web.app import Site

VIA = "digest link"
TITLES = {"confirm": "Confirm this draft", "edit": "Reword this draft", "reject": "Reject this draft"}


def register(web, site: "Site") -> None:
    from flask import request

    def check(token: str):
        link = read_link(site.secret, token, load_used_links(site.base_store))
        store = site.store_for_link(link.owner)
        if store is None:
            raise NotFoundError("No such draft here.")
        return link, store, store.get_draft(link.draft_id)

    def refused(exc: LinkRefusedError):
        from harvester.commands import command_prefix

        return site.render("error.html.j2", status=403, title="This link cannot be used",
                           message=f"{exc} The digest lists the command to run instead, e.g. "
                                   f"`{command_prefix(site.config)} drafts list`.")

    @web.get("/act/<token>")
    def open_link(token: str):
        try:
            link, store, draft = check(token)
        except LinkRefusedError as exc:
            return refused(exc)
        return site.render("act.html.j2", link=link, d=draft, title=TITLES[link.action],
                           link_csrf=csrf_token(site.secret, f"link:{link.link_id}"), token=token)

    @web.post("/act/<token>")
    def use_link(token: str):
        try:
            link, store, draft = check(token)
        except LinkRefusedError as exc:
            return refused(exc)
        if not tokens_match(request.form.get("csrf"), csrf_token(site.secret, f"link:{link.link_id}")):
            return site.render("error.html.j2", status=403, title="Refused",
                               message="The form's security token is missing or wrong. Open the link again.")
        if link.action == "confirm":
            entry = store.confirm_draft(draft.id, via=VIA)
            message = f"Confirmed #{draft.id} as journal entry {entry.id}."
        elif link.action == "reject":
            reason = (request.form.get("reason") or "").strip()
            store.reject_drafts([draft.id], reason or None, via=VIA)
            message = f"Rejected #{draft.id}."
        else:
            text = (request.form.get("text") or "").strip()
            if not text:
                return site.render("error.html.j2", status=400, title="Not done",
                                   message="The wording is empty; the draft was not changed. Open the link again.")
            store.edit_draft(draft.id, text, via=VIA)
            message = f"Draft #{draft.id} updated."
        record_used_link(site.base_store, link)
        return site.render("act_done.html.j2", message=message, d=store.get_draft(draft.id))
