"""The digest's plain data: its [digest] settings, the digest itself and the outcome of a send."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from harvester.config import Config
from harvester.drafting.kinds import kinds_where
from harvester.errors import ConfigError
from harvester.models import Draft, Entry
from harvester.settings import build_settings, setting

SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
LAST_SENT_KEY = "digest.last_sent"
LAST_FAILED_KEY = "digest.last_failed"
CHECKINS_ASKED_KEY = "digest.checkins_asked"


@dataclass(frozen=True)
class DigestSettings:
    to: tuple[str, ...] = setting((), "recipients (required to send)")
    sender: str = setting("", "sender address (required to send)")  # the TOML key is `from`
    host: str = setting("localhost", "SMTP server")
    port: int = setting(0, "`0` picks the security mode's port: 587 `starttls`, 465 `ssl`, 25 `none`")
    security: str = setting("starttls", '`"starttls"`, `"ssl"` (implicit TLS) or `"none"` (a trusted local relay '
                            "only). The server's certificate is verified against the system's CAs; for a private "
                            "CA, point `SSL_CERT_FILE` at its PEM file")
    username: str = setting("", "SMTP login; empty sends without logging in")
    password_env: str = setting("", "the *name* of the environment variable holding the SMTP password")
    timeout: int = setting(30, "seconds for the SMTP conversation")
    since: str = setting("7d", "drafts new or updated in this window are listed in full")
    send_empty: bool = setting(False, "send even when nothing is pending and no check-in is due")
    subject_prefix: str = setting("[harvester]", "start of the subject line")
    command: str = setting("", "how commands in the mail start; default `harvester`, plus `--config PATH` when "
                               "your config is not the app dir's")
    checkin_weeks: int = setting(4, "weeks after confirming before an impact check-in")
    checkin_kinds: tuple[str, ...] | None = setting(None, "entry kinds that get check-ins; unset: every kind "
                                                          "whose rule declares a check-in (lifts, promotions, "
                                                          "latency and cost cuts, releases)")
    max_checkins: int = setting(5, "check-ins per digest; the rest follow in later weeks")

    def __post_init__(self):
        if self.security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {', '.join(SECURITY_MODES)}, not {self.security!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be between 1 and 65535 (or 0 for the security mode's default)")
        if self.checkin_weeks < 1:
            raise ValueError("checkin_weeks must be at least 1")
        if self.timeout < 1:
            raise ValueError("timeout must be at least 1 second")

    @property
    def smtp_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    @property
    def due_kinds(self) -> tuple[str, ...]:
        """The entry kinds that get impact check-ins."""
        if self.checkin_kinds is not None:
            return self.checkin_kinds
        return kinds_where(lambda kind: kind.check_in)


def load_digest_settings(config: Config) -> DigestSettings:
    """Validate [digest]; the key `from` is a Python keyword, so it maps to `sender`."""
    table = dict(config.section("digest"))
    where = config.where("digest")
    if "sender" in table:
        raise ConfigError(f"{where}: unknown key 'sender'. Use `from = \"harvester@example.com\"`.")
    if "from" in table:
        table["sender"] = table.pop("from")
    try:
        return build_settings(DigestSettings, table, where)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("'sender'", "'from'").replace("sender,", "from,")) from None


def check_send_settings(settings: DigestSettings, config: Config) -> None:
    """What sending needs beyond the defaults; named so the fix is obvious."""
    where = config.where("digest")
    if not settings.to:
        raise ConfigError(f"{where}: no recipients. Set to = [\"you@example.com\"].")
    if not settings.sender:
        raise ConfigError(f"{where}: no sender. Set from = \"harvester@example.com\".")
    if settings.username and not settings.password_env:
        raise ConfigError(f"{where}: username is set but password_env is not. "
                          "Set password_env to the NAME of the env var holding the SMTP password.")


@dataclass
class DraftGroup:
    kind: str
    title: str
    drafts: list[Draft]


@dataclass
class Digest:
    generated_at: datetime
    since: datetime
    week: str
    command: str
    groups: list[DraftGroup] = field(default_factory=list)
    older_pending: int = 0
    checkins: list[Entry] = field(default_factory=list)
    dimension_titles: dict[str, str] = field(default_factory=dict)
    links: dict[int, dict[str, str]] = field(default_factory=dict)  # draft id -> action -> one-click URL

    @property
    def draft_count(self) -> int:
        return sum(len(g.drafts) for g in self.groups)

    @property
    def empty(self) -> bool:
        return not self.draft_count and not self.checkins

    def confirm_command(self, draft_id: int) -> str:
        return f"{self.command} drafts confirm {draft_id}"

    def edit_command(self, draft_id: int) -> str:
        return f"{self.command} drafts edit {draft_id}"

    def reject_command(self, draft_id: int) -> str:
        return f"{self.command} drafts reject {draft_id}"

    def outcome_command(self, entry_id: int) -> str:
        return f'{self.command} outcome {entry_id} "..."'

    def tag_title(self, tag: str) -> str:
        return self.dimension_titles.get(tag, tag)

    def as_json(self) -> dict[str, Any]:
        return {
            "week": self.week,
            "generated_at": self.generated_at.isoformat(),
            "since": self.since.isoformat(),
            "empty": self.empty,
            "drafts": self.draft_count,
            "older_pending": self.older_pending,
            "groups": [{"kind": g.kind, "title": g.title,
                        "drafts": [{**d.as_json(), "commands": {"confirm": self.confirm_command(d.id),
                                                                "edit": self.edit_command(d.id),
                                                                "reject": self.reject_command(d.id)},
                                    **({"links": self.links[d.id]} if d.id in self.links else {})}
                                   for d in g.drafts]} for g in self.groups],
            "checkins": [{**e.as_json(), "confirmed_at": e.created_at.isoformat() if e.created_at else None,
                          "command": self.outcome_command(e.id)} for e in self.checkins],
        }


@dataclass
class SendOutcome:
    status: str  # "sent", "empty"
    digest: Digest
    recipients: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "week": self.digest.week, "drafts": self.digest.draft_count,
                "checkins": len(self.digest.checkins), "to": list(self.recipients)}
