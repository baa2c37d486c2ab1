"""`serve`: the inbox, drafts, journal and report in a browser on this machine."""

from __future__ import annotations

import click

from harvester.cli.app import pass_app
from harvester.cli.output import say


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--host", help="Address to listen on. Default: [serve] host, 127.0.0.1 (this machine only).")
    @click.option("--port", type=click.IntRange(0, 65535), help="Port to listen on. Default: [serve] port, 8765.")
    @pass_app
    def serve(app, host, port):
        """Review drafts in the browser: inbox, draft pages, journal and report.

        \b
        Prints an address to open: it signs this browser in once (a cookie
        holding a secret kept in the app dir, mode 0600). Keys: j/k move,
        c confirm, e edit, r reject, u undo, ? help. Ctrl-C stops it.
        With [serve] url set, the weekly digest links to it."""
        from harvester.web.app import build_site
        from harvester.web.secret import secret_path
        from harvester.web.server import bind_server, describe_address, is_loopback, sign_in_url
        from harvester.web.settings import load_serve_settings

        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # request lines would print link tokens
        settings = load_serve_settings(app.config)
        host = host or settings.host
        site = build_site(app, settings)
        server = bind_server(site, host, settings.port if port is None else port)
        access = site.team_access
        if access is not None:
            how = (f"the proxy's {settings.user_header} header" if access.kind == "proxy"
                   else f"links mailed from {settings.url}/sign-in/email")
            say(f"harvester serve: team {access.team.name} on {describe_address(server)}, members signed in by "
                f"{how}. Ctrl-C stops.")
        else:
            if not is_loopback(host):
                say(f"Warning: listening on {host}: other machines can reach the sign-in page. Only the address "
                    "below signs in.", err=True)
            say(f"harvester serve: open {sign_in_url(site, server)}")
            say(f"  (the address works once; this browser then stays signed in. Secret: {secret_path()}. "
                "Ctrl-C stops.)")
        try:
            server.serve_forever()  # returns on Ctrl-C
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
        say("Stopped.")
