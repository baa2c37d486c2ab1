"""The unattended nightly run: harvest every source under a lock, log to a rotating file,
and on the digest weekday send the weekly digest once per ISO week."""

from __future__ import annotations

import logging
import logging.handlers
import os
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harvester.config import AppDirError, Config, app_dir, describe_unwritable
from harvester.errors import ConfigError, HarvesterError
from harvester.settings import build_settings, setting
from harvester.store import Store

if TYPE_CHECKING:
    from harvester.harvest import HarvestPlan, HarvestSummary
    from harvester.team import Team

LOG_FILENAME = "harvester.log"
TODAY_ENV = "HARVESTER_TODAY"
FULL_REREAD_KEY = "nightly.full_reread"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

log = logging.getLogger("harvester")


@dataclass(frozen=True)
class NightlySettings:
    digest_weekday: str = setting("monday", 'the day nightly sends the weekly digest; "never": nightly never sends it')
    sources: tuple[str, ...] = setting((), "the connector instances nightly reads; empty: every configured one")
    log_file: str = setting("", "the log file; empty: harvester.log in the app dir (harvester-<hash>.log for a "
                                "store that is not the default one)")
    log_max_bytes: int = setting(1_000_000, "the size at which the log is rotated")
    log_backups: int = setting(5, "rotated logs kept")
    # Records dated before a cursor (runs imported or logged late) are only found by reading again.
    full_reread: str = setting("digest_day", 'the day every source is read again over [harvest] default_since, '
                               'as a backfill would: "digest_day" (the digest weekday, or monday when the digest '
                               'is off), a day name, or "never"')

    def __post_init__(self):
        day = self.digest_weekday.strip().lower()
        if day not in (*WEEKDAYS, "", "never"):
            raise ValueError(f"digest_weekday must be a day name (monday ... sunday) or \"never\", "
                             f"not {self.digest_weekday!r}")
        object.__setattr__(self, "digest_weekday", "" if day == "never" else day)
        reread = self.full_reread.strip().lower()
        if reread not in (*WEEKDAYS, "digest_day", "never"):
            raise ValueError(f"full_reread must be \"digest_day\", a day name (monday ... sunday) or \"never\", "
                             f"not {self.full_reread!r}")
        object.__setattr__(self, "full_reread", reread)
        if self.log_max_bytes < 1024 or self.log_backups < 0:
            raise ValueError("log_max_bytes must be at least 1024 and log_backups at least 0")

    @property
    def full_reread_day(self) -> str:
        """The weekday of the weekly full re-read, or "" for never."""
        if self.full_reread == "never":
            return ""
        if self.full_reread == "digest_day":
            return self.digest_weekday or "monday"
        return self.full_reread

    @property
    def log_path(self) -> Path:
        return Path(self.log_file).expanduser() if self.log_file else app_dir() / LOG_FILENAME


def load_nightly_settings(config: Config) -> NightlySettings:
    settings = build_settings(NightlySettings, config.section("nightly"), config.where("nightly"))
    if not settings.log_file:
        settings = replace(settings, log_file=str(default_log_path(config.store_url)))
    return settings


def default_log_path(store_url: str) -> Path:
    """The app dir's log for one store, so two configs in one app dir keep their own logs."""
    from harvester.lock import name_for_store

    return app_dir() / name_for_store(store_url, LOG_FILENAME)


def today_for_schedule(explicit: str | None = None) -> date:
    """The day nightly believes it is: --today, then $HARVESTER_TODAY, then the local date."""
    text = explicit or os.environ.get(TODAY_ENV)
    if not text:
        return date.today()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"Cannot read the day {text!r} (--today or ${TODAY_ENV}): use YYYY-MM-DD.") from None


def setup_logging(settings: NightlySettings) -> Path:
    """Attach one rotating file handler to the "harvester" logger (idempotent)."""
    from harvester.redact import RedactingFilter

    path = settings.log_path
    for handler in list(log.handlers):
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            if Path(handler.baseFilename) == path.resolve():
                return path
            log.removeHandler(handler)  # another app dir's log, from an earlier command in this process
            handler.close()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=settings.log_max_bytes,
                                                       backupCount=settings.log_backups, encoding="utf-8")
    except OSError as exc:
        raise AppDirError(describe_unwritable(exc, "the log file", path, "Make its folder writable or set "
                                              "[nightly] log_file to a writable path.")) from None
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return path


