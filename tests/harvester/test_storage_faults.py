"""Storage faults as a user meets them: one `Error:` line naming what is wrong and the fix,
exit 1, no traceback, no SQL, and nothing half-written. Covers files that are not harvester
stores, damaged files, read-only app dirs and stores, a full disk mid-harvest, a database that
fails mid-command, and HARVESTER_HOME pointing at a file."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from harvester.errors import StoreError
from harvester.lock import app_lock_path
from harvester.nightly import default_log_path
from harvester.models import Draft, Entry
from harvester.store import open_store
from harvester.store.migrations import MIGRATIONS, latest_version
from tests.support.cli import run_cli, write_config
from tests.support.mlflow_server import free_port
from tests.support.steady_source import SteadySettings, use_steady_source
from tests.support.storage import (digest, folder_digest, grow_disk, sealable_folder, small_disk,
                                   sqlite_page_cap)

OWNER = "ada@example.com"
FIXTURE = Path(__file__).parent.parent / "fixtures" / "store-0.1.0-decided.db"
LEAKS = ("Traceback", "[SQL", "SELECT ", "INSERT ", "UPDATE ", "sqlalche.me", "parameters")
WHEN = datetime(2026, 10, 2, tzinfo=timezone.utc)


def assert_one_line_error(result, *words: str, code: int | None = 1) -> str:
    """Exit `code` (any failure when None) and a single `Error:` line holding every word."""
    if code is None:
        assert result.exit_code != 0, result.output
    else:
        assert result.exit_code == code, result.output
    err = result.stderr.strip()
    assert err.startswith("Error: ") and "\n" not in err, err
    for word in words:
        assert word in err, err
    for leak in LEAKS:
        assert leak not in result.output, result.output
    return err


def store_config(tmp_path: Path, url: str, extra: str = "", name: str = "harvester.toml") -> Path:
    return write_config(tmp_path / name, f'[identity]\nemail = "{OWNER}"\n\n[store]\nurl = "{url}"\n{extra}')


def steady(count: int, page_size: int = 10, payload_bytes: int = 0) -> str:
    return (f"\n[harvest]\npage_size = {page_size}\n\n[connectors.steady]\ntype = \"steady\"\n"
            f"count = {count}\npayload_bytes = {payload_bytes}\n")


def seed_store(path: Path) -> None:
    """A store with one pending draft and one journal entry, closed."""
    store = open_store(f"sqlite:///{path}", OWNER)
    store.save_draft(Draft(id=None, fingerprint="fp1", status="pending", kind="metric_lift", source="mlflow-prod",
                           subject="fraud-detector", occurred_at=WHEN, statement="Improved validation AUC of fraud",
                           impact_prompt="What changed?"))
    store.add_entry(Entry(id=None, text="Paired on the feature-store backfill", occurred_at=WHEN))
    store.close()


def stored_item_ids(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT external_id FROM records ORDER BY occurred_at")]
    finally:
        conn.close()


def table_names(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


# -- files that are not harvester stores ----------------------------------------------------


def test_a_file_that_is_not_a_database_is_refused_in_one_line_and_left_as_it_was(tmp_path):
    junk = tmp_path / "notes.db"
    junk.write_text("shopping list: milk, eggs, coffee\n" * 200)
    before = digest(junk)
    cfg = store_config(tmp_path, f"sqlite:///{junk}")
    for args in (["drafts", "list"], ["journal"], ["log", "a note"], ["status"]):
        assert_one_line_error(run_cli("--config", str(cfg), *args), str(junk), "not a SQLite database", "[store] url")
    assert digest(junk) == before


@pytest.mark.parametrize("damage", ["schema page", "data pages", "truncated"])
def test_a_damaged_store_is_one_line_naming_the_file_and_the_fix(tmp_path, damage):
    path = tmp_path / "store.db"
    seed_store(path)
    data = bytearray(path.read_bytes())
    if damage == "schema page":
        data[100:4096] = b"\xa5" * (4096 - 100)
    elif damage == "data pages":
        data[4096:] = b"\x5a" * (len(data) - 4096)
    else:
        data = data[: len(data) // 2]
    path.write_bytes(bytes(data))
    cfg = store_config(tmp_path, f"sqlite:///{path}")
    for args in (["journal"], ["search", "feature"], ["drafts", "list"]):
        assert_one_line_error(run_cli("--config", str(cfg), *args), str(path), "damaged", "backup")


def test_a_sqlite_database_of_another_program_is_refused_and_gets_no_tables(tmp_path):
    other = tmp_path / "contacts.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
    conn.execute("INSERT INTO contacts VALUES ('Sam', '555-0100')")
    conn.commit()
    conn.close()
    before = digest(other)
    cfg = store_config(tmp_path, f"sqlite:///{other}")
    for args in (["drafts", "list"], ["journal"], ["log", "a note"]):
        assert_one_line_error(run_cli("--config", str(cfg), *args), str(other), "not a harvester store", "[store] url")
    assert table_names(other) == {"contacts"}
    assert digest(other) == before


def test_an_empty_file_is_initialised_as_a_new_store(tmp_path):
    empty = tmp_path / "new.db"
    empty.touch()
    cfg = store_config(tmp_path, f"sqlite:///{empty}")
    result = run_cli("--config", str(cfg), "drafts", "list")
    assert result.exit_code == 0, result.output
    assert {"harvester_schema", "records", "drafts", "entries"} <= table_names(empty)


# -- the app dir ------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["drafts", "list"], ["journal"], ["status"], ["init"], ["harvest"], ["nightly"]])
def test_harvester_home_pointing_at_a_file_is_one_line(tmp_path, monkeypatch, args):
    not_a_folder = tmp_path / "home-file"
    not_a_folder.write_text("x")
    monkeypatch.setenv("HARVESTER_HOME", str(not_a_folder))
    assert_one_line_error(run_cli(*args), "HARVESTER_HOME", str(not_a_folder), "a file, not a folder")
    assert not_a_folder.read_text() == "x"


def test_harvester_home_under_a_file_is_one_line(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "home-file"
    not_a_folder.write_text("x")
    monkeypatch.setenv("HARVESTER_HOME", str(not_a_folder / "harvester"))
    assert_one_line_error(run_cli("init"), str(not_a_folder / "harvester" / "config.toml"), "HARVESTER_HOME")
    assert_one_line_error(run_cli("drafts", "list"), str(not_a_folder / "harvester"))


def test_a_read_only_app_dir_makes_harvest_stop_at_the_lock_file_before_any_write(tmp_path, monkeypatch):
    use_steady_source(monkeypatch)
    with sealable_folder(tmp_path / "home") as home:
        monkeypatch.setenv("HARVESTER_HOME", str(home.path))
        log = tmp_path / "logs" / "harvester.log"
        cfg = store_config(tmp_path, f"sqlite:///{tmp_path / 'store.db'}",
                           steady(5) + f'\n[nightly]\nlog_file = "{log}"\n')
        home.seal()
        for args in (["harvest"], ["nightly"]):
            err = assert_one_line_error(run_cli("--config", str(cfg), *args), "lock file",
                                        str(app_lock_path(f"sqlite:///{tmp_path / 'store.db'}")), "HARVESTER_HOME")
            assert "writable" in err
        assert not (tmp_path / "store.db").exists()  # the store is opened only under the lock
        assert list(home.path.iterdir()) == []


def test_a_read_only_app_dir_makes_nightly_stop_at_its_log_file(tmp_path, monkeypatch):
    use_steady_source(monkeypatch)
    with sealable_folder(tmp_path / "home") as home:
        monkeypatch.setenv("HARVESTER_HOME", str(home.path))
        cfg = store_config(tmp_path, f"sqlite:///{tmp_path / 'store.db'}", steady(5))
        home.seal()
        assert_one_line_error(run_cli("--config", str(cfg), "nightly"), "log file",
                              str(default_log_path(f"sqlite:///{tmp_path / 'store.db'}")), code=None)
        assert not (tmp_path / "store.db").exists()
        assert list(home.path.iterdir()) == []


def test_init_in_a_read_only_app_dir_is_one_line_and_writes_nothing(tmp_path, monkeypatch):
    with sealable_folder(tmp_path / "home") as home:
        monkeypatch.setenv("HARVESTER_HOME", str(home.path))
        home.seal()
        assert_one_line_error(run_cli("init"), "config", str(home.path / "config.toml"), "--path")
        assert list(home.path.iterdir()) == []
    written = run_cli("init", "--path", str(tmp_path / "elsewhere.toml"))
    assert written.exit_code == 0 and (tmp_path / "elsewhere.toml").is_file()


# -- read-only stores ---------------------------------------------------------------------------


READ_COMMANDS = (["drafts", "list"], ["drafts", "list", "--json"], ["drafts", "show", "1"], ["journal"],
                 ["status"], ["report", "--since", "2026-01-01", "--format", "json"], ["search", "backfill"])
WRITE_COMMANDS = (["drafts", "confirm", "1"], ["drafts", "reject", "1"], ["log", "Shipped the ranker"],
                  ["redraft"])


def check_read_only_store(cfg: Path, store_file: Path) -> None:
    for args in READ_COMMANDS:
        result = run_cli("--config", str(cfg), *args)
        assert result.exit_code == 0, (args, result.output)
    assert "Improved validation AUC" in run_cli("--config", str(cfg), "drafts", "list").stdout
    assert "feature-store backfill" in run_cli("--config", str(cfg), "journal").stdout
    for args in WRITE_COMMANDS:
        assert_one_line_error(run_cli("--config", str(cfg), *args), "read-only", str(store_file), "chmod")
    assert_one_line_error(run_cli("--config", str(cfg), "harvest"), "read-only", str(store_file),
                          "harvesting writes to it")


def test_a_store_in_a_read_only_folder_serves_read_commands_and_refuses_writes_in_one_line(tmp_path, monkeypatch):
    use_steady_source(monkeypatch)
    with sealable_folder(tmp_path / "shared") as shared:
        store_file = shared.path / "store.db"
        seed_store(store_file)
        cfg = store_config(tmp_path, f"sqlite:///{store_file}", steady(5))
        shared.seal()
        before = folder_digest(shared.path)
        check_read_only_store(cfg, store_file)
        assert folder_digest(shared.path) == before  # not a byte changed, no -wal or -shm added


def test_a_read_only_store_file_serves_read_commands(tmp_path, monkeypatch):
    from tests.support.storage import IS_ROOT

    if IS_ROOT:
        pytest.skip("root writes files without write permission; the read-only folder test covers root")
    use_steady_source(monkeypatch)
    store_file = tmp_path / "store.db"
    seed_store(store_file)
    store_file.chmod(0o444)
    cfg = store_config(tmp_path, f"sqlite:///{store_file}", steady(5))
    before = folder_digest(tmp_path)
    check_read_only_store(cfg, store_file)
    assert folder_digest(tmp_path) == before  # no read-only -wal or -shm left to block later writes
    store_file.chmod(0o644)
    assert run_cli("--config", str(cfg), "log", "Writable again").exit_code == 0


def test_a_store_url_with_mode_ro_serves_read_commands_and_refuses_writes(tmp_path, monkeypatch):
    """The read-only path without file permissions, so it runs as root too."""
    use_steady_source(monkeypatch)
    folder = tmp_path / "shared"
    folder.mkdir()
    store_file = folder / "store.db"
    seed_store(store_file)
    before = folder_digest(folder)
    cfg = store_config(tmp_path, f"sqlite:///file:{store_file}?mode=ro&uri=true", steady(5))
    for args in READ_COMMANDS:
        result = run_cli("--config", str(cfg), *args)
        assert result.exit_code == 0, (args, result.output)
    for args in WRITE_COMMANDS:
        assert_one_line_error(run_cli("--config", str(cfg), *args), "read-only", "mode=ro")
    assert folder_digest(folder) == before  # not a byte changed, no -wal or -shm added


def test_a_read_only_store_that_needs_migrating_says_so_in_one_line_and_is_not_touched(tmp_path):
    old = tmp_path / "store-0.1.0.db"
    shutil.copyfile(FIXTURE, old)
    cfg = store_config(tmp_path, f"sqlite:///file:{old}?mode=ro&uri=true")
    assert_one_line_error(run_cli("--config", str(cfg), "drafts", "list"), "schema version 6",
                          f"version {latest_version()}", "read-only", "write access")
    assert digest(old) == digest(FIXTURE)


def test_open_store_read_only_reads_without_migrating_and_refuses_writes(database_url):
    writable = open_store(database_url, OWNER)
    writable.save_draft(Draft(id=None, fingerprint="fp1", status="pending", kind="metric_lift", source="m",
                              subject="fraud", occurred_at=WHEN, statement="Improved auc", impact_prompt="So what?"))
    writable.close()
    store = open_store(database_url, OWNER, read_only=True)
    try:
        assert [d.statement for d in store.list_drafts(["pending"])] == ["Improved auc"]
        with pytest.raises(StoreError, match="read-only") as raised:
            store.add_entry(Entry(id=None, text="note", occurred_at=WHEN))
        assert "INSERT" not in str(raised.value)
        with store.engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version FROM harvester_schema ORDER BY version")).scalars().all()
        assert versions == sorted(MIGRATIONS)
    finally:
        store.close()


def test_a_fresh_database_opened_read_only_is_refused_and_left_as_it_was(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        expected = "There is no store at .*store.db.*cannot be created"
    else:
        expected = f"schema version 0 and this harvester needs version {latest_version()}.*read-only"
    with pytest.raises(StoreError, match=expected):
        open_store(database_url, OWNER, read_only=True)
    assert not (tmp_path / "store.db").exists()
    if database_url.startswith("postgresql"):
        engine = sa.create_engine(database_url)
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []
        engine.dispose()


# -- a full disk -------------------------------------------------------------------------------


def check_consistent_after_full_disk(store_file: Path, count: int) -> list[str]:
    """The pages committed before the disk filled, each with its cursor: a prefix of the
    source, and the cursor at its last record."""
    conn = sqlite3.connect(store_file)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        [(cursor,)] = conn.execute("SELECT value FROM cursors WHERE source = 'steady'").fetchall()
        runs = conn.execute("SELECT status, error FROM harvest_runs").fetchall()
    finally:
        conn.close()
    ids = stored_item_ids(store_file)
    assert 0 < len(ids) < count, "the disk should fill in the middle of the harvest"
    assert ids == [f"item-{i}" for i in range(len(ids))]
    start = datetime.fromisoformat(SteadySettings.start)
    assert cursor == (start + timedelta(minutes=len(ids) - 1)).isoformat()
    assert all(status != "ok" for status, _ in runs)
    return ids


def check_full_disk_harvest(result, store_file: Path) -> None:
    assert result.exit_code == 1, result.output
    for leak in LEAKS:
        assert leak not in result.output, result.output
    errors = [line for line in result.stderr.splitlines() if "is full" in line]
    assert errors and all(str(store_file) in line and "Free space" in line for line in errors), result.stderr


def test_a_full_database_mid_harvest_keeps_each_page_with_its_cursor_and_a_rerun_completes(tmp_path, monkeypatch):
    use_steady_source(monkeypatch)
    store_file = tmp_path / "store.db"
    count = 200
    cfg = store_config(tmp_path, f"sqlite:///{store_file}", steady(count, page_size=10, payload_bytes=1500))
    assert run_cli("--config", str(cfg), "drafts", "list").exit_code == 0  # the empty store
    conn = sqlite3.connect(store_file)
    empty_pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    with sqlite_page_cap(empty_pages + 40):  # room for some of the pages, not all
        full = run_cli("--config", str(cfg), "harvest")
    check_full_disk_harvest(full, store_file)
    kept = check_consistent_after_full_disk(store_file, count)

    rerun = run_cli("--config", str(cfg), "harvest", "--json")
    assert rerun.exit_code == 0, rerun.output
    import json

    assert json.loads(rerun.stdout)["sources"][0]["records"] == count - len(kept)  # resumes at the cursor
    assert stored_item_ids(store_file) == [f"item-{i}" for i in range(count)]


def test_a_full_disk_mid_harvest_is_one_line_and_a_rerun_after_freeing_space_completes(tmp_path, monkeypatch):
    use_steady_source(monkeypatch)
    count = 400
    with small_disk(tmp_path / "disk", "1m") as disk:
        store_file = disk / "store.db"
        cfg = store_config(tmp_path, f"sqlite:///{store_file}", steady(count, page_size=10, payload_bytes=3000))
        full = run_cli("--config", str(cfg), "harvest")
        check_full_disk_harvest(full, store_file)
        check_consistent_after_full_disk(store_file, count)
        grow_disk(disk, "32m")
        rerun = run_cli("--config", str(cfg), "harvest")
        assert rerun.exit_code == 0, rerun.output
        assert stored_item_ids(store_file) == [f"item-{i}" for i in range(count)]


# -- errors in the middle of a command ----------------------------------------------------------


def test_a_database_error_mid_command_is_one_line_with_the_databases_own_message(tmp_path, database_url):
    store = open_store(database_url, OWNER)
    store.add_entry(Entry(id=None, text="Paired on the backfill", occurred_at=WHEN))
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE entries"))
    store.close()
    cfg = store_config(tmp_path, database_url)
    err = assert_one_line_error(run_cli("--config", str(cfg), "journal"), "entries")
    assert ("no such table" in err) or ("does not exist" in err)
    assert "re-run" in err


def test_an_unreachable_database_is_one_line_with_the_password_hidden(tmp_path):
    url = f"postgresql+psycopg://ada:s3cret-pw@127.0.0.1:{free_port()}/harvester"
    cfg = store_config(tmp_path, url)
    result = run_cli("--config", str(cfg), "drafts", "list")
    assert_one_line_error(result, "Cannot reach the store", "ada:***@127.0.0.1", "[store] url")
    assert "s3cret-pw" not in result.output


def test_a_database_error_that_bypassed_the_store_is_still_one_line_without_sql():
    from harvester.cli.app import describe_storage_fault

    orig = sqlite3.OperationalError("database or disk is full")
    exc = sa.exc.OperationalError("INSERT INTO records (payload) VALUES (?)", ("s3cret payload",), orig)
    message = describe_storage_fault(exc, None)
    assert message is not None and "is full" in message
    assert "INSERT" not in message and "s3cret" not in message
    assert describe_storage_fault(ValueError("a bug"), None) is None


def test_a_file_error_the_commands_did_not_expect_is_one_line():
    from harvester.cli.app import describe_storage_fault

    message = describe_storage_fault(PermissionError(13, "Permission denied", "/srv/harvester/harvester.log"), None)
    assert message.startswith("Cannot use /srv/harvester/harvester.log (Permission denied)")
    assert describe_storage_fault(BrokenPipeError(32, "Broken pipe"), None) is None
