"""`harvester doctor`: what the config points at and, for each source, whether it answers,
whom it knows you as, and whether your handles match your records there.

A connector takes part by defining `diagnose(since) -> Diagnosis`; it asks its server as
little as it can (who am I, one bounded search) and never writes anything."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Mapping

from harvester.config import Config, app_dir
from harvester.errors import AuthError, ConfigError, HarvesterError, TransientError

DOCTOR_DAYS = 90
_WORD_SPLIT = re.compile(r"[._\-+\s]+")


@dataclass
class Problem:
    message: str
    fix: str

    def as_json(self) -> dict[str, str]:
        return {"problem": self.message, "fix": self.fix}


@dataclass
class Diagnosis:
    """What a connector found out about itself. `matching` counts records of the window that
    match your handles; `capped` says the count stopped at a bound and is a lower limit."""

    source: str = ""
    type: str = ""
    reachable: bool | None = None  # None: not tried (the config did not get that far)
    identity: str = ""  # who the credentials belong to, as the source names them
    matching: int | None = None
    capped: bool = False
    what: str = "records"  # the plural noun `matching` counts ("runs", "merged pull requests")
    near_misses: dict[str, int] = field(default_factory=dict)  # owner -> records: looks like you, not a handle
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add_problem(self, message: str, fix: str) -> None:
        self.problems.append(Problem(message, fix))

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "type": self.type, "ok": self.ok, "reachable": self.reachable,
                "identity": self.identity or None, "matching": self.matching, "matching_capped": self.capped,
                "counted": self.what, "near_misses": dict(self.near_misses),
                "problems": [p.as_json() for p in self.problems], "notes": list(self.notes)}


@dataclass
class DoctorReport:
    config_file: str
    command: str
    store_url: str
    app_dir: str
    log_file: str
    lock_file: str
    since: datetime
    problems: list[Problem] = field(default_factory=list)  # about the config, store or app dir
    sources: list[Diagnosis] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(d.ok for d in self.sources)

    @property
    def problem_count(self) -> int:
        return len(self.problems) + sum(len(d.problems) for d in self.sources)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "config_file": self.config_file, "store_url": self.store_url,
                "app_dir": self.app_dir, "log_file": self.log_file, "lock_file": self.lock_file,
                "since": self.since.isoformat(), "problems": [p.as_json() for p in self.problems],
                "sources": [d.as_json() for d in self.sources]}


# who looks like you ------------------------------------------------------------------------------


def name_keys(value: str) -> set[str]:
    """The parts of a user name or email that identify a person: the whole (lowercased), the
    local part of an email, and its words ("ada.lovelace@x.org" -> ada.lovelace, ada, lovelace).
    One-letter words are left out: an initial alone matches too many people."""
    text = (value or "").strip().lower()
    if not text:
        return set()
    local = text.split("@", 1)[0]
    keys = {text, local, *_WORD_SPLIT.split(local)}
    return {k for k in keys if len(k) > 1}


def looks_like(owner: str, names: Iterable[str]) -> bool:
    """Whether `owner` shares a name part with any of `names`, case-insensitively."""
    keys = name_keys(owner)
    return any(keys & name_keys(n) for n in names)


def find_near_misses(counts: Mapping[str, int], handles: Iterable[str], names: Iterable[str]) -> dict[str, int]:
    """Owners (with their record counts) that are not among `handles` but look like one of
    `names` (your handles, email and name). Most records first."""
    mine = {h.strip().lower() for h in handles}
    names = [n for n in names if n]
    found = {owner: n for owner, n in counts.items()
             if owner.strip().lower() not in mine and looks_like(owner, names)}
    return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))


def identity_names(config_identity: Any, *extra: str) -> list[str]:
    """Everything in [identity] a server's user name could be compared with."""
    return [*sorted(config_identity.all_handles), config_identity.name, *extra]


def report_near_misses(d: Diagnosis, where: str, what: str, since: datetime) -> None:
    for owner, n in d.near_misses.items():
        d.add_problem(f"{n} {what} since {since:%Y-%m-%d} belong to {owner!r}, which looks like you but is not "
                      "in your handles, so the harvest skips them.",
                      f"Add \"{owner}\" to [identity] handles (or to handles in {where}) if it is you.")


# running the checks ----------------------------------------------------------------------------------


def problem_from_error(exc: HarvesterError, where: str) -> Problem:
    """A connector's error as a problem with its fix. The messages name their cause; the fix
    says where to act."""
    message = str(exc)
    if isinstance(exc, AuthError):
        return Problem(message, f"Check the credentials {where} names (token_env and the variable it names).")
    if isinstance(exc, TransientError):
        return Problem(message, f"Check the address in {where} and that the server is up, then run doctor again.")
    if isinstance(exc, ConfigError):
        return Problem(message, f"Edit {where} as the message says.")
    return Problem(message, f"Check {where} against the message, then run doctor again.")


