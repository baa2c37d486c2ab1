"""`harvester serve` in-process for tests: a store harvested from the built-in sample (plus a
few drafts, one of them hostile), and the real server on a free loopback port in a thread."""

from __future__ import annotations

import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Iterator

from harvester.models import Draft, Evidence, Metric, utcnow

HOSTILE_SUBJECT = "<img src=x onerror=\"window.__pwned='subject'\">fraud"
HOSTILE_STATEMENT = ("Improved AUC <script>window.__pwned='statement'</script> of "
                     "<img src=x onerror=\"window.__pwned='img'\"> from 0.81 to 0.87 (+7.4%).")
EXTRA_DRAFTS = (
    ("extra-lift", "metric_lift", "churn-model", "Improved validation AUC of churn-model from 0.71 to 0.76 (+7.0%)."),
    ("extra-cost", "cost_reduction", "batch-scoring", "Cut cost per 1k requests of batch-scoring by 31%."),
    ("extra-hostile", "metric_lift", HOSTILE_SUBJECT, HOSTILE_STATEMENT),
)


def seed_web_store(folder: Path, monkeypatch) -> str:
    """The sample harvested into folder/harvester.db, plus EXTRA_DRAFTS; returns the config path."""
    from harvester.sample import run_demo
    from harvester.store import open_store

    for key in ("MLFLOW_ALLOW_FILE_STORE", "MLFLOW_TRACKING_URI"):  # run_demo sets them; restored after the test
        monkeypatch.setenv(key, "")
    run_demo(str(folder))
    store = open_store(f"sqlite:///{folder / 'harvester.db'}", "ada@example.com")
    try:
        for n, (fingerprint, kind, subject, statement) in enumerate(EXTRA_DRAFTS):
            store.save_draft(Draft(
                id=None, fingerprint=fingerprint, status="pending", kind=kind, source="sample-mlflow",
                subject=subject, occurred_at=utcnow() - timedelta(days=40 + n), statement=statement,
                impact_prompt="What did it change <b>online</b>?", metrics=(Metric("val_auc", 0.81, 0.87),),
                evidence=(Evidence("javascript:window.__pwned='href'", "<i onmouseover=alert(1)>run</i>"),
                          Evidence("https://mlflow.example.com/#/runs/1?a=1&b=2", "best run")),
                tags=("model-performance",)))
    finally:
        store.close()
    return str(folder / "harvester.toml")


def copy_web_store(template: Path, folder: Path) -> str:
    """A private copy of a seeded folder (each test changes its store), config pointing at it."""
    shutil.copytree(template, folder)
    config = folder / "harvester.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(str(template.resolve()), str(folder.resolve())),
                      encoding="utf-8")
    return str(config)


@dataclass
class RunningServer:
    url: str
    site: object
    store: object
    config: object

    def sign_in_url(self) -> str:
        return f"{self.url}/sign-in?token={self.site.sign_in.issue()}"


@contextmanager
def running_server(config_path: str, extra: str = "", port: int = 0) -> Iterator[RunningServer]:
    """The serve app for `config_path` on 127.0.0.1 and `port` (0: a free one), served from a thread."""
    from harvester.cli.app import App
    from harvester.web.app import build_site
    from harvester.web.server import bind_server, describe_address
    from harvester.web.settings import load_serve_settings

    if extra:
        Path(config_path).write_text(Path(config_path).read_text(encoding="utf-8") + extra, encoding="utf-8")
    app = App(config_path)
    site = build_site(app, load_serve_settings(app.config))
    store, config = site.base_store, site.base_config
    server = bind_server(site, "127.0.0.1", port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield RunningServer(describe_address(server), site, store, config)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        site.base_store.close()
