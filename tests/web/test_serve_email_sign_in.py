"""Team mode with sign-in by e-mail: the link arrives through a real SMTP server, opens a page
whose button signs the browser in as that member only; it works once and expires, and the
form does not tell who is a member."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from harvester.models import utcnow
from tests.support.cli import run_cli
from tests.support.mlflow_server import free_port
from tests.support.smtp import parts_of, smtp_server
from tests.support.web import running_server
from tests.web.test_serve_team import ADA, BOB, draft_of, team_config

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def digest_table(port: int) -> str:
    return f'\n[digest]\nfrom = "harvester@example.com"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'


@pytest.fixture
def mailed(tmp_path):
    """The server with email_sign_in on a port chosen first (its url is in the config), and the SMTP sink."""
    port = free_port()
    with smtp_server() as sink:
        config = team_config(tmp_path, f'email_sign_in = true\nurl = "http://127.0.0.1:{port}"')
        Path(config).write_text(Path(config).read_text(encoding="utf-8") + digest_table(sink.port), encoding="utf-8")
        with running_server(config, port=port) as server:
            yield server, sink, config


def ask_for_link(server, email: str) -> requests.Response:
    form = requests.get(f"{server.url}/sign-in/email", timeout=10).text
    csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    return requests.post(f"{server.url}/sign-in/email", data={"csrf": csrf, "email": email}, timeout=10)


def test_a_member_signs_in_from_the_mailed_link_and_sees_only_their_drafts(mailed, browser):
    server, sink, config = mailed
    assert requests.get(server.url + "/", timeout=10).status_code == 401
    assert "a sign-in link is on its way" in ask_for_link(server, ADA.upper()).text
    [mail] = sink.received
    assert mail.rcpt_tos == [ADA]
    link = re.search(r"(http://\S+/sign-in/email/\S+)", parts_of(mail.message)["text/plain"]).group(1)
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(link)
        assert requests.get(server.url + "/", timeout=10).status_code == 401  # opening it signed nobody in
        page.click("form.act button")
        assert page.url == f"{server.url}/"
        assert "ada@example.com's model" in page.locator("#inbox").inner_text()
        assert "bob@" not in page.content()
        assert page.goto(f"{server.url}/drafts/{draft_of(config, BOB)}").status == 404
        page.goto(f"{server.url}/drafts/{draft_of(config, ADA)}")
        page.click("form[data-key=c] button")
        page.goto(link)  # once only
        assert "used already" in page.locator(".error").inner_text()
    finally:
        context.close()


def test_a_stranger_gets_the_same_answer_and_no_mail(mailed):
    server, sink, _ = mailed
    assert "a sign-in link is on its way" in ask_for_link(server, "eve@example.com").text
    assert sink.received == []


def test_an_expired_or_forged_sign_in_link_is_refused(mailed):
    server, _, _ = mailed
    member = server.site.team_access.team.members[0]
    expired = server.site.team_access.sign_link(member, now=utcnow() - timedelta(minutes=16))
    answer = requests.get(expired, timeout=10)
    assert answer.status_code == 403 and "expired" in answer.text
    forged = server.site.team_access.sign_link(member)[:-4] + "AAAA"
    assert requests.get(forged, timeout=10).status_code == 403
    assert requests.get(server.url + "/", cookies={"harvester_member": f"{ADA}:{'0' * 64}"},
                        timeout=10).status_code == 401


def test_email_sign_in_needs_a_team_a_url_and_a_sender(tmp_path):
    result = run_cli("--config", team_config(tmp_path, "email_sign_in = true"), "serve", "--port", "0")
    assert result.exit_code == 2 and "email_sign_in mails a link to url" in result.output
    result = run_cli("--config", team_config(tmp_path, 'email_sign_in = true\nurl = "http://h"'), "serve")
    assert result.exit_code == 2 and "email_sign_in sends its links with the digest's SMTP settings" in result.output


def test_a_digest_link_acts_for_the_member_it_was_mailed_to(mailed):
    from harvester.web.links import sign_link

    server, _, config = mailed
    ada_draft = draft_of(config, ADA)
    url = f"{server.url}/act/{sign_link(server.site.secret, 'confirm', ada_draft, ADA, 14)}"
    bob_cookie = server.site.team_access.member_cookie(server.site.team_access.team.members[1])
    assert requests.get(url, cookies={"harvester_member": bob_cookie}, timeout=10).status_code == 404
    page = requests.get(url, timeout=10)  # from the mail, not signed in: the link is the credential
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert requests.post(url, data={"csrf": csrf}, timeout=10).status_code == 200
    assert server.store.for_owner(ADA).get_draft(ada_draft).status == "confirmed"


def test_one_mail_a_minute_however_often_the_form_is_sent(mailed):
    server, sink, _ = mailed
    for _ in range(3):
        assert "a sign-in link is on its way" in ask_for_link(server, BOB).text
    assert len(sink.received) == 1
