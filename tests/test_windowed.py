"""The terminal emulator behind the windowed re-run: scrolling windows, and a real curses chat."""
import os

import pytest

from grader.vocabulary import talk
from grader.harness.case import Case
from grader.harness.peers import TcpListener
from grader.harness.ports import free_port
from grader.vocabulary.screen import (
    ScrollingScreen,
    WindowedProgram,
    _Stream,
    remote_lines,
)
from grader.harness.program import has_terminfo
from grader.settings import Settings

ROWS, COLS = 24, 80
TOP = (ROWS - 1) // 2          # rows of the top window, as the talk library lays them out


def screen_with_divider():
    screen = ScrollingScreen(COLS, ROWS)
    stream = _Stream(screen)
    stream.feed(f"\x1b[{TOP + 1};1H".encode() + b"=" * COLS + b"\x1b[1;1H")
    return screen, stream


def test_lines_scrolled_by_a_scroll_region_are_kept_in_order():
    screen, stream = screen_with_divider()
    stream.feed(f"\x1b[1;{TOP}r\x1b[1;1H".encode())
    for i in range(100):
        stream.feed(f"line {i:03d}\r\n".encode())
    assert remote_lines(screen) == [f"line {i:03d}" for i in range(100)]


@pytest.mark.parametrize("scroll", [b"\x1b[S", b"\x1bD", b"\x1b[1M"])
def test_lines_scrolled_by_csi_s_index_or_delete_line_are_kept(scroll):
    screen, stream = screen_with_divider()
    stream.feed(f"\x1b[1;{TOP}r".encode())
    for i in range(100):
        row = min(i, TOP - 1)
        if i >= TOP:       # the window is full: scroll it by one, as curses may
            stream.feed(b"\x1b[%d;1H" % (TOP if scroll == b"\x1bD" else 1) + scroll)
        stream.feed(b"\x1b[%d;1H" % (row + 1) + f"line {i:03d}".encode())
    assert remote_lines(screen) == [f"line {i:03d}" for i in range(100)]


def test_reverse_scroll_does_not_invent_lines():
    screen, stream = screen_with_divider()
    stream.feed(f"\x1b[1;{TOP}r\x1b[1;1Hfirst\r\nsecond".encode())
    stream.feed(b"\x1b[T")        # scroll down: a blank row appears at the top
    assert remote_lines(screen) == ["", "first", "second"]


def test_a_line_wider_than_the_screen_is_one_line():
    screen, stream = screen_with_divider()
    long = "".join(chr(ord("a") + i % 26) for i in range(200))
    stream.feed(long.encode() + b"\r\nnext\r\n")
    assert remote_lines(screen) == [long, "next"]


@pytest.mark.skipif(not has_terminfo("xterm"), reason="no terminfo entry for xterm")
@pytest.mark.slow
def test_a_hundred_lines_through_curses_read_in_order(build_c, tmp_path):
    """The talk library's own windows, scrolled by ncurses on a 24-row terminal."""
    program = build_c(["asgn5/mytalk.c"], (), True)
    case = Case(Settings())
    try:
        port = free_port()
        listener = TcpListener(case, port)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "xterm",
               "HOME": str(tmp_path), "LANG": "C.UTF-8"}
        me = WindowedProgram(case, "mytalk", [str(program), "localhost", str(port)],
                             cwd=str(tmp_path), env=env, launch=[], dimensions=(ROWS, COLS))
        conn, _ = talk.take_request(listener)
        conn.send(b"ok")
        for i in range(100):       # one at a time: each is drawn, then scrolled away
            conn.say(f"line {i:03d}")
            me.expect_line(f"line {i:03d}")
        assert len(me.screen.scrolled_out) >= 100 - TOP
        assert [line for line in remote_lines(me.screen) if line.startswith("line")] == \
            [f"line {i:03d}" for i in range(100)]
    finally:
        case.close()
