"""Team mode behind a reverse proxy: the member is the one the proxy names in [serve]
user_header, believed only from trusted_proxies; each sees and changes only their own drafts,
and another member's draft answers 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from harvester.models import Draft, utcnow
from harvester.store import open_store
from harvester.web.links import sign_link
from tests.support.cli import run_cli, write_config
from tests.support.web import running_server

HEADER = "X-Forwarded-Email"
ADA, BOB = "ada@example.com", "bob@example.com"


def team_config(tmp_path, serve: str) -> str:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    path = write_config(tmp_path / "team.toml", f"""\
[team]
name = "ml-platform"
[[team.members]]
name = "Ada"
email = "{ADA}"
[[team.members]]
name = "Bob"
email = "{BOB}"

[store]
url = "{url}"

[serve]
{serve}
""")
    for owner in (ADA, BOB):
        store = open_store(url, owner)
        try:
            store.save_draft(Draft(id=None, fingerprint=f"f-{owner}", status="pending", kind="metric_lift",
                                   source="mlflow", subject=f"{owner}'s model",
                                   occurred_at=utcnow() - timedelta(days=2),
                                   statement=f"Improved the AUC of {owner}'s model.", impact_prompt=""))
        finally:
            store.close()
    return str(path)


def draft_of(config_path: str, owner: str) -> int:
    from harvester.config import load_config

    store = open_store(load_config(config_path).store_url, owner)
    try:
        return store.list_drafts()[0].id
    finally:
        store.close()


def as_member(email: str) -> requests.Session:
    session = requests.Session()
    session.headers[HEADER] = email
    return session


def csrf_of(session, url: str) -> str:
    return session.get(url, timeout=10).text.split('name="csrf" value="', 1)[1].split('"', 1)[0]


@pytest.fixture
def proxied(tmp_path):
    config = team_config(tmp_path, f'user_header = "{HEADER}"\ntrusted_proxies = ["127.0.0.1"]')
    with running_server(config) as server:
        yield server, config


def test_each_member_sees_only_their_own_drafts(proxied):
    server, config = proxied
    ada_draft, bob_draft = draft_of(config, ADA), draft_of(config, BOB)
    ada = as_member(ADA)
    inbox = ada.get(server.url + "/", timeout=10).text
    assert "ada@example.com&#39;s model" in inbox and "bob@example.com" not in inbox
    assert ada.get(f"{server.url}/drafts/{ada_draft}", timeout=10).status_code == 200
    assert ada.get(f"{server.url}/drafts/{bob_draft}", timeout=10).status_code == 404
    token = csrf_of(ada, server.url + "/")
    assert ada.post(f"{server.url}/drafts/{bob_draft}/confirm", data={"csrf": token}, timeout=10).status_code == 404
    assert ada.post(f"{server.url}/drafts/{ada_draft}/confirm", data={"csrf": token}, timeout=10).status_code == 200
    assert "Improved the AUC of ada" in ada.get(server.url + "/journal", timeout=10).text
    bob = as_member(BOB)
    assert "Improved the AUC" not in bob.get(server.url + "/journal", timeout=10).text
    # A member's CSRF token is theirs only.
    assert bob.post(f"{server.url}/drafts/{bob_draft}/reject", data={"csrf": token}, timeout=10).status_code == 403
    store = open_store(server.config.store_url, BOB)
    try:
        assert store.get_draft(bob_draft).status == "pending"
        assert store.history("draft", bob_draft) == []
    finally:
        store.close()


@pytest.mark.parametrize("email, why", [(None, "passed no X-Forwarded-Email header"),
                                        ("eve@example.com", "eve@example.com is not a member of team ml-platform")])
def test_a_request_the_proxy_vouches_for_nobody_is_refused(proxied, email, why):
    server, _ = proxied
    session = as_member(email) if email else requests.Session()
    answer = session.get(server.url + "/", timeout=10)
    assert answer.status_code == 403 and why in answer.text


def test_the_header_is_believed_only_from_the_trusted_proxies(tmp_path):
    config = team_config(tmp_path, f'user_header = "{HEADER}"\ntrusted_proxies = ["10.0.0.0/24"]')
    with running_server(config) as server:
        answer = as_member(ADA).get(server.url + "/", timeout=10)
    assert answer.status_code == 403 and "accepted only through the proxy" in answer.text


def test_a_digest_link_works_for_its_member_only(proxied):
    server, config = proxied
    ada_draft = draft_of(config, ADA)
    url = f"{server.url}/act/{sign_link(server.site.secret, 'confirm', ada_draft, ADA, 14)}"
    assert as_member(BOB).get(url, timeout=10).status_code == 404
    assert as_member(ADA).get(url, timeout=10).status_code == 200


@pytest.mark.parametrize("serve, message", [
    ('user_header = "X-User"', "user_header is set but trusted_proxies is empty"),
    ('user_header = "X-User"\ntrusted_proxies = ["proxy.example.com"]', "'proxy.example.com', which is not an address"),
])
def test_a_proxy_setup_that_cannot_work_is_one_line(tmp_path, serve, message):
    result = run_cli("--config", team_config(tmp_path, serve), "serve", "--port", "0")
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_user_header_needs_a_team(tmp_path):
    path = write_config(tmp_path / "h.toml", f'[store]\nurl = "sqlite:///{tmp_path / "s.db"}"\n'
                                              '[serve]\nuser_header = "X-User"\ntrusted_proxies = ["127.0.0.1"]\n')
    result = run_cli("--config", str(path), "serve", "--port", "0")
    assert result.exit_code == 2 and "user_header signs team members in; add a [team] table" in result.output
