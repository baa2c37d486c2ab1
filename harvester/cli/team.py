"""`team`: the members of a [team], and their database roles on a shared PostgreSQL store."""

from __future__ import annotations

import click

from harvester.cli.app import echo_json, json_option, pass_app
from harvester.cli.output import say


def require_team(app):
    from harvester.errors import ConfigError

    if app.team is None:
        raise ConfigError(f"{app.base_config.label}: no [team] table. Team commands need one (see the README's "
                          "Team deployment section).")
    return app.team


def register(cli: click.Group) -> None:
    @cli.group()
    def team():
        """Team mode: list members, grant or remove their database roles."""

    @team.command("list")
    @json_option
    @pass_app
    def list_members(app, as_json):
        """The members in [team]: key, database role and handles."""
        t = require_team(app)
        rows = [{"member": m.key, "name": m.name, "db_role": m.db_role, "handles": sorted(m.handles),
                 "os_user": m.settings.os_user or None} for m in t.members]
        if as_json:
            echo_json({"team": t.name, "key": t.key, "members": rows})
            return
        say(f"Team {t.name} ({len(rows)} members):")
        for r in rows:
            say(f"  {r['member']}  role {r['db_role']}  handles: {', '.join(r['handles']) or '-'}")

    @team.command()
    @click.argument("members", nargs=-1, metavar="[EMAIL]...")
    @json_option
    @pass_app
    def grant(app, members, as_json):
        """Give members (default: all) their PostgreSQL role and turn on row-level security.

        Run as the admin role that owns harvester's tables. Each member then connects
        with their own role ([store] url = "postgresql+psycopg://ROLE@host/db") and sees
        only their own drafts, entries and records. Safe to re-run."""
        from harvester.store.row_security import enable_row_security, grant_member

        chosen = select_members(require_team(app), members)
        engine = app.harvest_store.engine
        enable_row_security(engine)
        for m in chosen:
            grant_member(engine, m.key, m.db_role)
        if as_json:
            echo_json({"granted": [{"member": m.key, "db_role": m.db_role} for m in chosen]})
            return
        for m in chosen:
            say(f"Granted {m.key} the role {m.db_role}.")
        say("Set each role's password (ALTER ROLE ... PASSWORD) or your server's usual authentication.")

    @team.command()
    @click.argument("member", metavar="EMAIL")
    @json_option
    @pass_app
    def remove(app, member, as_json):
        """Take a member's database access away. Their rows stay: export them for the
        member first (`harvester --member EMAIL journal --json`, `report`), then delete
        them on request (docs/team-database.md)."""
        from harvester.errors import ConfigError
        from harvester.store.row_security import revoke_member

        t = require_team(app)
        found = t.find(member)
        revoked = revoke_member(app.harvest_store.engine, found.key if found else member.strip().lower())
        if revoked is None:
            raise ConfigError(f"{member!r} has no database role in this store (nothing to remove). "
                              "See `harvester team list`.")
        if as_json:
            echo_json({"member": revoked.owner, "db_role": revoked.db_role, "role_dropped": revoked.role_dropped})
            return
        dropped = "dropped" if revoked.role_dropped else "kept (it holds privileges elsewhere; drop it yourself)"
        say(f"Removed {revoked.owner}: access revoked, role {revoked.db_role} {dropped}.")
        if found is not None:
            say("Remove them from [team] too, or the next `harvester team grant` gives the role back.")


def select_members(team, names):
    from harvester.errors import ConfigError

    if not names:
        return list(team.members)
    chosen = []
    for name in names:
        member = team.find(name)
        if member is None:
            raise ConfigError(f"{name!r} is not a member of team {team.name!r}. Members: "
                              f"{', '.join(m.key for m in team.members)}.")
        chosen.append(member)
    return chosen
