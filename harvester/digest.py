"""The weekly digest: pending drafts to confirm and impact check-ins, sent over SMTP.

Building the digest reads the store only; sending records it in app_state, and only
after the SMTP server accepted the message, so a failed send is retried next time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from harvester.commands import command_prefix as base_command
from harvester.config import Config, read_secret
from harvester.errors import ConfigError, HarvesterError
from harvester.drafting.kinds import kind_of, kind_registry, kinds_where
from harvester.models import Draft, Entry, ensure_utc, utcnow
from harvester.settings import build_settings
from harvester.store import Store
from harvester.timeutil import parse_since

SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
LAST_SENT_KEY = "digest.last_sent"
CHECKINS_ASKED_KEY = "digest.checkins_asked"


class DigestSendError(HarvesterError):
    """The SMTP server could not be reached or refused the message."""


@dataclass(frozen=True)
class DigestSettings:
    to: tuple[str, ...] = ()
    sender: str = ""  # the TOML key is `from`
    host: str = "localhost"
    port: int = 0  # 0: 587 for starttls, 465 for ssl, 25 for none
    security: str = "starttls"
    username: str = ""
    password_env: str = ""
    timeout: int = 30
    since: str = "7d"
    send_empty: bool = False
    subject_prefix: str = "[harvester]"
    command: str = ""  # how commands in the email start; default: harvester (+ --config when needed)
    checkin_weeks: int = 4
    checkin_kinds: tuple[str, ...] | None = None  # None: every kind declared with check_in
    max_checkins: int = 5

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
                                                                "reject": self.reject_command(d.id)}}
                                   for d in g.drafts]} for g in self.groups],
            "checkins": [{**e.as_json(), "confirmed_at": e.created_at.isoformat() if e.created_at else None,
                          "command": self.outcome_command(e.id)} for e in self.checkins],
        }


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def command_prefix(config: Config, settings: DigestSettings) -> str:
    """[digest] command when set, else how the CLI's own hints start."""
    return settings.command or base_command(config)


def group_drafts(drafts: list[Draft]) -> list[DraftGroup]:
    by_kind: dict[str, list[Draft]] = {}
    for d in drafts:
        by_kind.setdefault(d.kind, []).append(d)
    # Declared kinds in the registry's order; kinds nobody declares any more follow alphabetically.
    order = list(kind_registry())
    kinds = sorted(by_kind, key=lambda k: (order.index(k) if k in order else len(order), k))
    return [DraftGroup(k, kind_of(k).title, sorted(by_kind[k], key=lambda d: (d.occurred_at, d.id), reverse=True))
            for k in kinds]


def select_checkins(store: Store, settings: DigestSettings, now: datetime) -> list[Entry]:
    """Entries of the check-in kinds confirmed at least `checkin_weeks` ago whose outcome is
    still empty and that no earlier digest asked about, oldest first."""
    cutoff = now - timedelta(weeks=settings.checkin_weeks)
    asked = set(store.get_state(CHECKINS_ASKED_KEY, {}) or {})
    due_kinds = settings.due_kinds
    due = [e for e in store.list_entries()
           if e.kind in due_kinds and not (e.outcome or "").strip()
           and e.created_at is not None and ensure_utc(e.created_at) <= cutoff and str(e.id) not in asked]
    due.sort(key=lambda e: (e.created_at, e.id))
    return due[:settings.max_checkins]


def build_digest(store: Store, config: Config, settings: DigestSettings, now: datetime | None = None,
                 since: str | None = None, today: date | None = None) -> Digest:
    """Pending drafts new or refreshed since the window start, and the check-ins due."""
    from harvester.drafting.rubric import load_framework

    now = now or utcnow()
    start = parse_since(since or settings.since, now)
    pending = store.list_drafts(["pending"])
    recent = [d for d in pending if max(ensure_utc(d.created_at or d.occurred_at),
                                        ensure_utc(d.updated_at or d.occurred_at)) >= start]
    framework = load_framework(config.rubric.framework or None)
    return Digest(generated_at=now, since=start, week=iso_week(today or now.date()),
                  command=command_prefix(config, settings), groups=group_drafts(recent),
                  older_pending=len(pending) - len(recent), checkins=select_checkins(store, settings, now),
                  dimension_titles={d.id: d.title for d in framework.dimensions})


