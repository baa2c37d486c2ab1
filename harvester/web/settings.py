"""The [serve] table: where `harvester serve` listens, and the address digest links point at."""

from __future__ import annotations

from dataclasses import dataclass

from harvester.config import Config
from harvester.settings import build_settings, setting

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class ServeSettings:
    host: str = setting("127.0.0.1", "the address `harvester serve` listens on; anything but loopback lets "
                                     "other machines reach the sign-in page")
    port: int = setting(8765, "the port `harvester serve` listens on")
    url: str = setting("", "the server's address as your browser reaches it, e.g. `http://127.0.0.1:8765`; when "
                           "set, every draft in the digest gets Confirm / Edit / Reject links")
    link_days: int = setting(14, "days a digest link works (each works once)")
    user_header: str = setting("", "team mode behind a reverse proxy: the header carrying the signed-in member's "
                                   "e-mail, e.g. `X-Forwarded-Email`; each member sees only their own drafts")
    email_sign_in: bool = setting(False, "team mode: members sign in with a link mailed to them (the digest's SMTP "
                                         "settings; needs `url`); each member sees only their own drafts")
    trusted_proxies: tuple[str, ...] = setting((), "the proxy's addresses or networks; `user_header` is believed "
                                                   "from these only, and other connections are refused")

    def __post_init__(self):
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be between 1 and 65535 (or 0 for any free port)")
        if self.link_days < 1:
            raise ValueError("link_days must be at least 1")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, not {self.url!r}")


def load_serve_settings(config: Config) -> ServeSettings:
    return build_settings(ServeSettings, config.section("serve"), config.where("serve"))
