"""The digest's HTML measured in headless Chromium: nothing overflows a phone (390 px) or a
desktop (1200 px) viewport, however long the statements, URLs and commands are."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from harvester.models import Draft, Evidence, Metric
from tests.support.browser import MEASURE, launch_chromium
from tests.support.cli import write_config

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
LONG_URL = ("https://mlflow.internal.example.com/#/experiments/918273645546372819/runs/"
            "4f0c9e2b7a1d4c3e8b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c?searchFilter=metrics.val_auc%3E0.85"
            "&orderByKey=metrics.%60val_auc%60&orderByAsc=false&startTime=ALL&lifecycleFilter=Active")
LONG_STATEMENT = ("Improved holdout AUC of fraud-detector-gradient-boosted-ensemble-with-graph-features from 0.8123 "
                  "to 0.8641 (+6.4%) by replacing the hand-tuned merchant-category embeddings with ones learned "
                  "end to end, validated across three monthly backtests and the champion/challenger shadow run; "
                  "run 4f0c9e2b7a1d4c3e8b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c.")

@pytest.fixture(scope="module")
def browser():
    yield from launch_chromium()


@pytest.fixture(params=["commands", "links"])
def digest_html(tmp_path, request):
    """The digest as mailed; with [serve] url set ("links"), each draft also has its buttons."""
    from harvester.config import load_config
    from harvester.digest.build import build_digest
    from harvester.digest.model import load_digest_settings
    from harvester.digest.render import render_html
    from harvester.store import open_store

    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url, "ada@example.com")
    try:
        for n, (kind, subject) in enumerate([("metric_lift", "fraud-detector-gradient-boosted-ensemble-v12"),
                                              ("latency_reduction", "ranker-serving"),
                                              ("model_promoted", "a" * 90)]):
            store.save_draft(Draft(
                id=None, fingerprint=f"f-{n}", status="pending", kind=kind, source="mlflow-production-us-east-1",
                subject=subject, occurred_at=NOW - timedelta(days=2), statement=LONG_STATEMENT,
                impact_prompt="What did this lift translate to online: approval rate, chargebacks, revenue per "
                              "session? https://wiki.example.com/" + "x" * 80,
                metrics=(Metric("val_auc", 0.8123, 0.8641),),
                evidence=(Evidence(LONG_URL, "best run"), Evidence(LONG_URL + "&v=2", ""),
                          Evidence("file:///home/ada/" + "deep/" * 20 + "notes.md", "local notes")),
                tags=("model-performance", "experimentation", "technical-leadership")))
        entry = store.confirm_draft(next(d.id for d in store.list_drafts(["pending"]) if d.fingerprint == "f-2"))
        cfg = write_config(tmp_path / "h.toml", f"""\
[identity]
email = "ada@example.com"
[store]
url = "{url}"
[digest]
command = "harvester --config /home/ada/.config/harvester/team-shared-configuration-directory/config.toml"
""" + ('[serve]\nurl = "https://harvester.internal.example.com:8765"\n' if request.param == "links" else ""))
        config = load_config(cfg)
        built = build_digest(store, config, load_digest_settings(config), now=NOW, since="3650d")
        built.checkins.append(store.get_entry(entry.id))
        assert bool(built.links) == (request.param == "links")
        return render_html(built)
    finally:
        store.close()


@pytest.mark.parametrize("width", [390, 1200])
def test_digest_fits_the_viewport(browser, digest_html, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.set_content(digest_html)
        measured = page.evaluate(MEASURE)
    finally:
        page.close()
    assert measured["innerWidth"] == width
    assert measured["scrollWidth"] <= width, measured
    assert measured["wide"] == [], measured
