"""Binding the server and the address it prints: a one-time sign-in token in the URL sets the
session cookie (the token is good once; the cookie stays)."""

from __future__ import annotations

import errno
from typing import Any

from harvester.errors import HarvesterError
from harvester.web.settings import LOOPBACK_HOSTS


class ServeError(HarvesterError):
    """The server cannot listen where it was asked to."""


def bind_server(site, host: str, port: int):
    """A threaded WSGI server listening on host:port (0: any free port), not yet serving."""
    from werkzeug.serving import make_server

    from harvester.web.app import create_app

    listener = open_socket(host, port)
    # Bound here rather than by werkzeug, which exits the process on a taken port.
    server = make_server(host, listener.getsockname()[1], create_app(site), threaded=True, fd=listener.fileno())
    listener.close()  # the server holds its own duplicate of the socket
    return server


def open_socket(host: str, port: int):
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror:
        raise ServeError(f"Cannot listen on {host!r}: no such address. Check --host or [serve] host.") from None
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(f"Port {port} on {host} is in use (another `harvester serve`?). Pick another with "
                             "--port, or set [serve] port.") from None
        if exc.errno == errno.EACCES:
            raise ServeError(f"Not allowed to listen on port {port} of {host}. Use a port above 1023 with --port.") \
                from None
        raise ServeError(f"Cannot listen on {host}:{port} ({exc.strerror or exc}). Check --host and --port.") \
            from None
    return listener


def describe_address(server: Any) -> str:
    host, port = server.host, server.port
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def sign_in_url(site, server: Any) -> str:
    return f"{describe_address(server)}/sign-in?token={site.sign_in.issue()}"


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")
