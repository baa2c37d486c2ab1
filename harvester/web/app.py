"""The web app: the session cookie every page but sign-in and the digest links requires, the
CSRF token every POST carries, security headers, and errors as pages with the right status."""

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
    """What every view works with: the store and config of the one user (or member), and the secret."""

    store: Any
    config: Config
    secret: bytes
    sign_in: SignInTokens = field(default_factory=SignInTokens)

    @cached_property
    def session(self) -> str:
        return session_value(self.secret)

    @cached_property
    def csrf(self) -> str:
        return csrf_token(self.secret)

    @cached_property
    def pages(self):
        from harvester.web.pages import page_environment

        return page_environment()

    def render(self, template: str, status: int = 200, **values: Any):
        from flask import get_flashed_messages

        from harvester.commands import command_prefix

        html = self.pages.get_template(template).render(csrf=self.csrf, messages=get_flashed_messages(),
                                                        command=command_prefix(self.config), **values)
        return html, status, {"Content-Type": "text/html; charset=utf-8"}


def create_app(site: Site):
    from flask import Flask, request

    web = Flask("harvester.web")
    web.secret_key = derive(site.secret, "flask")  # signs the flash messages' cookie only
    web.config.update(SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True,
                      MAX_CONTENT_LENGTH=256 * 1024)

    @web.before_request
    def require_session():
        if request.path.startswith(OPEN_PATHS):
            return None
        if not tokens_match(request.cookies.get(COOKIE_NAME), site.session):
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

    from harvester.web import act, views

    views.register(web, site)
    act.register(web, site)
    return web


def refuse_forgery(site: Site):
    return site.render("error.html.j2", status=403, title="Refused",
                       message="The form's security token is missing or wrong. Reload the page and try again.")
