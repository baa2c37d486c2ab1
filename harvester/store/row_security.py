"""Team mode on PostgreSQL: one database role per member, and row-level security keyed by
`owner`, so a member's connection cannot read or change another member's rows, whatever SQL
it sends. The admin (the role owning harvester's tables, which migrates and harvests) is not
subject to the policies (ENABLE, not FORCE) and sees everything.

    enable_row_security(engine)               turn on the policies; idempotent
    grant_member(engine, owner, db_role)      create the role if missing, map it to `owner`, grant; idempotent
    revoke_member(engine, member)             revoke, unmap and drop the role (owner or role name); idempotent
    default_role_name(owner)                  a role name for a member key: harvester_ada_example_com

All run as the admin, on an engine of the team's store. What a member can do:
- drafts, entries, findings, audit_events, app_state, changed_groups: read and write the rows of their owner key;
- records: read and write their own, read the team's (owner `team:<name>`), the baselines;
- harvest_runs: read their own and the team's; harvester_schema: read;
- cursors: nothing.

A member's owner key comes from team_members through harvester_member_owner(), an invoker's
function: a member may read only their own team_members row, so the function needs no
SECURITY DEFINER rights, and its SQL-standard body is bound to the tables when created, so
a member's search_path cannot redirect it. A role missing from team_members has no owner
key and matches no row."""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import sqlalchemy as sa

from harvester.errors import StoreError
from harvester.models import utcnow
from harvester.store.faults import hide_password, store_error_from
from harvester.store.locks import advisory_key
from harvester.store.migrations import migrate

OWN = "owner = harvester_member_owner()"
TEAM = "starts_with(owner, 'team:')"
POLICY_PREFIX = "harvester_"

# Per table: (policy name, command, USING, WITH CHECK). A table listed with no policy is
# closed to members.
POLICIES: dict[str, list[tuple[str, str, str, str | None]]] = {
    **{table: [("harvester_own_rows", "ALL", OWN, OWN)]
       for table in ("drafts", "entries", "findings", "audit_events", "app_state", "changed_groups")},
    "records": [("harvester_own_rows", "ALL", OWN, OWN), ("harvester_team_rows", "SELECT", TEAM, None)],
    "harvest_runs": [("harvester_own_and_team_rows", "SELECT", f"{OWN} OR {TEAM}", None)],
    "cursors": [],
    "team_members": [("harvester_own_row", "SELECT", "db_role = current_user", None)],
}
WRITE = "SELECT, INSERT, UPDATE, DELETE"
GRANTS = {"drafts": WRITE, "entries": WRITE, "findings": WRITE, "audit_events": WRITE, "app_state": WRITE,
          "changed_groups": WRITE, "records": WRITE, "harvest_runs": "SELECT", "harvester_schema": "SELECT",
          "team_members": "SELECT"}

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
OWNER_FUNCTION = (
    "CREATE OR REPLACE FUNCTION harvester_member_owner() RETURNS varchar LANGUAGE sql STABLE PARALLEL SAFE "
    "BEGIN ATOMIC SELECT owner FROM team_members WHERE db_role = current_user; END")


@dataclass(frozen=True)
class Revoked:
    owner: str
    db_role: str
    role_dropped: bool  # False when the role still holds privileges elsewhere (another store, database)


def default_role_name(owner: str) -> str:
    return ("harvester_" + re.sub(r"[^a-z0-9]+", "_", check_owner(owner)).strip("_"))[:63]


def check_owner(owner: str) -> str:
    if not owner or owner != owner.strip().lower() or ":" in owner or len(owner) > 200:
        raise StoreError(f"{owner!r} is not a member key: use the member's lowercase e-mail, without ':' "
                         "(keys starting team: belong to the team).")
    return owner


def check_role_name(db_role: str) -> str:
    if not ROLE_NAME.fullmatch(db_role) or db_role.startswith("pg_"):
        raise StoreError(f"{db_role!r} cannot be a member's database role: use lowercase letters, digits and _ "
                         "(at most 63, not starting with a digit or pg_), e.g. harvester_ada.")
    return db_role


def enable_row_security(engine: sa.Engine) -> None:
    """Create harvester_member_owner() and the policies, and enable row-level security on every
    table members may reach, in one transaction (re-running replaces the policies)."""
    with admin_transaction(engine) as conn:
        apply_policies(conn)


