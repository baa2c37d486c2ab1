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
    refused: set[str] = field(default_factory=set)  # recipients answered "550 no such user"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

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
def smtp_server(user: str | None = None, password: str | None = None, tls: str = "none",
                certificate: "Certificate | None" = None, refuse: tuple[str, ...] = ()) -> Iterator[SmtpSink]:
    """SMTP on 127.0.0.1 and a free port; `tls` "starttls" or "ssl" needs a `certificate`.
    With `user`, AUTH is required (after STARTTLS when `tls` is "starttls")."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink(port=free_port(), refused={r.lower() for r in refuse})
    kwargs: dict = {}
    if tls != "none":
        context = certificate.server_context()
        kwargs = {"tls_context": context, "require_starttls": True} if tls == "starttls" else {"ssl_context": context}
    if user is not None:
        # aiosmtpd does not see implicit TLS as TLS, so only STARTTLS can insist on it before AUTH.
        kwargs.update(authenticator=password_authenticator(sink, user, password or ""), auth_required=True,
                      auth_require_tls=tls == "starttls")
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port, **kwargs)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class Certificate:
    """A self-signed certificate for 127.0.0.1; clients trust it through SSL_CERT_FILE."""

    cert_file: str
    key_file: str

    def server_context(self):
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_certificate(folder) -> Certificate:
    import ipaddress
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return Certificate(str(cert_file), str(key_file))


def parts_of(message) -> dict[str, str]:
    """content type -> decoded text of each leaf part."""
    return {part.get_content_type(): part.get_content() for part in message.walk() if not part.is_multipart()}
