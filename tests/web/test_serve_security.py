"""The security model of `harvester serve`, over plain HTTP: the secret file, the one-time
sign-in, the session cookie every page requires, the CSRF token every change carries, 404 for
a draft that is not there, and source text escaped in every page."""

from __future__ import annotations

import html
import stat

import pytest
import requests
from markupsafe import escape

from harvester.web.app import COOKIE_NAME
from harvester.web.secret import secret_path
from tests.support.web import HOSTILE_STATEMENT, HOSTILE_SUBJECT


@pytest.fixture
def client(server):
    """A requests session signed in through the one-time address."""
    session = requests.Session()
    answer = session.get(server.sign_in_url(), allow_redirects=False, timeout=10)
    assert answer.status_code == 303 and COOKIE_NAME in session.cookies
    return session


def csrf_of(session, url: str) -> str:
    text = session.get(url, timeout=10).text
    return text.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_the_secret_is_created_once_with_mode_0600(server):
    path = secret_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    from harvester.web.secret import load_secret

    assert load_secret() == server.site.secret


def test_the_sign_in_address_works_once_and_sets_a_strict_cookie(server):
    url = server.sign_in_url()
    first = requests.get(url, allow_redirects=False, timeout=10)
    assert first.status_code == 303
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    again = requests.get(url, allow_redirects=False, timeout=10)
    assert again.status_code == 403 and COOKIE_NAME not in again.headers.get("Set-Cookie", "")
    assert requests.get(f"{server.url}/sign-in?token=guess", timeout=10).status_code == 403


@pytest.mark.parametrize("path", ["/", "/drafts/1", "/journal", "/report"])
def test_without_the_cookie_every_page_is_refused(server, path):
    answer = requests.get(server.url + path, timeout=10)
    assert answer.status_code == 401
    assert "Not signed in" in answer.text and "serve" in answer.text


def test_a_wrong_cookie_is_refused(server):
    answer = requests.get(server.url + "/", cookies={COOKIE_NAME: "0" * 64}, timeout=10)
    assert answer.status_code == 401


def test_a_change_without_the_cookie_changes_nothing(server, client):
    draft_id = server.store.list_drafts(["pending"])[0].id
    token = csrf_of(client, server.url + "/")
    answer = requests.post(f"{server.url}/drafts/{draft_id}/confirm", data={"csrf": token}, timeout=10)
    assert answer.status_code == 401
    assert server.store.get_draft(draft_id).status == "pending"


@pytest.mark.parametrize("token", [None, "", "0" * 64])
def test_a_wrong_csrf_token_is_403_and_changes_nothing(server, client, token):
    draft_id = server.store.list_drafts(["pending"])[0].id
    data = {} if token is None else {"csrf": token}
    for action in ("confirm", "reject", "edit", "tags"):
        answer = client.post(f"{server.url}/drafts/{draft_id}/{action}", data={**data, "text": "x"}, timeout=10)
        assert answer.status_code == 403, action
    assert server.store.get_draft(draft_id).status == "pending"
    assert server.store.history("draft", draft_id) == []


def test_a_get_never_changes_a_draft(server, client):
    draft_id = server.store.list_drafts(["pending"])[0].id
    assert client.get(f"{server.url}/drafts/{draft_id}/confirm", timeout=10).status_code == 405
    assert server.store.get_draft(draft_id).status == "pending"


def test_a_draft_that_is_not_there_is_404(server, client):
    token = csrf_of(client, server.url + "/")
    assert client.get(f"{server.url}/drafts/9999", timeout=10).status_code == 404
    assert client.post(f"{server.url}/drafts/9999/confirm", data={"csrf": token}, timeout=10).status_code == 404


def test_a_form_never_redirects_off_the_site(server, client):
    draft_id = server.store.list_drafts(["pending"])[0].id
    token = csrf_of(client, server.url + "/")
    answer = client.post(f"{server.url}/drafts/{draft_id}/tags",
                         data={"csrf": token, "changes": "", "next": "//evil.example.com/"},
                         allow_redirects=False, timeout=10)
    assert answer.status_code == 303 and answer.headers["Location"] == f"/drafts/{draft_id}"


def test_a_decided_draft_answers_409_with_the_reason(server, client):
    draft_id = server.store.list_drafts(["pending"])[0].id
    server.store.confirm_draft(draft_id)
    token = csrf_of(client, server.url + "/")
    answer = client.post(f"{server.url}/drafts/{draft_id}/confirm", data={"csrf": token}, timeout=10)
    assert answer.status_code == 409 and "only pending drafts can be confirmed" in answer.text


def test_pages_forbid_inline_script_and_framing(server, client):
    headers = client.get(server.url + "/", timeout=10).headers
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline'; img" in policy
    assert headers["Referrer-Policy"] == "no-referrer"


def test_source_html_is_escaped_in_every_page(server, client):
    hostile = next(d for d in server.store.list_drafts() if d.fingerprint == "extra-hostile")
    pages = ["/", f"/drafts/{hostile.id}"]
    for path in pages:
        text = client.get(server.url + path, timeout=10).text
        assert "<img" not in text and "<script>window" not in text and 'href="javascript' not in text, path
        assert str(escape(HOSTILE_SUBJECT)) in text, path
    assert str(escape(HOSTILE_STATEMENT)) in client.get(f"{server.url}/drafts/{hostile.id}").text
    from harvester.web.links import sign_link

    for action in ("confirm", "edit", "reject"):
        token = sign_link(server.site.secret, action, hostile.id, server.store.owner, 1)
        text = requests.get(f"{server.url}/act/{token}", timeout=10).text
        assert "<img" not in text and "<script>window" not in text and str(escape(HOSTILE_STATEMENT)) in text, action
    server.store.confirm_draft(hostile.id)
    for path in ["/journal", f"/report?period={hostile.occurred_at:%Y}"]:
        text = client.get(server.url + path, timeout=10).text
        assert "<img" not in text and "<script>window" not in text, path


@pytest.mark.parametrize("path, message", [
    ("/?since=soon", "Cannot read"), ("/?status=maybe", "Unknown status 'maybe'"),
    ("/report?period=H3", "Cannot read the period 'H3'"), ("/journal?since=2999-01-01", "is in the future"),
])
def test_a_filter_it_cannot_read_is_a_400_page_naming_the_fix(server, client, path, message):
    answer = client.get(server.url + path, timeout=10)
    assert answer.status_code == 400 and message in html.unescape(answer.text)


def test_a_secret_others_can_read_is_refused_with_the_fix(server):
    from harvester.errors import HarvesterError
    from harvester.web.secret import load_secret

    path = secret_path()
    path.chmod(0o644)
    with pytest.raises(HarvesterError, match=r"can be read by other users \(mode 0644\).*chmod 600"):
        load_secret()