@dataclass
class DigestStep:
    status: str  # not_today, disabled, already_sent, empty, sent, failed
    detail: str = ""
    week: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass
class NightlyResult:
    today: date
    summary: HarvestSummary | None = None
    failed_setup: dict[str, str] = field(default_factory=dict)  # connectors that could not be built
    digest: DigestStep | None = None
    full_reread: bool = False  # this run read every source again over the whole window
    member_digests: dict[str, DigestStep] = field(default_factory=dict)  # a team's digests, by member key

    @property
    def ok(self) -> bool:
        harvest_ok = self.summary is None or self.summary.ok
        return harvest_ok and not self.failed_setup and (self.digest is None or self.digest.ok)

    def as_json(self) -> dict[str, Any]:
        harvest = self.summary.as_json() if self.summary is not None else None
        return {"ok": self.ok, "today": self.today.isoformat(), "full_reread": self.full_reread, "harvest": harvest,
                "setup_errors": [{"source": k, "error": v} for k, v in sorted(self.failed_setup.items())],
                "digest": None if self.digest is None else
                {"status": self.digest.status, "detail": self.digest.detail, "week": self.digest.week},
                **({"member_digests": {key: {"status": d.status, "detail": d.detail}
                                       for key, d in self.member_digests.items()}} if self.member_digests else {})}


@dataclass
class NightlyPlan:
    """Everything validated before the lock is taken or the store opened; connectors that
    cannot be built are kept in the harvest plan as per-source failures."""

    settings: NightlySettings
    harvest: HarvestPlan


def plan_nightly(config: Config) -> NightlyPlan:
    from harvester.digest.model import load_digest_settings
    from harvester.harvest import plan_harvest

    settings = load_nightly_settings(config)
    if "digest" in config.raw:
        load_digest_settings(config)
    harvest = plan_harvest(config, names=settings.sources or None, keep_going=True, where=config.where("nightly"))
    return NightlyPlan(settings, harvest)


def run_nightly(store: Store, config: Config, plan: NightlyPlan, today: date, progress=None) -> NightlyResult:
    """Harvest, then the digest when it is due. The caller holds the lock."""
    from harvester.digest.build import iso_week
    from harvester.harvest import run_harvest

    result = NightlyResult(today=today, failed_setup=dict(plan.harvest.failed_setup))
    for name, error in sorted(plan.harvest.failed_setup.items()):
        run_id = store.start_harvest_run(name)
        store.finish_harvest_run(run_id, "failed", 0, 0, error)
        log.error("source %s not harvested: %s", name, error)
    result.full_reread = full_reread_due(store, plan.settings, today)
    harvest_plan = plan.harvest
    if result.full_reread:
        log.info("weekly full re-read of every source since %s", harvest_plan.window.since.isoformat())
        harvest_plan = replace(harvest_plan, window=replace(harvest_plan.window, forced=True))
    result.summary = run_harvest(store, config, progress=progress, plan=harvest_plan)
    if result.full_reread and result.summary.ok:
        store.set_state(FULL_REREAD_KEY, {"week": iso_week(today), "date": today.isoformat()})
    for s in result.summary.sources:
        if s.ok:
            log.info("source %s: %d records, %d requests, %.1fs", s.source, s.records, s.requests, s.seconds)
        else:
            log.error("source %s failed after %d records: %s", s.source, s.records, s.error)
    d = result.summary.drafts
    if d is not None:
        log.info("drafts: %d new, %d updated, %d unchanged", d.new, d.updated, d.unchanged)
    team = plan.harvest.team
    if team is None:
        result.digest = send_digest_if_due(store, config, plan.settings, today)
    else:
        result.member_digests = send_member_digests(store, config, team, plan.settings, today)
        result.digest = combine_digest_steps(result.member_digests)
    if result.digest.status in ("not_today", "disabled"):
        log.info("digest: %s", result.digest.detail)
    return result


