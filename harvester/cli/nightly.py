"""`nightly` and `status`: the unattended run and what it left behind."""

from __future__ import annotations

import sys

import click

from harvester.cli.app import echo_json, interactive, json_option, pass_app
from harvester.cli.output import say
from harvester.drafting.wording.numbers import plural
from harvester.safe_text import one_line


def print_nightly(result, command: str = "harvester") -> None:
    from harvester.cli.harvesting import print_summary

    if result.full_reread and result.summary is not None:
        say(f"Weekly full re-read: every source read again since {result.summary.since:%Y-%m-%d}, "
                   "so records logged late are not missed.")
    if result.summary is not None and result.summary.sources:
        print_summary(result.summary, command=command)
    for name, error in sorted(result.failed_setup.items()):
        say(f"  ! {name} not harvested: {one_line(error)}", err=True)
    if result.digest is not None:
        say(f"Digest ({result.digest.week}): {result.digest.status.replace('_', ' ')}"
                   f"{' - ' + result.digest.detail if result.digest.detail else ''}")
        if len({d.status for d in result.member_digests.values()}) > 1:
            for key, step in result.member_digests.items():
                say(f"  {key}: {step.status.replace('_', ' ')}{' - ' + step.detail if step.detail else ''}")


def print_failures(result) -> None:
    """Under cron only failures are printed (to stderr), so cron mails only when something broke."""
    if result.summary is not None:
        for s in result.summary.sources:
            if s.error:
                say(f"harvester nightly: {s.source} failed: {one_line(s.error)}", err=True)
    for name, error in sorted(result.failed_setup.items()):
        say(f"harvester nightly: {name} not harvested: {one_line(error)}", err=True)
    if result.digest is not None and not result.digest.ok:
        say(f"harvester nightly: digest not sent: {result.digest.detail}", err=True)


def format_time(value) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "-"


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--today", metavar="YYYY-MM-DD",
                  help="The day to schedule the digest by (default: $HARVESTER_TODAY, else today).")
    @click.option("--progress/--no-progress", default=None, help="Progress on stderr (default: on a terminal).")
    @click.option("--summary/--no-summary", default=None,
                  help="Print the run summary (default: on a terminal; under cron only failures are printed).")
    @json_option
    @pass_app
    def nightly(app, today, progress, summary, as_json):
        """Harvest every source under a lock, then send the weekly digest on its weekday.

        \b
        Made for cron and systemd timers: no terminal needed, logs to a rotating
        file in the app dir, a second overlapping run exits at once (exit 75).
        One failing source never stops the others. Exit 0 only when every source
        (and the digest, when due) succeeded; 1 otherwise."""
        import logging

        from harvester.cli.harvesting import ProgressLine
        from harvester.errors import HarvesterError
        from harvester.commands import command_prefix
        from harvester.lock import LockHeldError, app_lock_path, harvest_lock
        from harvester.nightly import (load_nightly_settings, plan_nightly, run_nightly, setup_logging,
                                       today_for_schedule)

        log = logging.getLogger("harvester")
        config = app.base_config
        setup_logging(load_nightly_settings(config))
        try:
            day = today_for_schedule(today)
            plan = plan_nightly(config)  # config errors surface before the lock or any write
            with harvest_lock(app_lock_path(config.store_url), store=lambda: app.harvest_store):
                log.info("nightly started: config %s, day %s", config.label, day.isoformat())
                line = ProgressLine(interactive() if progress is None else progress)
                try:
                    result = run_nightly(app.harvest_store, config, plan, day, progress=line)
                finally:
                    line.done()
        except LockHeldError as exc:
            log.warning("%s", exc)
            raise
        except HarvesterError as exc:
            log.error("nightly failed: %s", exc)
            raise
        except Exception:
            log.exception("nightly crashed")
            raise
        log.info("nightly finished: %s", "ok" if result.ok else "with failures")
        if as_json:
            echo_json(result.as_json())
        elif summary or (summary is None and sys.stdout.isatty()):
            print_nightly(result, command_prefix(app.config))
        else:
            print_failures(result)
        if not result.ok:
            raise SystemExit(1)

    @cli.command()
    @json_option
    @pass_app
    def status(app, as_json):
        """Per source: the last harvest, its status, records, requests and error;
        pending drafts; the last digest sent."""
        from harvester.commands import command_prefix

        from harvester.status import collect_status

        info = collect_status(*status_scope(app))
        command = command_prefix(app.config)
        if as_json:
            echo_json(info)
            return
        rows = [("source", "last harvest", "status", "records", "requests")]
        for s in info["sources"]:
            when = s["last_harvest"]
            rows.append((s["source"], when[:16].replace("T", " ") + " UTC" if when else "never",
                         s["status"] if s["configured"] else f"{s['status']} (not configured)",
                         f"{s['records']:,}", str(s["requests"])))
        if len(rows) == 1:
            say(f"No sources configured yet. Add a [connectors.<name>] table, then run `{command} harvest`.")
        else:
            widths = [max(len(r[i]) for r in rows) for i in range(5)]
            for row in rows:
                say("  " + "  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                                            for i, (c, w) in enumerate(zip(row, widths))))
            for s in info["sources"]:
                if s["error"]:
                    error = one_line(s["error"])
                    named = error.startswith(f"{s['source']}:")  # connector errors name their source
                    say(f"  ! {error}" if named else f"  ! {s['source']}: {error}")
        say(f"Pending drafts: {info['pending_drafts']}"
                   + (f"  (review: {command} drafts list)" if info["pending_drafts"] else ""))
        last = info["last_digest"]
        if "members" in info:
            pass  # each member's digest is listed below
        elif last:
            say(f"Last digest: week {last.get('week')}, sent {str(last.get('sent_at', ''))[:16].replace('T', ' ')}"
                       f" UTC to {', '.join(last.get('to') or [])} ({plural(last.get('drafts', 0), 'draft')}, "
                       f"{plural(last.get('checkins', 0), 'check-in')})")
        else:
            say("Last digest: never sent")
        for m in info.get("members", []):
            last = m["last_digest"] or {}
            sent = f"sent {str(last.get('sent_at', ''))[:16].replace('T', ' ')} UTC" if last else "never sent"
            say(f"  {m['member']}: {m['pending_drafts']} pending; digest {sent}"
                + (f"; last delivery failed: {m['digest_error']}" if m.get("digest_error") else ""))
        say(f"Digest day: {info['digest_weekday']}.  Nightly running now: "
                   f"{'yes' if info['nightly_running'] else 'no'}.  Log: {info['log_file']}  Lock: {info['lock_file']}")


def status_scope(app):
    """(store, config, members): one user's or one member's status; in team mode without a
    member named, the team's, with every member's drafts and digest."""
    from harvester.errors import ConfigError

    if app.team is None or app.member_name:
        return app.store, app.config, None
    try:
        return app.store, app.config, None
    except ConfigError:
        return app.harvest_store, app.base_config, app.team.members
