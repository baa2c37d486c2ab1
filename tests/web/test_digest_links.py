"""One click from the weekly digest: with [serve] url set, each draft in the mail has Confirm /
Edit / Reject links. A link opens a page with one button (the GET changes nothing); the button
acts once. Replayed, expired, forged and other members' links are refused."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from harvester.models import utcnow
from harvester.web.links import sign_link
from tests.support.cli import run_cli
from tests.support.smtp import parts_of, smtp_server

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def send_digest(server, config_path: str, smtp_port: int, serve_url: str | None) -> dict[str, str]:
    text = Path(config_path).read_text(encoding="utf-8")
    text += f"""
[digest]
to = ["ada@example.com"]
from = "harvester@example.com"
host = "127.0.0.1"
port = {smtp_port}
security = "none"
command = "harvester"
"""
    if serve_url:
        text += f'\n[serve]\nurl = "{serve_url}"\n'
    Path(config_path).write_text(text, encoding="utf-8")
    result = run_cli("--config", config_path, "digest", "--send")
    assert result.exit_code == 0, result.output


def mailed_parts(web_config, server, serve_url):
    with smtp_server() as sink:
        send_digest(server, web_config, sink.port, serve_url)
    [mail] = sink.received
    return parts_of(mail.message)


def link_in(text: str, action: str, draft_id: int) -> str:
    block = text.split(f"\n#{draft_id} ", 1)[1].split("\n\n", 1)[0]
    return re.search(rf"{action.capitalize()} in the browser: +(\S+)", block).group(1)


def test_a_digest_link_confirms_a_draft_in_two_clicks(browser, server, web_config):
    draft = server.store.list_drafts(["pending"])[0]
    parts = mailed_parts(web_config, server, server.url)
    url = link_in(parts["text/plain"], "confirm", draft.id)
    assert url.startswith(f"{server.url}/act/") and f'href="{url}"' in parts["text/html"]
    assert f"harvester drafts confirm {draft.id}" in parts["text/plain"]  # the fallback stays

    context = browser.new_context()  # the phone the mail is read on: never signed in
    page = context.new_page()
    try:
        page.goto(url)  # click one: the link (a GET) shows the draft and one button
        assert page.locator("h1").inner_text() == "Confirm this draft"
        assert server.store.get_draft(draft.id).status == "pending"
        page.click("form.act button")  # click two
        assert page.locator(".message").inner_text().startswith(f"Confirmed #{draft.id} as journal entry")
        assert server.store.get_draft(draft.id).status == "confirmed"
        assert server.store.history("draft", draft.id)[-1].via == "digest link"

        page.goto(url)  # the same link again
        assert "used already" in page.locator(".error").inner_text()
    finally:
        context.close()


def test_edit_and_reject_links(browser, server, web_config):
    first, second = [d.id for d in server.store.list_drafts(["pending"])[:2]]
    text = mailed_parts(web_config, server, server.url)["text/plain"]
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(link_in(text, "edit", first))
        page.fill("textarea[name=text]", "Raised fraud recall to 0.87.")
        page.click("form.act button")
        assert server.store.get_draft(first).statement == "Raised fraud recall to 0.87."
        page.goto(link_in(text, "reject", second))
        page.fill("input[name=reason]", "not mine")
        page.click("form.act button")
        assert server.store.get_draft(second).status == "rejected"
        assert server.store.get_draft(second).reason == "not mine"
    finally:
        context.close()


def test_opening_a_link_changes_nothing_and_a_replayed_post_is_refused(server):
    draft_id = server.store.list_drafts(["pending"])[0].id
    url = f"{server.url}/act/{sign_link(server.site.secret, 'confirm', draft_id, server.store.owner, 14)}"
    for _ in range(3):  # a mail scanner fetching the link
        assert requests.get(url, timeout=10).status_code == 200
    assert server.store.get_draft(draft_id).status == "pending"
    page = requests.get(url, timeout=10).text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert requests.post(url, data={"csrf": "0" * 64}, timeout=10).status_code == 403
    assert server.store.get_draft(draft_id).status == "pending"
    assert requests.post(url, data={"csrf": csrf}, timeout=10).status_code == 200
    assert server.store.get_draft(draft_id).status == "confirmed"
    server.store.restore_draft(draft_id)
    replay = requests.post(url, data={"csrf": csrf}, timeout=10)
    assert replay.status_code == 403 and "used already" in replay.text
    assert server.store.get_draft(draft_id).status == "pending"


def test_expired_forged_and_foreign_links_are_refused(server):
    draft_id = server.store.list_drafts(["pending"])[0].id
    secret, owner = server.site.secret, server.store.owner
    expired = sign_link(secret, "confirm", draft_id, owner, 14, now=utcnow() - timedelta(days=15))
    answer = requests.get(f"{server.url}/act/{expired}", timeout=10)
    assert answer.status_code == 403 and "expired" in answer.text and "drafts list" in answer.text
    assert requests.post(f"{server.url}/act/{expired}", data={"csrf": "x"}, timeout=10).status_code == 403
    forged = sign_link(b"another install's secret" * 2, "confirm", draft_id, owner, 14)
    assert requests.get(f"{server.url}/act/{forged}", timeout=10).status_code == 403
    valid = sign_link(secret, "confirm", draft_id, owner, 14)
    tampered = valid[:-3] + ("AAA" if not valid.endswith("AAA") else "BBB")
    assert requests.get(f"{server.url}/act/{tampered}", timeout=10).status_code == 403
    foreign = sign_link(secret, "confirm", draft_id, "bob@example.com", 14)
    assert requests.get(f"{server.url}/act/{foreign}", timeout=10).status_code == 404
    missing = sign_link(secret, "confirm", 9999, owner, 14)
    assert requests.get(f"{server.url}/act/{missing}", timeout=10).status_code == 404
    assert server.store.get_draft(draft_id).status == "pending"


def test_without_a_serve_url_the_digest_has_no_links(server, web_config):
    parts = mailed_parts(web_config, server, None)
    assert "/act/" not in parts["text/plain"] and "/act/" not in parts["text/html"]
    assert "in the browser" not in parts["text/plain"]