def full_reread_due(store: Store, settings: NightlySettings, today: date) -> bool:
    """Weekly, on the re-read day; a week whose re-read failed or whose day was missed (the
    machine was off) catches up on the next night, so no more than a week passes without one."""
    from harvester.digest.build import iso_week

    day = settings.full_reread_day
    if not day:
        return False
    last = store.get_state(FULL_REREAD_KEY) or {}
    if last.get("week") == iso_week(today):
        return False
    if WEEKDAYS[today.weekday()] == day:
        return True
    try:
        previous = date.fromisoformat(str(last.get("date")))
    except ValueError:
        return False  # never re-read yet: the first harvest was a backfill of the window
    return (today - previous).days > 7


def send_member_digests(store: Store, config: Config, team: "Team", settings: NightlySettings,
                        today: date) -> dict[str, DigestStep]:
    """Each member's digest of their own drafts, to their own address; one failed delivery
    does not stop the others'."""
    from harvester.team import member_config

    steps = {}
    for member in team.members:
        steps[member.key] = send_digest_if_due(store.for_owner(member.key), member_config(config, member), settings,
                                               today, to=(member.settings.email,))
        if steps[member.key].status == "failed":
            log.error("digest for %s not sent: %s", member.key, steps[member.key].detail)
    return steps


def combine_digest_steps(steps: dict[str, DigestStep]) -> DigestStep:
    """One line for the members' digests: failed when any failed, naming whose."""
    statuses = {s.status for s in steps.values()}
    week = next(iter(steps.values())).week if steps else ""
    if len(statuses) == 1:
        only = next(iter(steps.values()))
        return DigestStep(only.status, only.detail if only.status in ("not_today", "disabled") else
                          f"{only.status.replace('_', ' ')} for all {len(steps)} members", week)
    failed = [key for key, s in steps.items() if s.status == "failed"]
    counts = ", ".join(f"{sum(s.status == status for s in steps.values())} {status.replace('_', ' ')}"
                       for status in sorted(statuses))
    detail = counts + (f"; not delivered to {', '.join(failed)} (see `harvester status`)" if failed else "")
    return DigestStep("failed" if failed else "sent", detail, week)


def send_digest_if_due(store: Store, config: Config, settings: NightlySettings, today: date,
                       to: tuple[str, ...] | None = None) -> DigestStep:
    from harvester.digest.build import iso_week
    from harvester.digest.mail import last_sent, record_failed, send_digest
    from harvester.digest.model import load_digest_settings

    week = iso_week(today)
    if not settings.digest_weekday:
        return DigestStep("disabled", "[nightly] digest_weekday is \"never\"", week)
    if "digest" not in config.raw:
        return DigestStep("disabled", "no [digest] table in the config", week)
    if WEEKDAYS[today.weekday()] != settings.digest_weekday:
        return DigestStep("not_today", f"the digest goes out on {settings.digest_weekday}s", week)
    previous = last_sent(store) or {}
    if previous.get("week") == week:
        log.info("digest for %s already sent at %s", week, previous.get("sent_at"))
        return DigestStep("already_sent", f"already sent for {week} at {previous.get('sent_at')}", week)
    try:
        digest_settings = load_digest_settings(config)
        if to is not None:
            digest_settings = replace(digest_settings, to=to)
        outcome = send_digest(store, config, digest_settings, today=today)
    except HarvesterError as exc:
        log.error("digest not sent: %s", exc)
        record_failed(store, week, str(exc))
        return DigestStep("failed", str(exc), week)
    if outcome.status == "empty":
        log.info("digest for %s: nothing pending and no check-ins; nothing sent", week)
        return DigestStep("empty", "nothing pending and no check-ins (set [digest] send_empty = true to send anyway)",
                          week)
    log.info("digest for %s sent to %d recipient(s): %d drafts, %d check-ins", week, len(outcome.recipients),
             outcome.digest.draft_count, len(outcome.digest.checkins))
    return DigestStep("sent", f"sent to {', '.join(outcome.recipients)}", week)
