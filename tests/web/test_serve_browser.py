"""`harvester serve` in headless Chromium, on a store harvested from the built-in sample: the
buttons of a draft's page, a keyboard-driven review of the inbox, and source text that stays
inert on every page."""

from __future__ import annotations

import re

from tests.support.web import HOSTILE_STATEMENT, HOSTILE_SUBJECT


def pending_ids(server) -> list[int]:
    return [d.id for d in server.store.list_drafts(["pending"])]


def draft_by_fingerprint(server, fingerprint: str):
    return next(d for d in server.store.list_drafts() if d.fingerprint == fingerprint)


def test_the_printed_address_signs_in_and_shows_the_inbox(page, server):
    assert page.url == f"{server.url}/"
    rows = page.locator("li.draft")
    assert rows.count() == len(pending_ids(server)) == 6
    assert "selected" in (rows.first.get_attribute("class") or "")


def test_confirm_edit_reject_and_restore_by_clicking(page, server):
    store = server.store
    first, second = pending_ids(server)[:2]
    page.goto(f"{server.url}/drafts/{second}")
    page.fill("#edit textarea[name=text]", "Raised fraud recall to 0.87 on the holdout month.")
    page.click("#edit button[type=submit]")
    assert page.locator(".message").inner_text() == f"Draft #{second} updated."
    assert store.get_draft(second).statement == "Raised fraud recall to 0.87 on the holdout month."
    assert store.get_draft(second).edited

    page.click("form[data-key=c] button")  # confirm: the next pending draft opens
    entry = next(e for e in store.list_entries() if e.draft_id == second)
    assert entry.text == "Raised fraud recall to 0.87 on the holdout month."
    assert f"Confirmed #{second} as journal entry {entry.id}." in page.locator(".message").inner_text()

    page.goto(f"{server.url}/drafts/{first}")
    page.fill("form[data-key=r] input[name=reason]", "a colleague's work")
    page.click("form[data-key=r] button")
    assert store.get_draft(first).status == "rejected" and store.get_draft(first).reason == "a colleague's work"

    page.goto(f"{server.url}/drafts/{first}")
    assert page.locator(".status").inner_text() == "rejected"
    page.click("form[data-key=u] button")
    assert store.get_draft(first).status == "pending"
    page.goto(f"{server.url}/drafts/{second}")
    page.click("form[data-key=u] button")
    assert store.get_draft(second).status == "pending"
    assert all(e.draft_id != second for e in store.list_entries())
    history = page.locator("ol.history").inner_text()
    assert "edited (via web)" in history and "confirmed (via web)" in history and "restored (via web)" in history


def test_tags_and_the_impact_answer_from_the_draft_page(page, server):
    store = server.store
    lift = draft_by_fingerprint(server, "extra-lift")
    page.goto(f"{server.url}/drafts/{lift.id}")
    page.fill("#tags input[name=changes]", "+efficiency -model-performance")
    page.click("#tags button")
    assert store.get_draft(lift.id).tags == ("efficiency",)
    page.fill("#tags input[name=changes]", "+no-such-dimension")
    page.click("#tags button")
    assert "no-such-dimension" in page.locator(".error").inner_text()
    page.goto(f"{server.url}/drafts/{lift.id}")
    page.fill("#outcome input[name=outcome]", "Churn down 2 points in the retention A/B test")
    page.click("#outcome button")
    entry = next(e for e in store.list_entries() if e.draft_id == lift.id)
    assert entry.outcome == "Churn down 2 points in the retention A/B test"


def test_a_keyboard_review_of_five_drafts(page, server):
    store = server.store
    ids = pending_ids(server)
    page.keyboard.press("?")
    assert page.locator("#keys-help").is_visible()
    page.keyboard.press("Escape")
    decided = {}
    for key, draft_id in zip(["c", "c", "r", "j", "c"], ids[:5]):
        if key == "j":
            page.keyboard.press("j")
            decided[draft_id] = "pending"
            continue
        with page.expect_navigation():
            page.keyboard.press(key)
        decided[draft_id] = "confirmed" if key == "c" else "rejected"
    assert {i: store.get_draft(i).status for i in ids[:5]} == decided
    # The inbox kept its place: the one draft left selected is the sixth, the skipped one above it.
    assert [int(x) for x in page.locator("li.draft").evaluate_all("rows => rows.map(r => r.dataset.id)")] \
        == [ids[3], ids[5]]
    assert page.locator("li.draft.selected").get_attribute("data-id") == str(ids[5])
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/drafts/{ids[3]}$"))
    page.keyboard.press("e")
    assert page.evaluate("document.activeElement.name") == "text"
    page.keyboard.press("Escape")
    with page.expect_navigation():
        page.keyboard.press("r")  # focuses the reason; Enter sends it
        page.keyboard.type("duplicate")
        page.keyboard.press("Enter")
    assert store.get_draft(ids[3]).status == "rejected" and store.get_draft(ids[3]).reason == "duplicate"


def test_source_text_stays_inert_on_every_page(page, server):
    hostile = draft_by_fingerprint(server, "extra-hostile")
    pages = ["/", "/?status=all", f"/drafts/{hostile.id}"]
    for path in pages:
        page.goto(server.url + path)
        assert page.evaluate("window.__pwned") is None, path
        assert page.locator("img").count() == 0 and page.locator("script:not([src])").count() == 0, path
    page.goto(f"{server.url}/drafts/{hostile.id}")
    assert page.locator("h1.statement").inner_text() == HOSTILE_STATEMENT
    assert HOSTILE_SUBJECT in page.locator(".meta").first.inner_text()
    assert page.locator("a[href^='javascript']").count() == 0
    page.click("form[data-key=c] button")
    for path in ["/journal", "/report?period=" + hostile.occurred_at.strftime("%Y"), "/?status=confirmed"]:
        page.goto(server.url + path)
        assert page.evaluate("window.__pwned") is None, path
        assert page.locator("img").count() == 0, path
    page.goto(f"{server.url}/journal")
    assert HOSTILE_STATEMENT in page.locator("ol.entries").inner_text()
    page.goto(f"{server.url}/report?period={hostile.occurred_at:%Y}")
    report = page.frame_locator("iframe.report")
    assert "from 0.81 to 0.87" in report.locator("body").inner_text()
    assert report.locator("img").count() == 0
    assert page.dialogs == []


def test_the_pages_fit_a_phone(browser, server):
    from tests.support.browser import MEASURE

    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    try:
        page.goto(server.sign_in_url())
        draft_id = pending_ids(server)[0]
        for path in ["/", f"/drafts/{draft_id}", "/journal", "/report"]:
            page.goto(server.url + path)
            measured = page.evaluate(MEASURE)
            assert measured["scrollWidth"] <= 390, (path, measured)
    finally:
        context.close()


def test_u_undoes_the_last_confirm_or_reject(page, server):
    store = server.store
    first, second = pending_ids(server)[:2]
    with page.expect_navigation():
        page.keyboard.press("c")
    assert store.get_draft(first).status == "confirmed"
    assert "Undo (u)" in page.locator(".message").inner_text()
    with page.expect_navigation():
        page.keyboard.press("u")
    assert store.get_draft(first).status == "pending"
    assert "(its journal entry is deleted)" in page.locator(".message").inner_text()
    assert page.locator("li.draft").count() == 6
    page.goto(f"{server.url}/drafts/{second}")
    page.keyboard.press("r")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # the reason left empty
    assert store.get_draft(second).status == "rejected"
    with page.expect_navigation():
        page.keyboard.press("u")  # on the next draft's page: the message's Undo
    assert store.get_draft(second).status == "pending"