def grant_member(engine: sa.Engine, owner: str, db_role: str) -> None:
    """Give the member `owner` the database role `db_role` (created LOGIN without a password when
    missing; set one, or the server's usual authentication, before they connect). Row security
    is enabled in the same transaction, so no member is ever granted unguarded tables."""
    check_owner(owner)
    check_role_name(db_role)
    with admin_transaction(engine, creating_roles=True) as conn:
        apply_policies(conn)
        record_member(conn, owner, db_role)
        quoted, schema = quote(conn, db_role), quote(conn, current_schema(conn))
        if conn.execute(sa.text("SELECT pg_has_role(current_user, nspowner, 'USAGE') FROM pg_namespace "
                                "WHERE nspname = current_schema()")).scalar():
            conn.execute(sa.text(f"GRANT USAGE ON SCHEMA {schema} TO {quoted}"))
        if not conn.execute(sa.text("SELECT has_schema_privilege(:role, current_schema(), 'USAGE')"),
                            {"role": db_role}).scalar():
            raise StoreError(f"The role {db_role} cannot use the schema {current_schema(conn)} and harvester's role "
                             f"does not own it: have its owner run GRANT USAGE ON SCHEMA {schema} TO {quoted}.")
        for table, privileges in GRANTS.items():
            conn.execute(sa.text(f"GRANT {privileges} ON {quote(conn, table)} TO {quoted}"))
        for sequence in member_sequences(conn):
            conn.execute(sa.text(f"GRANT USAGE ON SEQUENCE {sequence} TO {quoted}"))


def revoke_member(engine: sa.Engine, member: str) -> Revoked | None:
    """Take a member's access away: `member` is their owner key or their role. Their rows stay
    (export them first, and delete them when asked). The role is dropped unless it still holds
    privileges elsewhere. None when no such member is recorded."""
    with admin_transaction(engine, creating_roles=True) as conn:
        row = conn.execute(sa.text("SELECT db_role, owner FROM team_members WHERE db_role = :m OR owner = :m"),
                           {"m": member}).first()
        if row is None:
            return None
        conn.execute(sa.text("DELETE FROM team_members WHERE db_role = :role"), {"role": row.db_role})
        if not role_exists(conn, row.db_role):
            return Revoked(row.owner, row.db_role, role_dropped=True)
        quoted, schema = quote(conn, row.db_role), quote(conn, current_schema(conn))
        conn.execute(sa.text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {quoted}"))
        conn.execute(sa.text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {quoted}"))
        conn.execute(sa.text(f"REVOKE ALL ON SCHEMA {schema} FROM {quoted}"))
        try:
            with conn.begin_nested():
                conn.execute(sa.text(f"DROP ROLE {quoted}"))
        except sa.exc.DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", "") not in ("2BP01", "42501"):  # depended on; not ours to drop
                raise
            return Revoked(row.owner, row.db_role, role_dropped=False)
        return Revoked(row.owner, row.db_role, role_dropped=True)


@contextmanager
def admin_transaction(engine: sa.Engine, creating_roles: bool = False) -> Iterator[sa.Connection]:
    """A transaction of the admin on an up-to-date PostgreSQL store, holding this store's
    row-security lock so two admins never interleave policy changes."""
    label = hide_password(engine.url)
    if engine.dialect.name != "postgresql":
        raise StoreError(f"Row-level security needs PostgreSQL, and the store {label} is "
                         f"{engine.dialect.name}. Point [store] url at the team's PostgreSQL database.")
    try:
        migrate(engine)
        with engine.begin() as conn:
            require_admin(conn, label, creating_roles)
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:space, :key)"),
                         dict(zip(("space", "key"), advisory_key(conn, "row-security"))))
            yield conn
    except sa.exc.DBAPIError as exc:
        raise (store_error_from(exc, label) or exc) from None