def send_message(message, settings: DigestSettings, config: Config) -> None:
    """Deliver over SMTP; every failure becomes one line naming the [digest] keys to fix."""
    import smtplib
    import socket
    import ssl

    where = config.where("digest")
    host, port = settings.host, settings.smtp_port
    password = read_secret(settings.password_env, f"{where} password_env") if settings.username else ""
    target = f"{host}:{port} (security = {settings.security!r})"
    try:
        context = ssl.create_default_context()
        if settings.security == "ssl":
            smtp = smtplib.SMTP_SSL(host, port, timeout=settings.timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=settings.timeout)
        with smtp:
            smtp.ehlo()
            if settings.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings.username:
                smtp.login(settings.username, password)
            smtp.send_message(message, from_addr=settings.sender, to_addrs=list(settings.to))
    except smtplib.SMTPAuthenticationError as exc:
        raise DigestSendError(f"{where}: the SMTP server {target} rejected the login for username "
                              f"{settings.username!r} ({_reply(exc)}). Check username and the password in "
                              f"${settings.password_env} (password_env).") from None
    except smtplib.SMTPNotSupportedError as exc:
        hint = ("the server does not offer STARTTLS: set security = \"ssl\" (port 465) or \"none\""
                if settings.security == "starttls" else
                "the server offers no login on this connection: set security = \"starttls\" or \"ssl\", "
                "or remove username")
        raise DigestSendError(f"{where}: {target}: {hint} ({exc}).") from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(sorted(exc.recipients))
        raise DigestSendError(f"{where}: the SMTP server {target} refused the recipients {refused}. Check to.") from None
    except smtplib.SMTPSenderRefused as exc:
        raise DigestSendError(f"{where}: the SMTP server {target} refused the sender {exc.sender!r} "
                              f"({_reply(exc)}). Check from.") from None
    except ssl.SSLError as exc:
        raise DigestSendError(f"{where}: TLS failed with {target}: {exc.reason or exc}. Check security "
                              "(\"starttls\" on 587, \"ssl\" on 465) and port.") from None
    except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected, ConnectionError, socket.timeout) as exc:
        raise DigestSendError(f"{where}: cannot talk to the SMTP server {target}: {_reason(exc)}. "
                              "Check host, port and security.") from None
    except smtplib.SMTPException as exc:
        raise DigestSendError(f"{where}: the SMTP server {target} failed: {_reason(exc)}. "
                              "Check host, port, security and from/to.") from None
    except OSError as exc:
        raise DigestSendError(f"{where}: cannot reach the SMTP server {target}: {_reason(exc)}. "
                              "Check host and port.") from None


def _reply(exc: Any) -> str:
    code = getattr(exc, "smtp_code", None)
    text = getattr(exc, "smtp_error", b"")
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {text}".strip() if code else (text or type(exc).__name__)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


@dataclass
class SendOutcome:
    status: str  # "sent", "empty"
    digest: Digest
    recipients: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "week": self.digest.week, "drafts": self.digest.draft_count,
                "checkins": len(self.digest.checkins), "to": list(self.recipients)}


def send_digest(store: Store, config: Config, settings: DigestSettings, now: datetime | None = None,
                since: str | None = None, today: date | None = None) -> SendOutcome:
    """Build, send and record the digest; an empty week sends nothing unless send_empty."""
    from harvester.digest_render import build_email

    check_send_settings(settings, config)
    now = now or utcnow()
    digest = build_digest(store, config, settings, now=now, since=since, today=today)
    if digest.empty and not settings.send_empty:
        return SendOutcome("empty", digest)
    send_message(build_email(digest, settings), settings, config)
    record_sent(store, digest, settings, now)
    return SendOutcome("sent", digest, settings.to)


def record_sent(store: Store, digest: Digest, settings: DigestSettings, now: datetime) -> None:
    store.set_state(LAST_SENT_KEY, {"week": digest.week, "sent_at": now.isoformat(), "to": list(settings.to),
                                    "drafts": digest.draft_count, "checkins": len(digest.checkins)})
    if digest.checkins:
        asked = dict(store.get_state(CHECKINS_ASKED_KEY, {}) or {})
        asked.update({str(e.id): now.isoformat() for e in digest.checkins})
        store.set_state(CHECKINS_ASKED_KEY, asked)


def last_sent(store: Store) -> dict[str, Any] | None:
    return store.get_state(LAST_SENT_KEY)