def diagnose_source(connector: Any, since: datetime) -> Diagnosis:
    where = f"[connectors.{connector.instance}]"
    diagnose = getattr(connector, "diagnose", None)
    if diagnose is None:
        d = Diagnosis(notes=[f"no diagnosis for the {connector.type_name} type; a harvest shows whether it works"])
    else:
        try:
            d = diagnose(since)
        except HarvesterError as exc:
            d = Diagnosis(reachable=False if isinstance(exc, TransientError) else None,
                          problems=[problem_from_error(exc, where)])
            if isinstance(exc, AuthError):
                d.reachable = True
        finally:
            connector.close()
    d.source, d.type = connector.instance, connector.type_name
    return d


def check_store(config: Config) -> list[Problem]:
    """What can be told about the store without opening it (opening a SQLite store creates it)."""
    from harvester.store.faults import hide_password

    import sqlalchemy as sa

    try:
        url = sa.engine.make_url(config.store_url)
    except sa.exc.ArgumentError:
        return [Problem(f"the [store] url {hide_password(config.store_url)} cannot be read.",
                        "Write it as sqlite:///PATH or postgresql+psycopg://USER@HOST/DB in [store] url.")]
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return []
    folder = Path(url.database).expanduser().parent
    if not folder.is_dir():
        return [Problem(f"the store's folder {folder} does not exist.",
                        f"Create it (mkdir -p {folder}) or point [store] url at an existing folder.")]
    return []


def run_doctor(config: Config, now: datetime | None = None) -> DoctorReport:
    from harvester.commands import command_prefix
    from harvester.harvest import create_connector
    from harvester.lock import app_lock_path
    from harvester.models import utcnow
    from harvester.nightly import load_nightly_settings
    from harvester.store.faults import hide_password

    since = (now or utcnow()) - timedelta(days=DOCTOR_DAYS)
    problems: list[Problem] = []
    try:
        log_file = str(load_nightly_settings(config).log_path)
    except HarvesterError as exc:
        log_file = "(unknown)"
        problems.append(Problem(str(exc), "Fix the [nightly] table as the message says."))
    report = DoctorReport(config_file=str(config.path.resolve()) if config.path else "(none: built-in defaults)",
                          command=command_prefix(config), store_url=hide_password(config.store_url),
                          app_dir=str(app_dir()), log_file=log_file, lock_file=str(app_lock_path(config.store_url)),
                          since=since, problems=problems)
    if config.path is None:
        report.problems.append(Problem("no config file was found, so no source is configured.",
                                       "Run `harvester init` and edit the file it writes."))
    report.problems += check_store(config)
    if config.path is not None and not config.connectors:
        report.problems.append(Problem(f"{config.label} has no [connectors.<name>] table.",
                                       "Add one (see config.example.toml)."))
    for name, inst in sorted(config.connectors.items()):
        try:
            connector = create_connector(inst, config)
            connector.check()
        except HarvesterError as exc:
            report.sources.append(Diagnosis(source=name, type=inst.type,
                                            problems=[problem_from_error(exc, f"[connectors.{name}]")]))
            continue
        report.sources.append(diagnose_source(connector, since))
    return report


# what a harvest says about matching -----------------------------------------------------------------


def sources_without_my_records(store: Any, summary: Any) -> tuple[str, ...]:
    """The sources of a harvest that completed but from which the store holds no record of
    yours, from this harvest or any before it: handles that match nothing look like this."""
    done = [s.source for s in summary.sources if s.ok]
    if not done:
        return ()
    matched = store.sources_with_records_of_mine(done)
    return tuple(s for s in done if s not in matched)


# the report as text ----------------------------------------------------------------------------------


def render_report(report: DoctorReport) -> list[str]:
    from harvester.safe_text import one_line

    lines = [f"Config:  {report.config_file}", f"Store:   {report.store_url}", f"App dir: {report.app_dir}",
             f"Log:     {report.log_file}", f"Lock:    {report.lock_file}"]
    lines += [f"  ! {one_line(p.message)}\n    fix: {one_line(p.fix)}" for p in report.problems]
    for d in report.sources:
        lines.append("")
        lines.append(f"{d.source} ({d.type})")
        if d.reachable is not None:
            lines.append(f"  reachable:  {'yes' if d.reachable else 'no'}")
        if d.identity:
            lines.append(f"  signed in as: {one_line(d.identity)}")
        if d.matching is not None:
            count = f"{'at least ' if d.capped else ''}{d.matching}"
            lines.append(f"  yours since {report.since:%Y-%m-%d}: {count} {d.what}")
        if d.near_misses:
            owners = ", ".join(f"{one_line(o)} ({n})" for o, n in d.near_misses.items())
            lines.append(f"  look like you but are not your handles: {owners}")
        lines += [f"  note: {one_line(n)}" for n in d.notes]
        lines += [f"  ! {one_line(p.message)}\n    fix: {one_line(p.fix)}" for p in d.problems]
    lines.append("")
    n = report.problem_count
    lines.append("No problems found." if report.ok else
                 f"{n} problem{'s' if n != 1 else ''}; fix {'them' if n != 1 else 'it'}, then run "
                 f"`{report.command} doctor` again.")
    return lines