def require_admin(conn: sa.Connection, label: str, creating_roles: bool) -> None:
    if (conn.dialect.server_version_info or (0,)) < (14,):  # harvester_member_owner() is BEGIN ATOMIC
        raise StoreError(f"Row-level security for a team needs PostgreSQL 14 or newer, and {label} runs "
                         f"{'.'.join(map(str, conn.dialect.server_version_info or ()))}. Upgrade the server.")
    who = conn.execute(sa.text("SELECT current_user AS name, rolsuper, rolcreaterole FROM pg_roles "
                               "WHERE rolname = current_user")).one()
    not_owned = conn.execute(sa.text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relname = ANY(:tables) "
        "AND NOT pg_has_role(current_user, c.relowner, 'USAGE') ORDER BY 1"),
        {"tables": list(POLICIES)}).scalars().all()
    if not_owned:
        raise StoreError(f"The role {who.name} does not own harvester's tables in {label} ({', '.join(not_owned)}): "
                         "connect as the role that runs migrations and the nightly harvest.")
    if creating_roles and not (who.rolsuper or who.rolcreaterole):
        raise StoreError(f"The role {who.name} cannot create or drop member roles in {label}: "
                         f"have the DBA run ALTER ROLE {who.name} CREATEROLE, or connect as a role that has it.")


def apply_policies(conn: sa.Connection) -> None:
    conn.execute(sa.text(OWNER_FUNCTION))
    for table, policies in POLICIES.items():
        quoted = quote(conn, table)
        conn.execute(sa.text(f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY"))
        stale = conn.execute(sa.text("SELECT policyname FROM pg_policies WHERE schemaname = current_schema() "
                                     "AND tablename = :table AND starts_with(policyname, :prefix)"),
                             {"table": table, "prefix": POLICY_PREFIX}).scalars().all()
        for name in stale:
            conn.execute(sa.text(f"DROP POLICY {quote(conn, name)} ON {quoted}"))
        for name, command, using, check in policies:
            with_check = f" WITH CHECK ({check})" if check else ""
            conn.execute(sa.text(f"CREATE POLICY {name} ON {quoted} FOR {command} USING ({using}){with_check}"))


def record_member(conn: sa.Connection, owner: str, db_role: str) -> None:
    """Map `db_role` to `owner`, creating the role when missing. Refuses to re-map either, and
    refuses a role that row-level security does not apply to."""
    for row in conn.execute(sa.text("SELECT db_role, owner FROM team_members WHERE db_role = :role OR owner = :owner"),
                            {"role": db_role, "owner": owner}):
        if (row.db_role, row.owner) != (db_role, owner):
            raise StoreError(f"The role {row.db_role} already belongs to {row.owner}: remove that member first "
                             "(revoke_member), or give each member a key and a role of their own.")
    if role_exists(conn, db_role):
        bypass = conn.execute(sa.text(
            "SELECT r.rolsuper OR r.rolbypassrls OR pg_has_role(r.oid, c.relowner, 'USAGE') "
            "FROM pg_roles r, pg_class c WHERE r.rolname = :role AND c.oid = 'records'::regclass"),
            {"role": db_role}).scalar()
        if bypass:
            raise StoreError(f"The role {db_role} is not subject to row-level security (a superuser, BYPASSRLS, "
                             "or an owner of harvester's tables): give the member a role of their own.")
    else:
        conn.execute(sa.text(f"CREATE ROLE {quote(conn, db_role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                             "NOBYPASSRLS"))
    conn.execute(sa.text("INSERT INTO team_members (db_role, owner, added_at) VALUES (:role, :owner, :now) "
                         "ON CONFLICT (db_role) DO NOTHING"), {"role": db_role, "owner": owner, "now": utcnow()})


def member_sequences(conn: sa.Connection) -> list[str]:
    """The id sequences of the tables members insert into, schema-qualified as PostgreSQL names them."""
    tables = [t for t, privileges in GRANTS.items() if "INSERT" in privileges]
    return conn.execute(sa.text(
        "SELECT pg_get_serial_sequence(quote_ident(table_schema) || '.' || quote_ident(table_name), 'id') "
        "FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'id' "
        "AND table_name = ANY(:tables) ORDER BY table_name"), {"tables": tables}).scalars().all()


def role_exists(conn: sa.Connection, db_role: str) -> bool:
    return conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": db_role}).first() is not None


def current_schema(conn: sa.Connection) -> str:
    return conn.execute(sa.text("SELECT current_schema()")).scalar_one()


def quote(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)
