"""The CLI in a real pseudo-terminal, driven by keystrokes (pexpect)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect

TIMEOUT = 30  # generous: the test machine may be loaded
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """`python -m harvester ARGS` on a pty of `columns` columns; `transcript` is all it printed."""

    def __init__(self, args: list[str], columns: int = 80, env: dict[str, str] | None = None):
        child_env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "VISUAL", "EDITOR")}
        child_env.update(env or {})
        child_env["TERM"] = "dumb"
        self.child = pexpect.spawn(sys.executable, ["-m", "harvester", *args], env=child_env,
                                   cwd=str(Path.cwd()), dimensions=(40, columns), encoding="utf-8",
                                   codec_errors="replace", timeout=TIMEOUT)
        self.transcript = ""

    def expect(self, text: str) -> str:
        """Wait for `text`; returns what came before it (and keeps it in the transcript)."""
        try:
            self.child.expect_exact(text)
        except (pexpect.TIMEOUT, pexpect.EOF) as exc:
            raise AssertionError(f"{text!r} never appeared; the screen so far:\n{self.screen()}"
                                 f"{self.child.before}") from exc
        seen = self.child.before + self.child.after
        self.transcript += seen
        return self.child.before

    def press(self, key: str) -> None:
        """Send one key once the program reads single keys: click.getchar() switches the terminal
        to raw mode (echo off) and flushes anything typed before that."""
        if not self.child.waitnoecho(timeout=TIMEOUT):
            raise AssertionError(f"the program never waited for a key; the screen so far:\n{self.screen()}")
        self.child.send(key)

    def type_line(self, text: str) -> None:
        self.child.sendline(text)

    def finish(self) -> int:
        self.child.expect(pexpect.EOF)
        self.transcript += self.child.before
        self.child.close()
        return self.child.exitstatus

    def screen(self) -> str:
        return ANSI.sub("", self.transcript).replace("\r\n", "\n")
