"""The web app: who a request is (the one user's session cookie, or in team mode the member
the proxy or the mailed sign-in vouches for), the CSRF token every POST carries, security
headers, and errors as pages with the right status."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from harvester.config import Config
from harvester.errors import HarvesterError, NotFoundError, StateError
from harvester.web.secret import SignInTokens, csrf_token, derive, session_value, tokens_match

COOKIE_NAME = "harvester_session"
COOKIE_DAYS = 365
# No inline script anywhere: the one script is a file of this site. Source text is escaped
# by the templates; this is the second line of defence.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
                           "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; frame-src 'self'")
OPEN_PATHS = ("/sign-in", "/static/", "/act/")


@dataclass
class Site:
    """What every view works with: the store and config of the one user (or, in team mode, of
    the member the request is from), and the secret."""

    base_store: Any
    base_config: Config
    secret: bytes
    sign_in: SignInTokens = field(default_factory=SignInTokens)
    team_access: Any = None  # team mode: ProxyAccess or EmailAccess, who signs members in

    @property
    def store(self):
        from flask import g

        return g.get("store", self.base_store)

    @property
    def config(self) -> Config:
        from flask import g

        return g.get("config", self.base_config)

    @property
    def csrf(self) -> str:
        from flask import g

        return g.get("csrf") or csrf_token(self.secret)

    @cached_property
    def session(self) -> str:
        return session_value(self.secret)

    @cached_property
    def pages(self):
        from harvester.web.pages import page_environment

        return page_environment()

    def render(self, template: str, status: int = 200, **values: Any):
        from flask import get_flashed_messages, request

        from harvester.commands import command_prefix

        messages = [(message, category[5:] if category.startswith("undo:") else None)
                    for category, message in get_flashed_messages(with_categories=True)]
        html = self.pages.get_template(template).render(csrf=self.csrf, messages=messages,
                                                        here=request.full_path.rstrip("?"),
                                                        command=command_prefix(self.config),
                                                        team_sign_in=self.team_access.kind if self.team_access
                                                        else "", **values)
        return html, status, {"Content-Type": "text/html; charset=utf-8"}

    def store_for_link(self, owner: str):
        """The store a digest link for `owner` acts in, None when this request may not: the
        signed-in member's own, or (sign-in by e-mail, the link being mailed to them) the
        owner's; the one user's outside team mode."""
        from flask import g

        if "store" in g:
            return g.store if g.store.owner == owner else None
        access = self.team_access
        if access is None:
            return self.base_store if self.base_store.owner == owner else None
        if access.kind == "email" and any(m.key == owner for m in access.team.members):
            return self.base_store.for_owner(owner)
        return None


def build_site(app, settings) -> Site:
    """The site for the CLI's App: its store and config, or the team's when members sign in."""
    from harvester.web.email_sign_in import load_email_access
    from harvester.web.secret import load_secret
    from harvester.web.team_access import load_proxy_access

    secret = load_secret()
    access = (load_email_access(app.team, settings, secret, app.base_config)
              or load_proxy_access(app.team, settings, app.base_config.where("serve")))
    if access is not None:
        return Site(base_store=app.open_store(access.team.key), base_config=app.base_config, secret=secret,
                    team_access=access)
    return Site(base_store=app.store, base_config=app.config, secret=secret)


def admit_member(site: Site, member) -> None:
    """In team mode the request acts as `member`: their store, config and CSRF token."""
    from flask import g

    from harvester.team import member_config

    g.store = site.base_store.for_owner(member.key)
    g.config = member_config(site.base_config, member)
    g.csrf = csrf_token(site.secret, f"member:{member.key}")


def create_app(site: Site):
    from flask import Flask, request

    web = Flask("harvester.web")
    web.secret_key = derive(site.secret, "flask")  # signs the flash messages' cookie only
    web.config.update(SESSION_COOKIE_NAME="harvester_flash", SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_HTTPONLY=True, MAX_CONTENT_LENGTH=256 * 1024)

    @web.before_request
    def require_session():
        if request.path.startswith("/static/"):
            return None
        if site.team_access is not None:
            member, why = site.team_access.find_member(request)
            if member is not None:
                admit_member(site, member)
            elif not request.path.startswith(OPEN_PATHS):
                return site.render("signed_out.html.j2", status=403 if site.team_access.kind == "proxy" else 401,
                                   reason=why)
            if request.path.startswith(OPEN_PATHS):
                return None
        elif request.path.startswith(OPEN_PATHS):
            return None
        elif not tokens_match(request.cookies.get(COOKIE_NAME), site.session):
            return site.render("signed_out.html.j2", status=401)
        if request.method not in ("GET", "HEAD") and not tokens_match(request.form.get("csrf"), site.csrf):
            return refuse_forgery(site)
        return None

    @web.after_request
    def add_security_headers(response):
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"  # link tokens never leave in a Referer
        response.headers["Cache-Control"] = "no-store"
        return response

    @web.errorhandler(HarvesterError)
    def show_error(exc: HarvesterError):
        status = 404 if isinstance(exc, NotFoundError) else 409 if isinstance(exc, StateError) else 400
        return site.render("error.html.j2", status=status, title="Not found" if status == 404 else "Not done",
                           message=str(exc))

    @web.errorhandler(404)
    def show_not_found(_exc):
        return site.render("error.html.j2", status=404, title="Not found", message="There is no such page.")

    @web.errorhandler(405)
    def show_wrong_method(_exc):
        return site.render("error.html.j2", status=405, title="Not allowed",
                           message="This address only takes the form's button (a POST).")

    @web.get("/sign-in")
    def sign_in():
        from flask import redirect

        if not site.sign_in.redeem(request.args.get("token")):
            return site.render("signed_out.html.j2", status=403, used=True)
        response = redirect("/", code=303)
        response.set_cookie(COOKIE_NAME, site.session, max_age=COOKIE_DAYS * 86400, httponly=True, samesite="Lax",
                            secure=request.scheme == "https", path="/")
        return response

    from harvester.web import act, email_sign_in, views

    views.register(web, site)
    act.register(web, site)
    if site.team_access is not None and site.team_access.kind == "email":
        email_sign_in.register(web, site)
    return web


def refuse_forgery(site: Site):
    return site.render("error.html.j2", status=403, title="Refused",
                       message="The form's security token is missing or wrong. Reload the page and try again.")
