"""Team mode with sign-in by e-mail: a member asks for a link at /sign-in/email and gets it by
mail ([digest]'s SMTP settings). The link is signed, expires in minutes and works once; like a
digest link it opens a page whose button (a POST) signs the browser in, as that member only."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from harvester.errors import ConfigError
from harvester.models import utcnow
from harvester.web.links import LinkRefusedError, load_used_links, remember_used_id
from harvester.web.secret import csrf_token, derive, tokens_match

if TYPE_CHECKING:
    from harvester.web.app import Site

MEMBER_COOKIE = "harvester_member"
SIGN_IN_SALT = "harvester e-mail sign-in"
LINK_MINUTES = 15
RESEND_SECONDS = 60  # one mail per member a minute, however often the form is sent


@dataclass(frozen=True)
class EmailAccess:
    team: object  # harvester.team.Team
    secret: bytes
    url: str  # [serve] url: where the mailed link points
    kind: str = "email"
    last_sent: dict = field(default_factory=dict, compare=False)  # member key -> when a link was last mailed

    def may_send(self, member, now: datetime | None = None) -> bool:
        now = now or utcnow()
        last = self.last_sent.get(member.key)
        if last is not None and (now - last).total_seconds() < RESEND_SECONDS:
            return False
        self.last_sent[member.key] = now
        return True

    def member_cookie(self, member) -> str:
        return f"{member.key}:{derive(self.secret, f'member-session:{member.key}')}"

    def find_member(self, request) -> tuple[object | None, str]:
        key, _, signature = (request.cookies.get(MEMBER_COOKIE) or "").rpartition(":")
        if not key or not tokens_match(signature, derive(self.secret, f"member-session:{key}")):
            return None, "this browser is not signed in"
        member = next((m for m in self.team.members if m.key == key), None)
        return (member, "") if member else (None, f"{key} is no longer a member of team {self.team.name}")

    def sign_link(self, member, now: datetime | None = None) -> str:
        from itsdangerous import URLSafeSerializer

        expires = (now or utcnow()) + timedelta(minutes=LINK_MINUTES)
        token = URLSafeSerializer(self.secret, salt=SIGN_IN_SALT).dumps(
            {"m": member.key, "n": secrets.token_urlsafe(12), "x": int(expires.timestamp())})
        return f"{self.url.rstrip('/')}/sign-in/email/{token}"

    def read_link(self, token: str, used: dict, now: datetime | None = None):
        """(member, link id, expiry timestamp) of a valid, unused sign-in link."""
        from itsdangerous import BadSignature, URLSafeSerializer

        try:
            data = URLSafeSerializer(self.secret, salt=SIGN_IN_SALT).loads(token)
            key, link_id, expires = str(data["m"]), str(data["n"]), int(data["x"])
        except (BadSignature, KeyError, TypeError, ValueError):
            raise LinkRefusedError("This sign-in link is not one harvester made.") from None
        if expires <= (now or utcnow()).timestamp():
            raise LinkRefusedError(f"This sign-in link expired (they last {LINK_MINUTES} minutes).")
        if link_id in used:
            raise LinkRefusedError("This sign-in link was used already; each works once.")
        member = next((m for m in self.team.members if m.key == key), None)
        if member is None:
            raise LinkRefusedError(f"{key} is no longer a member of team {self.team.name}.")
        return member, link_id, expires


def load_email_access(team, settings, secret: bytes, config) -> EmailAccess | None:
    if not settings.email_sign_in:
        return None
    where = config.where("serve")
    if team is None:
        raise ConfigError(f"{where}: email_sign_in signs team members in; add a [team] table, or remove it.")
    if not settings.url:
        raise ConfigError(f"{where}: email_sign_in mails a link to url; set url = \"https://harvester.example.com\".")
    if settings.user_header:
        raise ConfigError(f"{where}: use either email_sign_in or user_header, not both.")
    from harvester.digest.model import load_digest_settings

    if not load_digest_settings(config).sender:
        raise ConfigError(f"{config.where('digest')}: email_sign_in sends its links with the digest's SMTP settings; "
                          "set from, host and port.")
    return EmailAccess(team, secret, settings.url)


def send_sign_in_link(site: "Site", member) -> None:
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    from harvester.digest.mail import send_message
    from harvester.digest.model import load_digest_settings

    settings = replace(load_digest_settings(site.base_config), to=(member.settings.email,))
    message = EmailMessage()
    message["Subject"] = f"{settings.subject_prefix} Sign in to harvester".strip()
    message["From"] = settings.sender
    message["To"] = member.settings.email
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid("harvester-sign-in", domain=settings.sender.rpartition("@")[2] or None)
    message.set_content(f"Sign in to harvester as {member.key}, within {LINK_MINUTES} minutes (the link works "
                        f"once):\n\n{site.team_access.sign_link(member)}\n\nIf you did not ask for it, ignore this "
                        "mail: nothing happens without the link.\n")
    send_message(message, settings, site.base_config)


def register(web, site: "Site") -> None:
    from flask import redirect, request

    access = site.team_access
    used_key = "serve.used_sign_ins"

    @web.get("/sign-in/email")
    def ask_for_link():
        return site.render("sign_in_email.html.j2", form_csrf=csrf_token(site.secret, "sign-in-form"), sent=False)

    @web.post("/sign-in/email")
    def mail_link():
        if not tokens_match(request.form.get("csrf"), csrf_token(site.secret, "sign-in-form")):
            return site.render("error.html.j2", status=403, title="Refused", message="Reload the page and try again.")
        wanted = (request.form.get("email") or "").strip().lower()
        member = next((m for m in access.team.members if m.key == wanted), None)
        if member is not None and access.may_send(member):
            send_sign_in_link(site, member)
        # The same answer either way: the page does not tell who is a member.
        return site.render("sign_in_email.html.j2", form_csrf="", sent=True)

    def check(token: str):
        return access.read_link(token, load_used_links(site.base_store, used_key))

    @web.get("/sign-in/email/<token>")
    def open_sign_in(token: str):
        try:
            member, link_id, _ = check(token)
        except LinkRefusedError as exc:
            return site.render("error.html.j2", status=403, title="This link cannot be used",
                               message=f"{exc} Ask for a new one at /sign-in/email.")
        return site.render("sign_in_confirm.html.j2", member=member, token=token,
                           link_csrf=csrf_token(site.secret, f"sign-in:{link_id}"))

    @web.post("/sign-in/email/<token>")
    def use_sign_in(token: str):
        try:
            member, link_id, expires = check(token)
        except LinkRefusedError as exc:
            return site.render("error.html.j2", status=403, title="This link cannot be used",
                               message=f"{exc} Ask for a new one at /sign-in/email.")
        if not tokens_match(request.form.get("csrf"), csrf_token(site.secret, f"sign-in:{link_id}")):
            return site.render("error.html.j2", status=403, title="Refused", message="Open the link again.")
        remember_used_id(site.base_store, used_key, link_id, expires)
        response = redirect("/", code=303)
        response.set_cookie(MEMBER_COOKIE, access.member_cookie(member), max_age=30 * 86400, httponly=True,
                            samesite="Lax", secure=request.scheme == "https", path="/")
        return response
