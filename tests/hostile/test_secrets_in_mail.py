"""A secret never leaves in the digest e-mail, even when a source value happens to hold it
(a token pasted into a run name, say): the text and HTML parts are redacted before sending."""

from __future__ import annotations

import pytest

from harvester.redact import forget_secrets
from tests.harvester.test_digest import add_draft, config_text
from tests.support.cli import run_cli, write_config
from tests.support.smtp import parts_of, smtp_server

PASSWORD = "smtp-Secret-42x"


@pytest.fixture(autouse=True)
def no_secrets():
    forget_secrets()
    yield
    forget_secrets()


def test_the_digest_mail_never_carries_a_configured_secret(store, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SMTP_TEST_PASSWORD", PASSWORD)
    add_draft(store, "f-leak", "metric_lift", f"Improved validation AUC of run-{PASSWORD} from 0.81 to 0.87 (+7.4%).")
    with smtp_server(user="ada", password=PASSWORD) as sink:
        extra = 'username = "ada"\npassword_env = "SMTP_TEST_PASSWORD"'
        cfg = write_config(tmp_path / "h.toml", config_text(database_url, sink.port, extra))
        result = run_cli("--config", str(cfg), "digest", "--send")

    assert result.exit_code == 0, result.output
    [got] = sink.received
    for body in parts_of(got.message).values():
        assert PASSWORD not in body and "[redacted]" in body
    assert PASSWORD not in got.message.as_string()
