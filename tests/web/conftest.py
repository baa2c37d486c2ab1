"""Fixtures of the serve tests: a seeded sample store (made once, copied per test), the server
running on it, and a Chromium page already signed in."""

from __future__ import annotations

import pytest

from tests.support.browser import launch_chromium
from tests.support.web import copy_web_store, running_server, seed_web_store


@pytest.fixture(scope="session")
def web_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web") / "sample"
    with pytest.MonkeyPatch.context() as monkeypatch:
        seed_web_store(folder, monkeypatch)
    return folder


@pytest.fixture
def web_config(web_template, tmp_path):
    return copy_web_store(web_template, tmp_path / "sample")


@pytest.fixture
def server(web_config):
    with running_server(web_config) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    yield from launch_chromium()


@pytest.fixture
def page(browser, server):
    """A fresh browser profile signed in through the one-time address; dialogs are recorded
    (and dismissed): a test of inert source text expects none."""
    context = browser.new_context()
    page = context.new_page()
    page.dialogs = []

    def record(dialog):
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    page.goto(server.sign_in_url())
    yield page
    context.close()
