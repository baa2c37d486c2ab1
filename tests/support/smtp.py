"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import email
import email.policy
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from tests.support.mlflow_server import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage


@dataclass
class SmtpSink:
    port: int
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def password_authenticator(sink: SmtpSink, user: str, password: str):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticate(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        if ok:
            sink.logins.append(user)
        return AuthResult(success=ok, handled=False)

    return authenticate


@contextmanager
def smtp_server(user: str | None = None, password: str | None = None) -> Iterator[SmtpSink]:
    """Plain SMTP on 127.0.0.1 and a free port; with `user`, AUTH is offered (without TLS)."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink(port=free_port())
    kwargs = {}
    if user is not None:
        kwargs = {"authenticator": password_authenticator(sink, user, password or ""), "auth_require_tls": False,
                  "auth_required": True}
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port, **kwargs)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def parts_of(message) -> dict[str, str]:
    """content type -> decoded text of each leaf part."""
    return {part.get_content_type(): part.get_content() for part in message.walk() if not part.is_multipart()}
