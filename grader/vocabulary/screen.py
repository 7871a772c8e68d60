"""A terminal emulator (pyte) on a program's pty, for checks of what a person would see.

Two uses: Screen checks the layout of a windowed program (remote text above a row of "=",
local text below); WindowedProgram lets every check of the chat run against the program as
it is used, windowed, reading the remote text off the emulated screen, so that a chat that
works windowed but not under the debugging flag -N still earns its points.
"""
from __future__ import annotations

import time
from typing import Optional

import pyte
from pyte.screens import Margins

from ..harness.case import CheckFailure
from ..harness.program import Program
from ..harness.waiting import Waiter

ESC = 0x1B


class ScrollingScreen(pyte.Screen):
    """A pyte screen that keeps the rows scrolled out of a window at the top of the screen.

    curses scrolls a window with a scroll region and a line feed at its bottom (index), with
    CSI S / CSI T (which pyte lacks), or by deleting lines at its top: each of these moves
    the window's top row out of sight, and that row is kept in `scrolled_out`.
    """

    def __init__(self, columns: int, lines: int):
        super().__init__(columns, lines)
        self.scrolled_out: list[str] = []

    def _region(self) -> "Margins":
        return self.margins or Margins(0, self.lines - 1)

    def _keep_top(self, count: int) -> None:
        top, bottom = self._region()
        if top == 0:
            self.scrolled_out.extend(self.row_text(y) for y in range(min(count, bottom + 1)))

    def row_text(self, y: int) -> str:
        """Row y as text, trailing blanks dropped. Built from the cells written, not cell by
        cell: a check reads every row after each chunk of output, and most cells are blank."""
        line = self.buffer[y]
        cells = [line.default.data] * self.columns
        for x, char in line.items():
            if x < self.columns:
                cells[x] = char.data
        return "".join(cells).rstrip()

    def index(self) -> None:
        if self.cursor.y == self._region().bottom:
            self._keep_top(1)
        super().index()

    def delete_lines(self, count: Optional[int] = None) -> None:
        top, bottom = self._region()
        if self.cursor.y == top == 0:
            self._keep_top(count or 1)
        super().delete_lines(count)

    def scroll_up(self, count: Optional[int] = None) -> None:
        """CSI S: the region's rows move up; new blank rows at its bottom."""
        y, x = self.cursor.y, self.cursor.x
        for _ in range(count or 1):
            self.cursor.y = self._region().bottom
            self.index()
        self.cursor.y, self.cursor.x = y, x

    def scroll_down(self, count: Optional[int] = None) -> None:
        """CSI T: the region's rows move down; new blank rows at its top."""
        y, x = self.cursor.y, self.cursor.x
        for _ in range(count or 1):
            self.cursor.y = self._region().top
            self.reverse_index()
        self.cursor.y, self.cursor.x = y, x


class _Stream(pyte.ByteStream):
    csi = dict(pyte.ByteStream.csi, S="scroll_up", T="scroll_down")


def remote_lines(screen: ScrollingScreen) -> list[str]:
    """The lines shown in the top window, oldest first: scrolled out, then still in view.

    The top window ends at the first row of "="; rows filled to the last column continue
    on the next row (curses wraps a long line), and blank rows after the last text are not
    lines yet.
    """
    rows = []
    for y in range(screen.lines):
        text = screen.row_text(y)
        if _is_divider(text, screen.columns):
            break
        rows.append(text)
    else:
        rows = []        # no window yet: nothing is the remote text
    while rows and not rows[-1]:
        rows.pop()
    lines: list[str] = []
    joining = False
    for row in [r for r in screen.scrolled_out if not _is_divider(r, screen.columns)] + rows:
        if joining:
            lines[-1] += row
        else:
            lines.append(row)
        joining = len(row) >= screen.columns
    return lines


def _is_divider(text: str, columns: int) -> bool:
    stripped = text.strip()
    return bool(stripped) and set(stripped) == {"="} and len(stripped) >= columns // 2


class WindowedProgram(Program):
    """The program without -N: its text is what a person reads, not the bytes it wrote.

    Before curses starts (the first escape sequence) the output is plain text, as the
    handshake is; after it, the text is the lines of the top window, read off the emulator.
    Waits consume this text as they consume plain output.
    """

    crlf = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rows, cols = kwargs.get("dimensions", (24, 80))
        self.screen = ScrollingScreen(cols, rows)
        self._stream = _Stream(self.screen)
        self._plain = bytearray()
        self._windowed = False
        self._consumed = 0

    def _keep(self, data: bytes) -> bytes:
        """Plain output is kept as it is; after curses starts, the top window's new text."""
        if not self._windowed:
            esc = data.find(bytes([ESC]))
            if esc < 0:
                self._plain += data
                self._buf += data
                return data
            self._plain += data[:esc]
            self._windowed = True
            data = data[esc:]
        before = self._consumed + len(self._buf)
        self._stream.feed(data)
        text = bytes(self._plain) + "".join(
            line + "\r\n" for line in remote_lines(self.screen)).encode("utf-8", "replace")
        self._buf[:] = text[self._consumed:]
        return text[before:]

    def _consume(self, used: int) -> None:
        self._consumed += used
        del self._buf[:used]

    def expect_chat_ready(self) -> None:
        """Wait until the windows are drawn: keys typed before curses takes the terminal
        would reach the line discipline, not the talk library (a ^D would be lost)."""
        def drawn() -> bool:
            self._take_available()
            return self._windowed and any(_is_divider(self.screen.row_text(y), self.screen.columns)
                                          for y in range(self.screen.lines))
        try:
            Waiter(self.case, self.settings.expect_timeout).until(
                drawn, f"{self.name} to draw its windows (a row of \"=\")",
                hint="call start_windowing() after the handshake unless -N was given")
        except CheckFailure:
            self.case.no_windows = True       # windowed_mode's charge, not the check's
            raise


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

    def misplaced(self, remote: str, local: str) -> bool:
        """A fault of the windows themselves: no divider, or a text on the wrong side of it.
        A text not shown at all is the chat's fault, which the chat checks judge."""
        rows = self.rows()
        dividers = [i for i, r in enumerate(rows) if r.strip() and set(r.strip()) == {"="}
                    and len(r.strip()) >= len(r) // 2]
        if not dividers:
            return True
        d = dividers[0]
        return any(remote in r for r in rows[d + 1:]) or any(local in r for r in rows[:d])

    def expect_split(self, remote: str, local: str, timeout: Optional[float] = None) -> None:
        timeout = self.program.settings.expect_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            self.stream.feed(self.program._drain())
            problem = self._split(remote, local)
            if problem is None:
                return
            left = deadline - time.monotonic()
            if left <= 0 or self.program.output_ended:
                screen = "\n".join(f"  |{r}|" for r in self.rows())
                raise CheckFailure(f"the screen shows {problem}:\n{screen}")
            self.program._read_more(left)
