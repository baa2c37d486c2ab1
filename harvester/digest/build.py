"""Building the digest: pending drafts new or refreshed since the window start, grouped by kind,
and the entries due for an impact check-in. It reads the store only."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from harvester.commands import command_prefix as base_command
from harvester.config import Config
from harvester.digest.model import CHECKINS_ASKED_KEY, Digest, DigestSettings, DraftGroup
from harvester.drafting.kinds import kind_of, kind_registry
from harvester.models import Draft, Entry, ensure_utc, utcnow
from harvester.store import Store
from harvester.timeutil import parse_since


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def command_prefix(config: Config, settings: DigestSettings) -> str:
    """[digest] command when set, else how the CLI's own hints start."""
    return settings.command or base_command(config)


def group_drafts(drafts: list[Draft]) -> list[DraftGroup]:
    by_kind: dict[str, list[Draft]] = {}
    for d in drafts:
        by_kind.setdefault(d.kind, []).append(d)
    # Declared kinds in the registry's order; kinds nobody declares any more follow alphabetically.
    order = list(kind_registry())
    kinds = sorted(by_kind, key=lambda k: (order.index(k) if k in order else len(order), k))
    return [DraftGroup(k, kind_of(k).title, sorted(by_kind[k], key=lambda d: (d.occurred_at, d.id), reverse=True))
            for k in kinds]


def select_checkins(store: Store, settings: DigestSettings, now: datetime) -> list[Entry]:
    """Entries of the check-in kinds confirmed at least `checkin_weeks` ago whose outcome is
    still empty and that no earlier digest asked about, oldest first."""
    cutoff = now - timedelta(weeks=settings.checkin_weeks)
    asked = set(store.get_state(CHECKINS_ASKED_KEY, {}) or {})
    due_kinds = settings.due_kinds
    due = [e for e in store.list_entries()
           if e.kind in due_kinds and not (e.outcome or "").strip()
           and e.created_at is not None and ensure_utc(e.created_at) <= cutoff and str(e.id) not in asked]
    due.sort(key=lambda e: (e.created_at, e.id))
    return due[:settings.max_checkins]


def build_digest(store: Store, config: Config, settings: DigestSettings, now: datetime | None = None,
                 since: str | None = None, today: date | None = None) -> Digest:
    """Pending drafts new or refreshed since the window start, and the check-ins due."""

    now = now or utcnow()
    start = parse_since(since or settings.since, now)
    pending = store.list_drafts(["pending"])
    recent = [d for d in pending if max(ensure_utc(d.created_at or d.occurred_at),
                                        ensure_utc(d.updated_at or d.occurred_at)) >= start]
    framework = config.framework
    groups = group_drafts(recent)
    return Digest(generated_at=now, since=start, week=iso_week(today or now.date()),
                  command=command_prefix(config, settings), groups=groups,
                  older_pending=len(pending) - len(recent), checkins=select_checkins(store, settings, now),
                  dimension_titles={d.id: d.title for d in framework.dimensions},
                  links=sign_draft_links(store, config, [d for g in groups for d in g.drafts], now))


def sign_draft_links(store: Store, config: Config, drafts: list[Draft], now: datetime) -> dict[int, dict[str, str]]:
    """With [serve] url set, a signed single-use link per action for each draft; else none."""
    from harvester.web.settings import load_serve_settings

    serve = load_serve_settings(config)
    if not serve.url or not drafts:
        return {}
    from harvester.web.links import LINK_ACTIONS, sign_link
    from harvester.web.secret import load_secret

    secret = load_secret()
    base = serve.url.rstrip("/")
    return {d.id: {action: f"{base}/act/{sign_link(secret, action, d.id, store.owner, serve.link_days, now)}"
                   for action in LINK_ACTIONS} for d in drafts}
