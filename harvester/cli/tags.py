"""`tag` (change the rubric dimensions of an entry or draft) and `rubric` (show the framework)."""

from __future__ import annotations

import click

from harvester.cli.app import echo_json, json_option, pass_app
from harvester.cli.output import say


class TagCommand(click.Command):
    """-h is help only as a word of its own: "-h..." starts dimension ids such as -hiring."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, ["--help"] if "-h" in args else args)


def register(cli: click.Group) -> None:
    @cli.command(cls=TagCommand, context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]})
    @click.argument("item_id", type=int, metavar="ID")
    @click.argument("changes", nargs=-1, type=click.UNPROCESSED)
    @click.option("--draft", is_flag=True, help="ID is a draft id (from `harvester drafts list`), not a journal entry.")
    @json_option
    @pass_app
    def tag(app, item_id, changes, draft, as_json):
        """Add (+DIM) or remove (-DIM) rubric dimensions of a journal entry or a draft.

        ID is a journal entry id (as `harvester journal` shows it); with --draft it
        is a pending draft's id, and the entry inherits the tags when you confirm it.
        The report follows these tags. Without changes, prints the current tags.

        \b
        Examples:
          harvester tag 12 +efficiency -model-performance
          harvester tag --draft 7 +experimentation
          harvester rubric               (lists the valid dimension ids)
        """
        framework = app.config.framework
        store = app.store
        if draft:
            item = store.get_draft(item_id)
            if item.status == "confirmed":
                entry = next((e for e in store.list_entries() if e.draft_id == item_id), None)
                from harvester.commands import command_prefix

                where = (f"journal entry {entry.id}: `{command_prefix(app.config)} tag {entry.id} ...`" if entry
                         else "its journal entry")
                raise click.UsageError(f"Draft {item_id} is confirmed; tag {where}.")
        else:
            item = store.get_entry(item_id)
        from harvester.drafting.tags import TagChangeError, apply_changes, parse_changes

        try:
            added, removed = parse_changes(changes, item.tags, framework.ids)
        except TagChangeError as exc:
            raise click.UsageError(str(exc)) from None
        tags = apply_changes(item.tags, added, removed)
        if changes:
            if draft:
                store.set_draft_tags(item_id, tags)
            else:
                store.update_entry(item_id, tags=tags)
        label = f"Draft {item_id}" if draft else f"Entry {item_id}"
        if as_json:
            echo_json({"type": "draft" if draft else "entry", "id": item_id, "tags": tags,
                       "added": [t for t in added if t not in item.tags],
                       "removed": [t for t in removed if t in item.tags]})
            return
        say(f"{label} tags: {', '.join(tags) or '(none)'}")
        stale = [t for t in tags if t not in framework.ids]
        if stale:
            say(f"  not in the current framework: {', '.join(stale)}", err=True)

    @cli.command()
    @json_option
    @pass_app
    def rubric(app, as_json):
        """Show the career framework in use: dimension ids, what maps to them, and levels."""
        fw = app.config.framework
        if as_json:
            echo_json({"name": fw.name, "levels": [{"id": lv.id, "title": lv.title} for lv in fw.levels],
                       "dimensions": [{"id": d.id, "title": d.title, "description": d.description,
                                       "kinds": list(d.kinds), "metric_families": list(d.metric_families),
                                       "keywords": list(d.keywords),
                                       "expectations": dict(d.expectations)} for d in fw.dimensions]})
            return
        say(f"{fw.name}  ({app.config.rubric.framework or 'built-in'})")
        for d in fw.dimensions:
            say(f"  {d.id:<24} {d.title}")
            if d.kinds:
                say(f"  {'':<24} kinds: {', '.join(d.kinds)}")
            if d.metric_families:
                say(f"  {'':<24} metric families: {', '.join(d.metric_families)}")
        if fw.levels:
            say("Levels: " + ", ".join(f"{lv.id} ({lv.title})" for lv in fw.levels))
