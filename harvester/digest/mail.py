"""The digest as an e-mail, sent over SMTP and recorded in app_state only after the server
accepted it, so a failed send is retried next time."""

from __future__ import annotations

from datetime import date, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from harvester.config import Config, read_secret
from harvester.digest.build import build_digest
from harvester.digest.model import (CHECKINS_ASKED_KEY, LAST_FAILED_KEY, LAST_SENT_KEY, Digest, DigestSettings,
                                    SendOutcome, check_send_settings)
from harvester.digest.render import render_html, render_text
from harvester.drafting.wording.numbers import plural
from harvester.errors import HarvesterError
from harvester.models import utcnow
from harvester.redact import redact
from harvester.store import Store


class DigestSendError(HarvesterError):
    """The SMTP server could not be reached or refused the message."""


def subject_line(digest: Digest, settings: DigestSettings) -> str:
    parts = [f"{plural(digest.draft_count, 'draft')} to confirm"]
    if digest.checkins:
        parts.append(plural(len(digest.checkins), "impact check-in"))
    text = f"{', '.join(parts)} (week {digest.week})"
    return f"{settings.subject_prefix} {text}".strip()


def build_email(digest: Digest, settings: DigestSettings) -> EmailMessage:
    """multipart/alternative: the plain text first, the HTML last (preferred by mail clients)."""
    message = EmailMessage()
    message["Subject"] = subject_line(digest, settings)
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.to)
    message["Date"] = formatdate(localtime=False)
    domain = settings.sender.rpartition("@")[2] or None
    message["Message-ID"] = make_msgid("harvester-digest", domain=domain)
    message.set_content(redact(render_text(digest)))
    message.add_alternative(redact(render_html(digest)), subtype="html")
    return message


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
        raise DigestSendError(f"{where}: the SMTP server {target} refused the recipients {refused}. Check to "
                              "(for a team: the member's email in [team]).") from None
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


def send_digest(store: Store, config: Config, settings: DigestSettings, now: datetime | None = None,
                since: str | None = None, today: date | None = None) -> SendOutcome:
    """Build, send and record the digest; an empty week sends nothing unless send_empty."""
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


def record_failed(store: Store, week: str, error: str, now: datetime | None = None) -> None:
    store.set_state(LAST_FAILED_KEY, {"week": week, "at": (now or utcnow()).isoformat(), "error": error})


def last_failed(store: Store) -> dict[str, Any] | None:
    return store.get_state(LAST_FAILED_KEY)
