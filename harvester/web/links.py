"""The digest's one-click links: each names one action on one draft, is signed with the serve
secret, expires, and works once (the ids of used links are kept in the store until they expire).
Opening one shows a page; only its button, a POST, acts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from harvester.models import utcnow

LINK_ACTIONS = ("confirm", "edit", "reject")
USED_LINKS_KEY = "serve.used_links"
LINK_SALT = "harvester digest link"


class LinkRefusedError(Exception):
    """A link that is forged, expired or used; the message says which, and what to do instead."""


@dataclass(frozen=True)
class ActionLink:
    action: str
    draft_id: int
    owner: str
    link_id: str
    expires_at: datetime


def serializer(secret: bytes):
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(secret, salt=LINK_SALT)


def sign_link(secret: bytes, action: str, draft_id: int, owner: str, days: int, now: datetime | None = None) -> str:
    """The token of a link, for `<serve url>/act/<token>`."""
    expires = (now or utcnow()) + timedelta(days=days)
    return serializer(secret).dumps({"a": action, "d": draft_id, "o": owner, "n": secrets.token_urlsafe(12),
                                     "x": int(expires.timestamp())})


def read_link(secret: bytes, token: str, used: dict, now: datetime | None = None) -> ActionLink:
    """The link a token stands for, once its signature, date and first use are checked."""
    from itsdangerous import BadSignature

    try:
        data = serializer(secret).loads(token)
        link = ActionLink(str(data["a"]), int(data["d"]), str(data["o"]), str(data["n"]),
                          datetime.fromtimestamp(int(data["x"]), tz=(now or utcnow()).tzinfo))
    except (BadSignature, KeyError, TypeError, ValueError):
        raise LinkRefusedError("This link is not one harvester made (or was cut short in the mail).") from None
    if link.action not in LINK_ACTIONS:
        raise LinkRefusedError("This link is not one harvester made.")
    if link.expires_at <= (now or utcnow()):
        raise LinkRefusedError(f"This link expired on {link.expires_at:%Y-%m-%d}.")
    if link.link_id in used:
        raise LinkRefusedError("This link was used already; each digest link works once.")
    return link


def load_used_links(store, key: str = USED_LINKS_KEY) -> dict:
    return dict(store.get_state(key, {}) or {})


def record_used_link(store, link: ActionLink, now: datetime | None = None) -> None:
    remember_used_id(store, USED_LINKS_KEY, link.link_id, int(link.expires_at.timestamp()), now)


def remember_used_id(store, key: str, link_id: str, expires: int, now: datetime | None = None) -> None:
    """Remember a link as used until it expires; links past their date are dropped (they are
    refused anyway)."""
    now = now or utcnow()
    used = {k: v for k, v in load_used_links(store, key).items() if int(v) > now.timestamp()}
    used[link_id] = expires
    store.set_state(key, used)
