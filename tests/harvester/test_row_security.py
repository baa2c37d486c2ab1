"""Team mode on a real PostgreSQL: a member's own database role reads and writes only their rows
(and the team's baselines), whatever SQL it sends; the admin sees everything."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from harvester.errors import StoreError
from harvester.models import Cursor, Draft, Entry, Finding, Metric, Record
from harvester.store import open_store
from harvester.store.row_security import (ROLE_NAME, default_role_name, enable_row_security, grant_member,
                                          revoke_member)

WHEN = datetime(2026, 10, 1, 12, tzinfo=timezone.utc)
ADA, BO, TEAM = "ada@example.com", "bo@example.com", "team:ml"
MEMBER_TABLES = ("drafts", "entries", "findings", "audit_events", "records")

# The store's PostgreSQL case only (database_url skips it when no server is set).
on_postgresql = pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                                        indirect=True)


def record(i: int, subject: str = "fraud") -> Record:
    return Record(source="m", kind="run", external_id=f"r{i}", occurred_at=WHEN, subject=subject,
                  attributes={"status": "finished", "metrics": {"auc": 0.8}}, payload={"i": i})


def draft(fp: str, statement: str) -> Draft:
    return Draft(id=None, fingerprint=fp, status="pending", kind="metric_lift", source="m", subject="fraud",
                 occurred_at=WHEN, statement=statement, impact_prompt="So what?", metrics=(Metric("auc", 0.8, 0.9),))


def finding(subject: str) -> Finding:
    return Finding(rule="metric_lift", kind="metric_lift", source="m", subject=subject, occurred_at=WHEN,
                   period="2026-Q4", metrics=(Metric("auc", 0.8, 0.9),), identity=(subject,))


def seed_member(url: str, owner: str, word: str) -> None:
    store = open_store(url, owner)
    try:
        store.save_page([record(1, subject=f"{word}-model")], None)
        store.save_findings([finding(f"{word}-model")])
        store.save_draft(draft(f"{word}-1", f"Improved {word} recall"))
        store.save_draft(draft(f"{word}-2", f"Cut {word} latency"))
        store.add_entry(Entry(id=None, text=f"Shipped the {word} pipeline", occurred_at=WHEN))
        store.set_state("digest.last", word)
        store.start_harvest_run("m")
    finally:
        store.close()


def seed_team(url: str) -> None:
    store = open_store(url, TEAM)
    try:
        store.save_page([record(7, subject="baseline")], Cursor(source="m", stream="runs", value="7"))
        store.finish_harvest_run(store.start_harvest_run("m"), "ok", 1, 1, None)
    finally:
        store.close()


def member_url(database_url: str, role: str) -> str:
    return sa.engine.make_url(database_url).set(username=role, password=None).render_as_string(hide_password=False)


@pytest.fixture
def team(database_url):
    """Ada's and Bo's data and the team's baselines, seeded by the admin; Ada and Bo granted
    roles of their own (dropped afterwards, whatever happened: roles outlive the schema)."""
    suffix = uuid.uuid4().hex[:10]
    roles = {ADA: f"harvester_t{suffix}_ada", BO: f"harvester_t{suffix}_bo"}
    admin = sa.create_engine(database_url)
    try:
        seed_member(database_url, ADA, "ada")
        seed_member(database_url, BO, "bo")
        seed_team(database_url)
        for owner, role in roles.items():
            grant_member(admin, owner, role)
        yield admin, roles
    finally:
        with admin.begin() as conn:
            for role in roles.values():
                if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                    conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
                    conn.execute(sa.text(f'DROP ROLE "{role}"'))
        admin.dispose()


@pytest.fixture
def ada(team, database_url):
    """A connection of Ada's own role."""
    _, roles = team
    engine = sa.create_engine(member_url(database_url, roles[ADA]))
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def owners(conn: sa.Connection, table: str) -> set[str]:
    return set(conn.execute(sa.text(f"SELECT owner FROM {table}")).scalars())


@on_postgresql
def test_a_member_selects_only_their_own_rows_and_the_team_baselines(team, ada):
    admin, _ = team
    for table in ("drafts", "entries", "findings", "audit_events", "app_state"):
        assert owners(ada, table) == {ADA}, table
        assert ada.execute(sa.text(f"SELECT count(*) FROM {table} WHERE owner = :bo"), {"bo": BO}).scalar() == 0
    assert owners(ada, "records") == {ADA, TEAM}
    assert owners(ada, "harvest_runs") == {ADA, TEAM}
    with admin.connect() as conn:
        for table in MEMBER_TABLES + ("app_state", "harvest_runs"):
            assert BO in owners(conn, table), table
        assert owners(conn, "cursors") == {TEAM}


