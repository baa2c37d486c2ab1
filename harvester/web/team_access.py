"""Team mode behind a company's reverse proxy: the proxy signs people in and passes the
member's e-mail in a configured header, believed only on connections from the configured
proxy addresses. Each request then sees only that member's drafts and entries."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from harvester.errors import ConfigError


@dataclass(frozen=True)
class ProxyAccess:
    team: object  # harvester.team.Team
    header: str
    proxies: tuple  # ip networks
    kind: str = "proxy"

    def find_member(self, request) -> tuple[object | None, str]:
        """(the member, '') for a request the proxy vouches for; else (None, why not)."""
        headers = request.headers
        try:
            address = ipaddress.ip_address(request.remote_addr or "")
        except ValueError:
            return None, "the request's address cannot be read"
        if not any(address in network for network in self.proxies):
            return None, f"requests are accepted only through the proxy, and {address} is not one"
        wanted = (headers.get(self.header) or "").strip().lower()
        if not wanted:
            return None, f"the proxy passed no {self.header} header"
        member = next((m for m in self.team.members if m.key == wanted), None)
        if member is None:
            return None, f"{wanted} is not a member of team {self.team.name}"
        return member, ""


def parse_proxies(values, where: str) -> tuple:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ConfigError(f"{where}: trusted_proxies holds {value!r}, which is not an address or network "
                              "(e.g. \"10.0.0.5\" or \"10.0.0.0/24\").") from None
    return tuple(networks)


def load_proxy_access(team, settings, where: str) -> ProxyAccess | None:
    """The proxy's sign-in when [serve] user_header is set (it needs a [team] table); else None."""
    if not settings.user_header:
        return None
    if team is None:
        raise ConfigError(f"{where}: user_header signs team members in; add a [team] table, or remove user_header.")
    if not settings.trusted_proxies:
        raise ConfigError(f"{where}: user_header is set but trusted_proxies is empty. List the proxy's addresses, "
                          "e.g. trusted_proxies = [\"127.0.0.1\"].")
    return ProxyAccess(team, settings.user_header, parse_proxies(settings.trusted_proxies, where))
