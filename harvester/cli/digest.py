"""`digest` and `outcome`: the weekly e-mail and the answer to its impact check-ins."""

from __future__ import annotations

from pathlib import Path

import click

from harvester.cli.app import echo_json, json_option, pass_app
from harvester.cli.output import say
from harvester.drafting.wording.numbers import plural
from harvester.safe_text import one_line


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--send", is_flag=True, help="Send it over SMTP ([digest] in the config) and record it as sent.")
    @click.option("--preview", "preview", type=click.Path(dir_okay=False, writable=True),
                  help="Write the HTML version to this file, to open in a browser.")
    @click.option("--since", help="Drafts new or updated since: 7d, 2w or a date (default: [digest] since, 7d).")
    @json_option
    @pass_app
    def digest(app, send, preview, since, as_json):
        """The weekly digest: pending drafts to confirm, edit or reject, and impact check-ins.

        \b
        Without --send it is printed (plain text, or --json) and nothing is recorded.
        A week with nothing pending and no check-ins sends nothing unless
        [digest] send_empty = true."""
        from harvester.digest.build import build_digest
        from harvester.digest.mail import send_digest
        from harvester.digest.model import load_digest_settings
        from harvester.digest.render import render_html, render_text

        settings = load_digest_settings(app.config)
        if send:
            outcome = send_digest(app.store, app.config, settings, since=since)
            built = outcome.digest
        else:
            outcome, built = None, build_digest(app.store, app.config, settings, since=since)
        if preview:
            Path(preview).write_text(render_html(built), encoding="utf-8")
        if as_json:
            echo_json({**built.as_json(), "send": outcome.as_json() if outcome else None,
                       "preview": preview})
            return
        if outcome is not None:
            if outcome.status == "sent":
                say(f"Sent the {built.week} digest to {', '.join(outcome.recipients)}: "
                           f"{plural(built.draft_count, 'draft')}, {plural(len(built.checkins), 'check-in')}.")
            else:
                say("Nothing pending and no check-ins: nothing sent "
                           "(set [digest] send_empty = true to send anyway).")
        elif not preview:
            say(render_text(built), nl=False)
        if preview:
            say(f"Wrote the HTML digest to {preview} ({plural(built.draft_count, 'draft')}, "
                       f"{plural(len(built.checkins), 'check-in')}).")

    @cli.command()
    @click.argument("entry_id", type=int)
    @click.argument("text")
    @click.option("--replace", is_flag=True, help="Overwrite an outcome the entry already has.")
    @json_option
    @pass_app
    def outcome(app, entry_id, text, replace, as_json):
        """Record the online or business result of a journal entry.

        \b
        Answers an impact check-in, e.g.:
          harvester outcome 12 "CTR +5.4% in the two-week A/B test"
        Only the entry's outcome changes; its text stays yours as confirmed."""
        if not text.strip():
            raise click.UsageError("The outcome text is empty; nothing was changed.")
        current = app.store.get_entry(entry_id).outcome
        if current and current != text.strip() and not replace:
            raise click.UsageError(f"Entry {entry_id} already has the outcome {one_line(current)!r}; add --replace "
                                   "to overwrite it.")
        entry = app.store.update_entry(entry_id, outcome=text.strip())
        if as_json:
            echo_json(entry.as_json())
        else:
            say(f"Entry {entry.id}: outcome recorded: {one_line(entry.outcome)}")
