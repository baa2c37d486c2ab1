"""An MCP client session over stdio (the SDK's own stdio_client and ClientSession) that
synchronous tests can share: the session lives on an event loop in a background thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Iterator

from anyio.from_thread import BlockingPortal, start_blocking_portal


def harvester_command(*args: str) -> tuple[str, list[str]]:
    return sys.executable, ["-m", "harvester", *args]


def server_env(home: Path, **extra: str) -> dict[str, str]:
    """The server's environment: its own app dir, and this venv's scripts first on PATH."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {"HARVESTER_HOME": str(home), "PATH": path, **extra}


def harvest_sample(folder: Path, home: Path) -> Path:
    """Harvest the built-in sample into `folder` as `harvester demo` does; the config's path."""
    subprocess.run([sys.executable, "-m", "harvester", "demo", "--dir", str(folder), "--json"], check=True,
                   capture_output=True, env={**os.environ, "HARVESTER_HOME": str(home)})
    return folder / "harvester.toml"


class Session:
    """Blocking calls on a live ClientSession; `errors` is the server's stderr file."""

    def __init__(self, portal: BlockingPortal, session, greeting, errors: Path):
        self.portal = portal
        self.session = session
        self.greeting = greeting  # the server's InitializeResult
        self.errors = errors

    def call(self, name: str, **arguments: Any):
        return self.portal.call(self.session.call_tool, name, arguments)

    def text(self, name: str, **arguments: Any) -> str:
        result = self.call(name, **arguments)
        assert not result.is_error, result.content[0].text
        return result.content[0].text

    def data(self, name: str, **arguments: Any) -> Any:
        return json.loads(self.text(name, **arguments))

    def tool_names(self) -> set[str]:
        return {t.name for t in self.portal.call(self.session.list_tools).tools}

    def resources(self):
        return self.portal.call(self.session.list_resources).resources

    def read(self, uri: str) -> str:
        return self.portal.call(self.session.read_resource, uri).contents[0].text

    def prompt(self, name: str, **arguments: str):
        return self.portal.call(self.session.get_prompt, name, arguments)

    def stderr(self) -> str:
        return self.errors.read_text(encoding="utf-8", errors="replace")


@asynccontextmanager
async def connect(command: str, args: list[str], env: dict[str, str], errlog):
    from mcp import ClientSession, StdioServerParameters, stdio_client

    params = StdioServerParameters(command=command, args=args, env=env)
    async with stdio_client(params, errlog=errlog) as (read, write):
        async with ClientSession(read, write) as session:
            yield session, await session.initialize()


@contextmanager
def mcp_session(command: str, args: list[str], env: dict[str, str], errors: Path) -> Iterator[Session]:
    with errors.open("w", encoding="utf-8") as errlog, start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(connect(command, args, env, errlog)) as (session, greeting):
            yield Session(portal, session, greeting, errors)
