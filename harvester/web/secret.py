"""The per-install secret of `harvester serve`, kept in the app dir with mode 0600, and what is
derived from it: the session cookie's value, the CSRF token of the forms, the digest links'
signing key. Anyone who can read the file can act as you; nobody else can."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from harvester.config import AppDirError, app_dir, describe_unwritable

SECRET_FILENAME = "serve-secret"


def secret_path() -> Path:
    return app_dir() / SECRET_FILENAME


def load_secret(create: bool = True) -> bytes:
    """The secret, created on first use (never rewritten: rotating it is deleting the file)."""
    path = secret_path()
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        if not create:
            raise
        return create_secret(path)
    except OSError as exc:
        raise AppDirError(describe_unwritable(exc, "the serve secret", path, "Check its owner and mode (0600).")) \
            from None
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise AppDirError(f"The serve secret {path} can be read by other users (mode {mode:04o}); whoever reads it "
                          f"can act as you. Run `chmod 600 {path}`, or delete it for a new one.")
    if len(text) < 32:
        raise AppDirError(f"The serve secret {path} is damaged (too short). Delete it; the next `harvester serve` "
                          "creates a new one (earlier digest links and sign-ins stop working).")
    return text.encode("ascii")


def create_secret(path: Path) -> bytes:
    value = secrets.token_hex(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two first starts at once keep one secret, the file never exists with a wider mode.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_secret(create=False)
    except OSError as exc:
        raise AppDirError(describe_unwritable(exc, "the serve secret", path,
                                              "Set HARVESTER_HOME to a folder you can write to.")) from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(value + "\n")
    return value.encode("ascii")


def derive(secret: bytes, purpose: str) -> str:
    """A value for one purpose ("session", "csrf", ...); knowing one tells nothing of the others."""
    return hmac.new(secret, purpose.encode("utf-8"), hashlib.sha256).hexdigest()


def session_value(secret: bytes) -> str:
    return derive(secret, "session")


def csrf_token(secret: bytes, scope: str = "session") -> str:
    return derive(secret, f"csrf:{scope}")


def tokens_match(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


class SignInTokens:
    """One-time tokens for the printed URL: each sets the cookie once, then is gone."""

    def __init__(self):
        self.unused: set[str] = set()

    def issue(self) -> str:
        token = secrets.token_urlsafe(24)
        self.unused.add(token)
        return token

    def redeem(self, token: str | None) -> bool:
        for candidate in list(self.unused):
            if tokens_match(token, candidate):
                self.unused.discard(candidate)
                return True
        return False
