"""The weekly digest, delivered to a real SMTP server on loopback."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from harvester.digest.model import CHECKINS_ASKED_KEY, LAST_SENT_KEY
from harvester.models import Draft, Evidence, Metric, utcnow
from harvester.store import schema
from tests.support.cli import run_cli, write_config
from tests.support.mlflow_server import free_port
from tests.support.smtp import make_certificate, parts_of, smtp_server

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

EVIL_STATEMENT = 'Improved <script>alert("x")</script> AUC of fraud-detector from 0.81 to 0.87 (+7.4%).'


def config_text(database_url: str, port: int, extra: str = "") -> str:
    return f"""\
[identity]
name = "Ada Example"
email = "ada@example.com"
handles = ["ada"]

[store]
url = "{database_url}"

[digest]
to = ["ada@example.com"]
from = "harvester@example.com"
host = "127.0.0.1"
port = {port}
security = "none"
command = "harvester"
{extra}
"""


def add_draft(store, fingerprint: str, kind: str, statement: str, evidence=(), tags=(), subject="fraud-detector",
              when: datetime | None = None) -> int:
    store.save_draft(Draft(
        id=None, fingerprint=fingerprint, status="pending", kind=kind, source="mlflow-prod", subject=subject,
        occurred_at=when or utcnow() - timedelta(days=2), statement=statement,
        impact_prompt="What did this lift translate to online?", metrics=(Metric("val_auc", 0.81, 0.87),),
        evidence=tuple(evidence), tags=tuple(tags)))
    return next(d.id for d in store.list_drafts(["pending"]) if d.fingerprint == fingerprint)


def backdate(store, table: sa.Table, row_id: int, days: int) -> None:
    when = utcnow() - timedelta(days=days)
    values = {"created_at": when, "updated_at": when}
    with store.engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == row_id).values(**values))


def confirmed_entry(store, fingerprint: str, kind: str, statement: str, weeks_ago: float) -> int:
    draft_id = add_draft(store, fingerprint, kind, statement,
                         evidence=[Evidence("https://mlflow.example.com/#/models/fraud-detector/versions/3", "v3")])
    entry = store.confirm_draft(draft_id)
    backdate(store, schema.entries, entry.id, int(weeks_ago * 7))
    return entry.id


@pytest.fixture
def seeded(store):
    """Two pending drafts (one hostile) and an entry due for an impact check-in."""
    lift = add_draft(store, "f-lift", "metric_lift", EVIL_STATEMENT, tags=["model-performance"], evidence=[
        Evidence("javascript:alert(document.cookie)", "<img src=x onerror=alert(1)>best run"),
        Evidence("https://mlflow.example.com/#/experiments/1/runs/abc?x=1&y=2", "best run")])
    latency = add_draft(store, "f-latency", "latency_reduction",
                        "Cut p99_latency_ms from 420 ms to 140 ms (-66.7%) on ranker-serving.",
                        tags=["efficiency"], subject="ranker-serving")
    checkin = confirmed_entry(store, "f-promo", "model_promoted", "Promoted fraud-detector v3 to champion.", 5)
    return {"lift": lift, "latency": latency, "checkin": checkin}


def test_digest_arrives_with_text_and_html_parts_commands_and_checkins(store, database_url, seeded, tmp_path):
    with smtp_server() as sink:
        cfg = write_config(tmp_path / "h.toml", config_text(database_url, sink.port))
        result = run_cli("--config", str(cfg), "digest", "--send")

    assert result.exit_code == 0, result.output
    assert "Sent the" in result.output and "2 drafts, 1 check-in." in result.output
    assert len(sink.received) == 1
    got = sink.received[0]
    assert got.rcpt_tos == ["ada@example.com"]
    assert got.mail_from == "harvester@example.com"
    assert got.message["To"] == "ada@example.com"
    assert re.fullmatch(r"\[harvester\] 2 drafts to confirm, 1 impact check-in \(week \d{4}-W\d\d\)",
                        got.message["Subject"])
    assert got.message.get_content_type() == "multipart/alternative"
    parts = parts_of(got.message)
    assert set(parts) == {"text/plain", "text/html"}
    for body in (parts["text/plain"], html.unescape(parts["text/html"])):
        for draft_id in (seeded["lift"], seeded["latency"]):
            assert f"harvester drafts confirm {draft_id}" in body
            assert f"harvester drafts edit {draft_id}" in body
            assert f"harvester drafts reject {draft_id}" in body
        assert f'harvester outcome {seeded["checkin"]} "..."' in body
        assert "Promoted fraud-detector v3 to champion." in body
        assert "Model metric lifts" in body and "Latency cuts" in body  # grouped by kind
        assert "Model performance outcomes" in body  # rubric tag by its dimension title
    assert EVIL_STATEMENT in parts["text/plain"]
    # the check-in is recorded as asked, and the send as done
    assert store.get_state(LAST_SENT_KEY)["drafts"] == 2
    assert str(seeded["checkin"]) in store.get_state(CHECKINS_ASKED_KEY)


def test_html_part_renders_untrusted_content_inert(store, database_url, seeded, tmp_path):
    with smtp_server() as sink:
        cfg = write_config(tmp_path / "h.toml", config_text(database_url, sink.port))
        assert run_cli("--config", str(cfg), "digest", "--send").exit_code == 0
    page = parts_of(sink.received[0].message)["text/html"]

    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "<img" not in page.lower()
    assert "&lt;img src=x onerror=alert(1)&gt;best run" in page  # shown as text
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs == ["https://mlflow.example.com/#/experiments/1/runs/abc?x=1&amp;y=2",
                     "https://mlflow.example.com/#/models/fraud-detector/versions/3"]
    assert "javascript:alert(document.cookie)" in page  # shown as text, never as a link
    assert not re.search(r"<[a-z]+[^>]*\s(src|on[a-z]+)=", page, re.I)  # no images, no event handlers


def test_links_go_through_the_one_url_filter_in_text_and_html():
    from harvester.digest.model import Digest, DraftGroup
    from harvester.digest.render import render_html, render_text

    now = datetime(2026, 11, 23, 3, 15, tzinfo=timezone.utc)
    draft = Draft(id=7, fingerprint="f", status="pending", kind="metric_lift", source="mlflow-prod", subject="s",
                  occurred_at=now, statement="Lifted.", impact_prompt="", evidence=(
                      Evidence("  https://mlflow.example.com/padded  ", "padded"),
                      Evidence("https://mlflow.example.com/in side", "inner space"),
                      Evidence("https://mlflow.example.com/a\tb", "inner tab")))
    digest = Digest(generated_at=now, since=now, week="2026-W48", command="harvester",
                    groups=[DraftGroup("metric_lift", "Model metric lifts", [draft])])
    page = render_html(digest)
    # Surrounding whitespace is stripped; whitespace or a control character inside never links.
    assert re.findall(r'href="([^"]*)"', page) == ["https://mlflow.example.com/padded"]
    assert "inner space (https://mlflow.example.com/in side)" in page
    assert "inner tab (https://mlflow.example.com/a b)" in page
    assert "evidence: padded: https://mlflow.example.com/padded\n" in render_text(digest)


def test_authentication_failure_is_one_clear_line_and_not_marked_sent(store, database_url, seeded, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setenv("SMTP_TEST_PASSWORD", "wrong-password-123")
    with smtp_server(user="ada", password="right-password") as sink:
        extra = 'username = "ada"\npassword_env = "SMTP_TEST_PASSWORD"'
        cfg = write_config(tmp_path / "h.toml", config_text(database_url, sink.port, extra))
        result = run_cli("--config", str(cfg), "digest", "--send")

    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "[digest]" in lines[0] and "rejected the login for username 'ada'" in lines[0]
    assert "password_env" in lines[0] and "535" in lines[0]
    assert "wrong-password-123" not in result.output
    assert "Traceback" not in result.output
    assert sink.received == []
    assert store.get_state(LAST_SENT_KEY) is None
    assert store.get_state(CHECKINS_ASKED_KEY) is None


def test_authenticated_send_delivers(store, database_url, seeded, tmp_path, monkeypatch):
    monkeypatch.setenv("SMTP_TEST_PASSWORD", "right-password")
    with smtp_server(user="ada", password="right-password") as sink:
        extra = 'username = "ada"\npassword_env = "SMTP_TEST_PASSWORD"'
        cfg = write_config(tmp_path / "h.toml", config_text(database_url, sink.port, extra))
        result = run_cli("--config", str(cfg), "digest", "--send")

    assert result.exit_code == 0, result.output
    assert sink.logins == ["ada"]
    assert len(sink.received) == 1
    assert store.get_state(LAST_SENT_KEY)["to"] == ["ada@example.com"]


def test_refused_connection_names_the_keys_and_is_not_marked_sent(store, database_url, seeded, tmp_path):
    closed = free_port()
    cfg = write_config(tmp_path / "h.toml", config_text(database_url, closed))
    result = run_cli("--config", str(cfg), "digest", "--send")

    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert f"cannot talk to the SMTP server 127.0.0.1:{closed}" in result.output
    assert "Check host, port and security" in result.output and "[digest]" in result.output
    assert store.get_state(LAST_SENT_KEY) is None


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_with_login_delivers(store, database_url, seeded, tmp_path, monkeypatch, security):
    """The secure paths end to end: TLS first (STARTTLS or implicit), then AUTH (which the
    STARTTLS server refuses before TLS). The server's certificate is trusted through SSL_CERT_FILE, as a private
    CA would be."""
    certificate = make_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", certificate.cert_file)
    monkeypatch.setenv("SMTP_TEST_PASSWORD", "right-password")
    with smtp_server(user="ada", password="right-password", tls=security, certificate=certificate) as sink:
        extra = 'username = "ada"\npassword_env = "SMTP_TEST_PASSWORD"'
        text = config_text(database_url, sink.port, extra).replace('security = "none"', f'security = "{security}"')
        cfg = write_config(tmp_path / "h.toml", text)
        result = run_cli("--config", str(cfg), "digest", "--send")

    assert result.exit_code == 0, result.output
    assert sink.logins == ["ada"] and len(sink.received) == 1
    assert set(parts_of(sink.received[0].message)) == {"text/plain", "text/html"}
    assert store.get_state(LAST_SENT_KEY) is not None


def test_untrusted_certificate_is_one_clear_line(store, database_url, seeded, tmp_path):
    certificate = make_certificate(tmp_path)  # not in SSL_CERT_FILE: the client must refuse it
    with smtp_server(tls="starttls", certificate=certificate) as sink:
        text = config_text(database_url, sink.port).replace('security = "none"', 'security = "starttls"')
        cfg = write_config(tmp_path / "h.toml", text)
        result = run_cli("--config", str(cfg), "digest", "--send")

    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "TLS failed with 127.0.0.1" in result.output and "CERTIFICATE_VERIFY_FAILED" in result.output
    assert sink.received == [] and store.get_state(LAST_SENT_KEY) is None


@pytest.mark.parametrize("security, expected", [
    ("ssl", "TLS failed with 127.0.0.1"),
    ("starttls", "the server does not offer STARTTLS"),
])
def test_tls_problems_are_explained(store, database_url, seeded, tmp_path, security, expected):
    with smtp_server() as sink:
        text = config_text(database_url, sink.port).replace('security = "none"', f'security = "{security}"')
        cfg = write_config(tmp_path / "h.toml", text)
        result = run_cli("--config", str(cfg), "digest", "--send")

    assert result.exit_code == 1
    assert expected in result.output and "[digest]" in result.output
    assert sink.received == []
    assert store.get_state(LAST_SENT_KEY) is None


def test_a_week_with_nothing_pending_sends_nothing_unless_send_empty(store, database_url, tmp_path):
    with smtp_server() as sink:
        cfg = write_config(tmp_path / "h.toml", config_text(database_url, sink.port))
        quiet = run_cli("--config", str(cfg), "digest", "--send")
        assert quiet.exit_code == 0
        assert "nothing sent" in quiet.output
        assert sink.received == []
        assert store.get_state(LAST_SENT_KEY) is None

        cfg = write_config(tmp_path / "h.toml", config_text(database_url, sink.port, "send_empty = true"))
        loud = run_cli("--config", str(cfg), "digest", "--send")
    assert loud.exit_code == 0
    assert len(sink.received) == 1
    assert "No new drafts" in parts_of(sink.received[0].message)["text/plain"]


def test_checkins_pick_old_unanswered_deploys_and_lifts_once(store, database_url, tmp_path):
    due = confirmed_entry(store, "a", "metric_lift", "Improved val_auc of fraud-detector to 0.87.", 5)
    recent = confirmed_entry(store, "b", "model_promoted", "Promoted ranker v2.", 1)
    answered = confirmed_entry(store, "c", "cost_reduction", "Reduced serving cost by 40%.", 6)
    store.update_entry(answered, outcome="$12k per month")
    campaign = confirmed_entry(store, "d", "experiment_campaign", "Ruled out wider embeddings.", 8)
    cfg = write_config(tmp_path / "h.toml", config_text(database_url, 25))

    shown = run_cli("--config", str(cfg), "digest", "--json")
    import json

    data = json.loads(shown.output)
    assert [c["id"] for c in data["checkins"]] == [due]
    assert data["checkins"][0]["command"] == f'harvester outcome {due} "..."'
    assert {recent, answered, campaign}.isdisjoint(c["id"] for c in data["checkins"])

    # a check-in asked in a sent digest is not asked again
    with smtp_server() as sink:
        cfg = write_config(tmp_path / "h.toml", config_text(database_url, sink.port))
        assert run_cli("--config", str(cfg), "digest", "--send").exit_code == 0
        assert len(sink.received) == 1
        again = run_cli("--config", str(cfg), "digest", "--send")
    assert "nothing sent" in again.output
    assert len(sink.received) == 1


def test_checkin_weeks_is_configurable(store, database_url, tmp_path):
    entry = confirmed_entry(store, "a", "metric_lift", "Improved val_auc.", 2.5)
    cfg = write_config(tmp_path / "h.toml", config_text(database_url, 25))
    assert f"Entry {entry}" not in run_cli("--config", str(cfg), "digest").output
    cfg = write_config(tmp_path / "h.toml", config_text(database_url, 25, "checkin_weeks = 2"))
    assert f"Entry {entry}" in run_cli("--config", str(cfg), "digest").output


def test_outcome_command_answers_a_checkin_and_changes_only_the_outcome(store, database_url, tmp_path):
    entry_id = confirmed_entry(store, "a", "metric_lift", "Improved val_auc of fraud-detector to 0.87.", 5)
    before = store.get_entry(entry_id)
    cfg = write_config(tmp_path / "h.toml", config_text(database_url, 25))

    result = run_cli("--config", str(cfg), "outcome", str(entry_id), "CTR +5.4% in the A/B test")
    assert result.exit_code == 0, result.output
    after = store.get_entry(entry_id)
    assert after.outcome == "CTR +5.4% in the A/B test"
    assert (after.text, after.tags, after.evidence, after.metrics) == (before.text, before.tags, before.evidence,
                                                                       before.metrics)
    assert f"Entry {entry_id}" not in run_cli("--config", str(cfg), "digest").output
    missing = run_cli("--config", str(cfg), "outcome", "9999", "x")
    assert missing.exit_code == 2 and "No journal entry with id 9999" in missing.output


def test_since_window_keeps_older_drafts_to_a_count(store, database_url, tmp_path):
    old = add_draft(store, "old", "metric_lift", "An old lift.")
    backdate(store, schema.drafts, old, 20)
    new = add_draft(store, "new", "metric_lift", "A new lift.")
    cfg = write_config(tmp_path / "h.toml", config_text(database_url, 25))

    text = run_cli("--config", str(cfg), "digest").output
    assert f"drafts confirm {new}" in text and f"drafts confirm {old}" not in text
    assert "1 older draft still pending: harvester drafts list" in text
    wide = run_cli("--config", str(cfg), "digest", "--since", "30d").output
    assert f"drafts confirm {old}" in wide


def test_preview_writes_a_standalone_html_file(store, database_url, seeded, tmp_path):
    cfg = write_config(tmp_path / "h.toml", config_text(database_url, 25))
    target = tmp_path / "preview.html"
    result = run_cli("--config", str(cfg), "digest", "--preview", str(target))

    assert result.exit_code == 0
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<style" not in html and "<script" not in html.lower()
    assert f"harvester drafts confirm {seeded['lift']}" in html
    assert store.get_state(LAST_SENT_KEY) is None  # a preview is not a send


def test_commands_carry_the_config_path_when_it_is_not_the_default(store, database_url, seeded, tmp_path):
    text = config_text(database_url, 25).replace('command = "harvester"\n', "")
    cfg = write_config(tmp_path / "my config.toml", text)
    output = run_cli("--config", str(cfg), "digest").output
    assert f"harvester --config '{cfg.resolve()}' drafts confirm {seeded['lift']}" in output


@pytest.mark.parametrize("extra, message", [
    ('security = "tls"', "[digest]: security must be one of starttls, ssl, none"),
    ('sender = "x@example.com"', "unknown key 'sender'. Use `from"),
    ('form = "x@example.com"', "unknown key 'form'. Known keys: checkin_kinds"),
])
def test_bad_digest_config_is_one_line_with_exit_2(tmp_path, extra, message):
    text = config_text(f"sqlite:///{tmp_path / 's.db'}", 25).replace('security = "none"\n', "") + extra
    cfg = write_config(tmp_path / "h.toml", text)
    result = run_cli("--config", str(cfg), "digest")
    assert result.exit_code == 2
    assert message in result.output
    assert result.output.count("\n") == 1


def test_sending_without_recipients_names_the_key(tmp_path):
    text = config_text(f"sqlite:///{tmp_path / 's.db'}", 25).replace('to = ["ada@example.com"]\n', "")
    cfg = write_config(tmp_path / "h.toml", text)
    result = run_cli("--config", str(cfg), "digest", "--send")
    assert result.exit_code == 2
    assert "[digest]: no recipients. Set to = " in result.output


def test_render_is_deterministic_for_a_fixed_clock(store, database_url, seeded, tmp_path):
    from harvester.config import load_config
    from harvester.digest.build import build_digest
    from harvester.digest.model import load_digest_settings
    from harvester.digest.render import render_html

    cfg = write_config(tmp_path / "h.toml", config_text(database_url, 25))
    config = load_config(cfg)
    now = datetime(2026, 11, 23, 3, 15, tzinfo=timezone.utc)
    first = build_digest(store, config, load_digest_settings(config), now=now, since="3650d")
    second = build_digest(store, config, load_digest_settings(config), now=now, since="3650d")
    assert first.week == "2026-W48"
    assert render_html(first) == render_html(second)


def test_example_config_documents_every_digest_and_nightly_key():
    from pathlib import Path

    from harvester.config import load_config
    from harvester.digest.model import DigestSettings, load_digest_settings
    from harvester.nightly import NightlySettings, load_nightly_settings
    from harvester.settings import describe_settings

    config = load_config(Path(__file__).parents[2] / "config.example.toml")
    assert load_digest_settings(config).security == "starttls"
    assert load_nightly_settings(config).digest_weekday == "monday"
    documented = {"sender" if key == "from" else key for key in config.section("digest")}  # `from` in TOML
    assert {n for n, _, _ in describe_settings(DigestSettings)} <= documented
    assert {n for n, _, _ in describe_settings(NightlySettings)} <= set(config.section("nightly"))


def test_the_text_part_escapes_control_and_bidi_characters_from_sources():
    from harvester.digest.model import Digest, DraftGroup
    from harvester.digest.render import render_text

    now = datetime(2026, 11, 23, 3, 15, tzinfo=timezone.utc)
    draft = Draft(id=7, fingerprint="f", status="pending", kind="metric_lift", source="mlflow-prod",
                  subject="s", occurred_at=now, statement="Lifted \x1b[31mred\x1b[0m fraud\u202etxt.exe",
                  impact_prompt="")
    text = render_text(Digest(generated_at=now, since=now, week="2026-W48", command="harvester",
                              groups=[DraftGroup("metric_lift", "Model metric lifts", [draft])]))
    assert "\x1b" not in text and "\u202e" not in text
    assert "Lifted \\x1b[31mred\\x1b[0m fraud\\u202etxt.exe" in text
