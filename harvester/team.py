"""Team mode: the members a `[team]` table lists, and which of them a command acts as.

One harvest reads every source once for the whole team and stores each record under the
member it belongs to (by the handle that logged it); rules, drafts, digest and report then run
per member. Without a `[team]` table nothing here is used and `[identity]` is the one user.
"""

from __future__ import annotations

import getpass
import os
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from harvester.config import Config, IdentitySettings
from harvester.errors import ConfigError
from harvester.settings import build_settings, setting
from harvester.store.team_scope import RecordOwners

MEMBER_ENV = "HARVESTER_MEMBER"
_TEAM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,60}$")
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class MemberSettings:
    name: str = setting(help="the member's name, as their digest and report address them")
    email: str = setting(help="where their weekly digest goes; also the key their rows carry")
    handles: tuple[str, ...] = setting((), "MLflow mlflow.user / W&B usernames that are them")
    github: str = setting("", "their GitHub login")
    gitlab: str = setting("", "their GitLab username")
    jira: str = setting("", "their Jira Cloud account id (or Server/Data Center username)")
    os_user: str = setting("", "their login on the machine, so commands they run act as them without --member")
    db_role: str = setting("", "their PostgreSQL role (default: harvester_ plus their e-mail, e.g. "
                               "harvester_ada_example_com)")

    def __post_init__(self):
        if "@" not in self.email or self.email.strip() != self.email or ":" in self.email:
            raise ValueError(f"email must be an e-mail address, got {self.email!r}")
        if not self.name.strip():
            raise ValueError("name must not be empty")
        if self.db_role and not _ROLE.match(self.db_role):
            raise ValueError(f"db_role must be a lowercase PostgreSQL name (letters, digits, _), got {self.db_role!r}")


@dataclass(frozen=True)
class Member:
    settings: MemberSettings

    @property
    def key(self) -> str:
        """The owner every row of theirs carries."""
        return self.settings.email.lower()

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def identity(self) -> IdentitySettings:
        s = self.settings
        handles = tuple(h for h in (*s.handles, s.github, s.gitlab, s.jira) if h.strip())
        return IdentitySettings(name=s.name, email=s.email, handles=handles, key=self.key)

    @property
    def handles(self) -> frozenset[str]:
        return self.identity.all_handles

    @property
    def db_role(self) -> str:
        from harvester.store.row_security import default_role_name

        return self.settings.db_role or default_role_name(self.key)

    def answers_to(self, name: str) -> bool:
        wanted = name.strip().lower()
        s = self.settings
        return wanted in {self.key, s.name.strip().lower(), s.os_user.strip().lower(), self.db_role} - {""}


@dataclass(frozen=True)
class Team:
    name: str
    members: tuple[Member, ...]

    @property
    def key(self) -> str:
        """The owner of what belongs to the team as a whole: cursors, harvest runs, and records
        of people outside it."""
        return f"team:{self.name.lower()}"

    @property
    def identity(self) -> IdentitySettings:
        """Everyone's run handles and e-mails: whose runs the team's harvest reads. Forge and
        Jira accounts reach the connectors through `members`."""
        handles = sorted({h.strip().lower() for m in self.members for h in (*m.settings.handles, m.key) if h.strip()})
        return IdentitySettings(name=self.name, handles=tuple(handles), key=self.key)

    @property
    def owners(self) -> tuple[str, ...]:
        return (self.key, *(m.key for m in self.members))

    def owner_by_handle(self) -> dict[str, str]:
        return {h: m.key for m in self.members for h in m.handles}

    def find(self, name: str) -> Member | None:
        return next((m for m in self.members if m.answers_to(name)), None)


def load_team(config: Config) -> Team | None:
    """The `[team]` table (members listed in it, or in the file it names), or None."""
    if "team" not in config.raw:
        return None
    table = dict(config.section("team"))
    where = config.where("team")
    name = table.pop("name", None)
    if not isinstance(name, str) or not _TEAM_NAME.match(name):
        raise ConfigError(f"{where}: name must be a short team name (letters, digits, '-', '_', '.'), "
                          f"for example name = \"ml-platform\".")
    listed = table.pop("members", [])
    members_file = table.pop("members_file", None)
    if table:
        raise ConfigError(f"{where}: unknown key {sorted(table)[0]!r}. Known keys: name, members, members_file.")
    if members_file is not None:
        listed = [*as_member_tables(listed, where), *read_members_file(members_file, config.path, where)]
    members = tuple(Member(build_settings(MemberSettings, body, f"{where} members[{i}] ({body.get('email', '?')})"))
                    for i, body in enumerate(as_member_tables(listed, where)))
    if not members:
        raise ConfigError(f"{where}: no members. Add [[team.members]] tables with name and email "
                          "(see config.example.toml).")
    check_distinct(members, where)
    return Team(name=name, members=members)


def as_member_tables(listed: Any, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(listed, list) or not all(isinstance(m, Mapping) for m in listed):
        raise ConfigError(f"{where}: members must be a list of tables ([[team.members]] with name and email).")
    return list(listed)


def read_members_file(value: Any, config_path: Path | None, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: members_file must be the path of a TOML file of [[members]] tables.")
    path = Path(value).expanduser()
    if not path.is_absolute() and config_path is not None:
        path = config_path.parent / path
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}: members_file {path} cannot be read ({exc.strerror}). Fix the path.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: members_file {path} is not valid TOML ({exc}).") from None
    return as_member_tables(raw.get("members", []), f"{path}")


def check_distinct(members: Sequence[Member], where: str) -> None:
    """Two members with one key, role or handle would make attribution a guess."""
    claimed: dict[str, str] = {}
    for m in members:
        for what, values in (("email", [m.key]), ("db_role", [m.db_role]), ("handle", sorted(m.handles))):
            for value in values:
                other = claimed.setdefault(f"{what}:{value}", m.name)
                if other != m.name:
                    raise ConfigError(f"{where}: {what} {value!r} is claimed by both {other!r} and {m.name!r}. "
                                      "Each member needs their own.")


def resolve_member(team: Team, explicit: str | None = None) -> Member:
    """The member a command acts as: --member, else $HARVESTER_MEMBER, else the OS user
    mapped in [team]."""
    wanted = explicit or os.environ.get(MEMBER_ENV, "")
    names = ", ".join(m.key for m in team.members)
    if wanted:
        member = team.find(wanted)
        if member is None:
            raise ConfigError(f"{wanted!r} is not a member of team {team.name!r}. Members: {names}.")
        return member
    try:
        login = getpass.getuser()
    except (OSError, KeyError):
        login = ""
    member = next((m for m in team.members if login and m.settings.os_user.lower() == login.lower()), None)
    if member is None:
        raise ConfigError(f"Which member of team {team.name!r} are you? Pass --member EMAIL or set {MEMBER_ENV} "
                          f"(or map your login {login!r} with os_user in [team]). Members: {names}.")
    return member


def member_config(config: Config, member: Member) -> Config:
    """The config as one member sees it: their identity in place of [identity]."""
    return replace(config, identity=member.identity)


def record_owners(team: Team) -> RecordOwners:
    return RecordOwners(team.key, team.owner_by_handle())
