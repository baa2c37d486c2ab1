"""Secrets read from the environment never reach a message, a log line or a stored error,
in whatever encoding a server echoes them."""

from __future__ import annotations

import base64
import logging

import pytest

from harvester.config import read_secret
from harvester.errors import ConnectorError
from harvester.redact import MASK, forget_secrets, redact, remember_basic_credential, remember_secret

TOKEN = "ghp_s3cretTOKENvalue+/="


@pytest.fixture(autouse=True)
def no_secrets():
    forget_secrets()
    yield
    forget_secrets()


def test_a_secret_read_from_the_environment_is_redacted_in_every_encoding(monkeypatch):
    monkeypatch.setenv("MY_TOKEN", TOKEN)
    assert read_secret("MY_TOKEN", "[connectors.x] token_env") == TOKEN
    echoed = f"bad request: Authorization: Bearer {TOKEN}; token={TOKEN.replace('+', '%2B').replace('/', '%2F').replace('=', '%3D')}"
    cleaned = redact(echoed)
    assert TOKEN not in cleaned and "s3cret" not in cleaned
    assert cleaned.count(MASK) == 2


def test_a_basic_credential_is_redacted_as_the_header_carries_it():
    remember_basic_credential("ada@example.com", "jira-api-token-123")
    header = "Basic " + base64.b64encode(b"ada@example.com:jira-api-token-123").decode()
    assert redact(f"400: echoed {header}") == f"400: echoed Basic {MASK}"


def test_connector_errors_and_log_lines_are_redacted(caplog):
    remember_secret(TOKEN)
    assert TOKEN not in str(ConnectorError("github", f"HTTP 401: {{\"auth\": \"token {TOKEN}\"}}"))
    with caplog.at_level(logging.WARNING, logger="harvester"):
        logging.getLogger("harvester").warning("server said %s", f"Bearer {TOKEN}")
    assert TOKEN not in caplog.text and MASK in caplog.text


def test_short_values_are_not_treated_as_secrets():
    remember_secret("abc")
    assert redact("abc def") == "abc def"