@on_postgresql
def test_a_member_cannot_read_cursors_at_all(ada):
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        ada.execute(sa.text("SELECT * FROM cursors"))


@on_postgresql
def test_another_members_rows_cannot_be_updated_or_deleted(team, ada):
    admin, _ = team
    with admin.connect() as conn:
        before = {t: conn.execute(sa.text(f"SELECT * FROM {t} WHERE owner = :bo ORDER BY id"), {"bo": BO}).all()
                  for t in MEMBER_TABLES}
    for table in MEMBER_TABLES:
        assert ada.execute(sa.text(f"UPDATE {table} SET owner = :ada WHERE owner = :bo"),
                           {"ada": ADA, "bo": BO}).rowcount == 0, table
        assert ada.execute(sa.text(f"DELETE FROM {table} WHERE owner = :bo"), {"bo": BO}).rowcount == 0, table
    assert ada.execute(sa.text("UPDATE drafts SET statement = 'mine now'")).rowcount == 2  # Ada's two only
    ada.commit()
    with admin.connect() as conn:
        after = {t: conn.execute(sa.text(f"SELECT * FROM {t} WHERE owner = :bo ORDER BY id"), {"bo": BO}).all()
                 for t in MEMBER_TABLES}
    assert after == before


@on_postgresql
def test_a_member_cannot_write_rows_under_another_owner(ada):
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
        ada.execute(sa.text(
            "INSERT INTO entries (owner, text, occurred_at, kind, source, subject, tags, evidence, metrics, created_at,"
            " updated_at) VALUES (:bo, 'forged', now(), 'note', 'manual', '', '[]', '[]', '[]', now(), now())"),
            {"bo": BO})
    ada.rollback()
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
        ada.execute(sa.text("UPDATE drafts SET owner = :bo"), {"bo": BO})
    ada.rollback()


@on_postgresql
def test_a_member_reads_team_rows_but_cannot_change_them(team, ada):
    admin, _ = team
    assert ada.execute(sa.text("SELECT title FROM records WHERE owner = :t"), {"t": TEAM}).all() != []
    assert ada.execute(sa.text("UPDATE records SET title = 'x' WHERE owner = :t"), {"t": TEAM}).rowcount == 0
    assert ada.execute(sa.text("DELETE FROM records WHERE owner = :t"), {"t": TEAM}).rowcount == 0
    ada.commit()
    for statement in ("UPDATE harvest_runs SET status = 'x'", "DELETE FROM harvest_runs"):
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            ada.execute(sa.text(statement))
        ada.rollback()
    with admin.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM records WHERE owner = :t AND title <> 'x'"),
                            {"t": TEAM}).scalar() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM harvest_runs")).scalar() == 3


@on_postgresql
def test_a_member_store_serves_everyday_commands_with_their_data_only(team, database_url):
    _, roles = team
    store = open_store(member_url(database_url, roles[ADA]), ADA)
    try:
        drafts = store.list_drafts()
        assert sorted(d.statement for d in drafts) == ["Cut ada latency", "Improved ada recall"]
        entry = store.confirm_draft(drafts[0].id, text="Raised ada recall to 0.9")
        store.add_entry(Entry(id=None, text="Mentored a new hire on ada tooling", occurred_at=WHEN))
        assert len(store.list_entries()) == 3 and store.get_entry(entry.id).text == "Raised ada recall to 0.9"
        assert [h.text for h in store.search("pipeline")] == ["Shipped the ada pipeline"]
        assert store.history("entry", entry.id)[0].action == "created"
        assert store.get_state("digest.last") == "ada"
        assert store.count_records() == 1
    finally:
        store.close()


@on_postgresql
def test_a_member_claiming_another_owner_key_sees_nothing(team, database_url):
    _, roles = team
    store = open_store(member_url(database_url, roles[ADA]), BO)
    try:
        assert store.list_drafts() == [] and store.list_entries() == [] and store.search("pipeline") == []
        with pytest.raises(StoreError, match="lacks a permission"):
            store.add_entry(Entry(id=None, text="forged", occurred_at=WHEN))
    finally:
        store.close()


@on_postgresql
def test_granting_and_enabling_twice_changes_nothing(team, ada):
    admin, roles = team
    grant_member(admin, ADA, roles[ADA])
    enable_row_security(admin)
    assert owners(ada, "drafts") == {ADA}
    with admin.connect() as conn:
        assert conn.execute(sa.text("SELECT db_role, owner FROM team_members ORDER BY owner")).all() == \
            [(roles[ADA], ADA), (roles[BO], BO)]
        assert conn.execute(sa.text("SELECT count(*) FROM pg_policies WHERE schemaname = current_schema() "
                                    "AND tablename = 'records'")).scalar() == 2


