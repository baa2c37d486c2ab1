"""What `status` reports: each source's last harvest, the inbox, the digest and the nightly lock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from harvester.config import Config
from harvester.models import ensure_utc
from harvester.store import Store

if TYPE_CHECKING:
    from harvester.team import Member


def collect_status(store: Store, config: Config, members: Sequence[Member] | None = None) -> dict:
    """Each source's last harvest, pending drafts, the last digest and whether nightly runs now;
    with `members` (a team's status), each member's pending drafts and digest delivery."""
    from harvester.digest.mail import last_sent
    from harvester.lock import app_lock_path, lock_is_held
    from harvester.nightly import load_nightly_settings

    lock_path = app_lock_path(config.store_url)
    running = lock_is_held(lock_path, store=store)
    runs = {r["source"]: r for r in store.last_harvest_runs()}
    sources = []
    for name in sorted(set(config.connectors) | set(runs)):
        run = runs.get(name)
        inst = config.connectors.get(name)
        item = {"source": name, "type": inst.type if inst else None, "configured": inst is not None,
                "last_harvest": None, "status": "never", "records": 0, "requests": 0, "error": None}
        if run:
            status = run["status"]
            if status == "running" and not running:
                status = "interrupted"
            item.update(last_harvest=ensure_utc(run["finished_at"] or run["started_at"]).isoformat(),
                        status=status, records=run["records"], requests=run["requests"], error=run["error"])
        sources.append(item)
    settings = load_nightly_settings(config)
    info = {"sources": sources, "pending_drafts": len(store.list_drafts(["pending"])),
            "last_digest": last_sent(store), "nightly_running": running,
            "digest_weekday": settings.digest_weekday or "never", "log_file": str(settings.log_path),
            "lock_file": str(lock_path)}
    if members is not None:
        info["members"] = [member_status(store.for_owner(m.key), m.key) for m in members]
        info["pending_drafts"] = sum(m["pending_drafts"] for m in info["members"])
    return info


def member_status(store: Store, key: str) -> dict:
    from harvester.digest.mail import last_failed, last_sent

    sent, failed = last_sent(store), last_failed(store)
    newer = failed and (not sent or str(failed.get("at", "")) > str(sent.get("sent_at", "")))
    return {"member": key, "pending_drafts": len(store.list_drafts(["pending"])), "last_digest": sent,
            "digest_error": failed.get("error") if newer else None}
