"""Secret values never leave the process: every configured secret read from the environment
is remembered here, and `redact` replaces it (and the encodings a server may echo back, such
as the Base64 of a Basic credential) in any text before it is printed, logged, stored or mailed."""

from __future__ import annotations

import base64
import logging
import threading
from urllib.parse import quote, quote_plus

MASK = "[redacted]"
# Shorter values would mask ordinary words; real tokens and passwords are longer.
MIN_SECRET_CHARS = 6

_lock = threading.Lock()
_secrets: set[str] = set()


def remember_secret(value: str) -> None:
    """Add a secret (and its URL-encoded forms) to the values redacted everywhere."""
    if not value or len(value) < MIN_SECRET_CHARS:
        return
    with _lock:
        _secrets.update({value, quote(value, safe=""), quote_plus(value)})


def remember_basic_credential(username: str, password: str) -> None:
    """A Basic Authorization header carries base64("user:password"): echoed back, it gives
    the password away as surely as the password itself."""
    remember_secret(password)
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    remember_secret(encoded)


def redact(text: str) -> str:
    if not text or not _secrets:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def quote_server_message(text: object, limit: int = 300) -> str:
    """The first line of what a server said, to quote in an error: redacted before it is cut,
    so a secret the server echoed cannot survive as a cut-off prefix."""
    lines = redact(str(text or "")).strip().splitlines()
    return lines[0][:limit] if lines else ""


def forget_secrets() -> None:
    """For tests: start from no remembered secrets."""
    with _lock:
        _secrets.clear()


class RedactingFilter(logging.Filter):
    """Applied to every handler of the `harvester` logger: a log line is redacted after its
    arguments are merged in, since an argument is where an echoed secret arrives."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


# Records logged to the `harvester` logger are redacted whatever handler takes them (the
# nightly log file, or Python's last-resort stderr handler under `harvest`).
logging.getLogger("harvester").addFilter(RedactingFilter())