@on_postgresql
def test_a_role_cannot_change_hands_or_be_one_that_bypasses_the_policies(team):
    admin, roles = team
    with pytest.raises(StoreError, match="already belongs to ada@example.com"):
        grant_member(admin, "cy@example.com", roles[ADA])
    with pytest.raises(StoreError, match="already belongs to ada@example.com"):
        grant_member(admin, ADA, roles[BO])
    with pytest.raises(StoreError, match="not subject to row-level security"):
        grant_member(admin, "cy@example.com", "postgres")


@on_postgresql
def test_revoking_a_member_ends_their_access_and_twice_is_harmless(team, database_url):
    admin, roles = team
    revoked = revoke_member(admin, ADA)
    assert revoked is not None and revoked.db_role == roles[ADA] and revoked.role_dropped
    assert revoke_member(admin, ADA) is None and revoke_member(admin, roles[ADA]) is None
    engine = sa.create_engine(member_url(database_url, roles[ADA]))
    try:
        with pytest.raises(sa.exc.OperationalError, match="does not exist"):
            engine.connect()
    finally:
        engine.dispose()
    with admin.connect() as conn:
        assert ADA in owners(conn, "entries")  # the data stays until deleted on request
        assert conn.execute(sa.text("SELECT owner FROM team_members")).scalars().all() == [BO]


@on_postgresql
def test_a_role_with_privileges_elsewhere_is_kept_but_loses_this_store(team, database_url):
    admin, roles = team
    elsewhere = f"t_{uuid.uuid4().hex[:12]}_other"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{elsewhere}"'))
        conn.execute(sa.text(f'CREATE TABLE "{elsewhere}".notes (id integer)'))
        conn.execute(sa.text(f'GRANT SELECT ON "{elsewhere}".notes TO "{roles[ADA]}"'))
    try:
        revoked = revoke_member(admin, roles[ADA])
        assert revoked is not None and revoked.owner == ADA and not revoked.role_dropped
        engine = sa.create_engine(member_url(database_url, roles[ADA]))
        try:
            with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="does not exist"):
                conn.execute(sa.text("SELECT * FROM drafts"))  # without USAGE on the schema, not even its name
        finally:
            engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{elsewhere}" CASCADE'))


@on_postgresql
@pytest.mark.parametrize("name", ['x"; DROP TABLE drafts; --', "Ada", "pg_ada", "1ada", "a" * 64, ""])
def test_role_names_that_are_not_plain_identifiers_are_refused(team, name):
    admin, _ = team
    with pytest.raises(StoreError, match="cannot be a member's database role"):
        grant_member(admin, "cy@example.com", name)
    with admin.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM drafts")).scalar() == 4


@on_postgresql
@pytest.mark.parametrize("owner", ["team:ml", "Ada@Example.com", "", " ada@example.com"])
def test_owner_keys_that_are_not_member_keys_are_refused(team, owner):
    admin, _ = team
    with pytest.raises(StoreError, match="is not a member key"):
        grant_member(admin, owner, "harvester_cy")


@on_postgresql
def test_a_member_role_cannot_grant(team, database_url):
    _, roles = team
    engine = sa.create_engine(member_url(database_url, roles[BO]))
    try:
        with pytest.raises(StoreError, match="does not own harvester's tables"):
            grant_member(engine, "cy@example.com", "harvester_cy")
    finally:
        engine.dispose()


@on_postgresql
def test_an_owner_without_createrole_is_told_what_to_ask_for(team, database_url):
    admin, _ = team
    owner_role = f"harvester_t{uuid.uuid4().hex[:10]}_owner"
    with admin.begin() as conn:
        table_owner = conn.execute(sa.text("SELECT tableowner FROM pg_tables WHERE tablename = 'records' "
                                           "AND schemaname = current_schema()")).scalar()
        conn.execute(sa.text(f'CREATE ROLE "{owner_role}" LOGIN NOCREATEROLE IN ROLE "{table_owner}"'))
    engine = sa.create_engine(member_url(database_url, owner_role))
    try:
        with pytest.raises(StoreError, match=f"ALTER ROLE {owner_role} CREATEROLE"):
            grant_member(engine, "cy@example.com", "harvester_cy")
        enable_row_security(engine)  # owning the tables is enough for the policies
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP ROLE "{owner_role}"'))


def test_default_role_names_are_valid_identifiers():
    assert default_role_name("ada.lovelace@example.com") == "harvester_ada_lovelace_example_com"
    long_name = default_role_name("a" * 150 + "@example.com")
    assert len(long_name) == 63 and ROLE_NAME.fullmatch(long_name)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_stores_are_told_row_security_needs_postgresql(database_url):
    engine = sa.create_engine(database_url)
    try:
        with pytest.raises(StoreError, match="needs PostgreSQL"):
            grant_member(engine, ADA, "harvester_ada")
    finally:
        engine.dispose()
