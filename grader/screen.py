"""A terminal emulator (pyte) on a program's pty, for checks of what a person would see."""
from __future__ import annotations

import os
import time
from typing import Optional

import pyte

from .case import CheckFailure
from .program import Program


def has_terminfo(term: str) -> bool:
    dirs = ["/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo", "/usr/lib/terminfo"]
    return any(os.path.exists(os.path.join(d, term[0], term)) for d in dirs)


class Screen:
    def __init__(self, program: Program, rows: int = 24, cols: int = 80):
        self.program = program
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)

    def rows(self) -> list[str]:
        return list(self.screen.display)

    def _split(self, remote: str, local: str) -> Optional[str]:
        """None when the screen shows remote text above a row of '=' and local text below."""
        rows = self.rows()
        dividers = [i for i, r in enumerate(rows) if r.strip() and set(r.strip()) == {"="}
                    and len(r.strip()) >= len(r) // 2]
        if not dividers:
            return "no row of '=' dividing the screen"
        d = dividers[0]
        if not any(remote in r for r in rows[:d]):
            return f"the remote text {remote!r} is not above the divider"
        if not any(local in r for r in rows[d + 1:]):
            return f"the typed text {local!r} is not below the divider"
        return None

    def expect_split(self, remote: str, local: str, timeout: Optional[float] = None) -> None:
        timeout = self.program.settings.expect_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            self.stream.feed(self.program.drain())
            problem = self._split(remote, local)
            if problem is None:
                return
            left = deadline - time.monotonic()
            if left <= 0 or self.program.output_ended:
                screen = "\n".join(f"  |{r}|" for r in self.rows())
                raise CheckFailure(f"the screen shows {problem}:\n{screen}")
            self.program.read_more(left)
