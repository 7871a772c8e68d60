"""Tests of reference.mytalk: its protocol pieces, and the program driven through a pty.

The program runs as `python -m reference.mytalk` under pexpect against a plain socket peer
owned by the test, and against itself. Every wait has a deadline; every process and socket
is closed in teardown.
"""
from __future__ import annotations

import fcntl
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import psutil
import pyte
import pytest

from reference import mytalk
from reference.mytalk import CLOSE_MESSAGE, Options, UsageError

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 10.0  # seconds allowed for any one expected event
IDLE_WINDOW = 0.2  # seconds over which a waiting mytalk must use (almost) no CPU
IDLE_CPU_LIMIT = 0.05  # CPU seconds allowed in that window
QUIET_PERIOD = 0.2  # seconds of silence taken to mean "nothing was sent"
SCREEN_ROWS, SCREEN_COLS = 24, 80
PROMPT = re.compile(r"Mytalk request from (\S+)@(\S+)\.  Accept \(y/n\)\? ")

Spawn = Callable[..., pexpect.spawn]


# ---------------------------------------------------------------- fixtures and helpers

@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start mytalk in a pty with the given arguments; kill whatever is left at teardown."""
    children: list[pexpect.spawn] = []

    def start(*args: str, dimensions: tuple[int, int] | None = None) -> pexpect.spawn:
        env = dict(os.environ, TERM="xterm")
        child = pexpect.spawn(sys.executable, ["-m", "reference.mytalk", *args], cwd=str(ROOT),
                              env=env, echo=False, timeout=TIMEOUT, encoding="utf-8",
                              dimensions=dimensions)
        child.delaybeforesend = None
        children.append(child)
        return child

    yield start
    for child in children:
        child.close(force=True)


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    """Sockets a test opens; all closed at teardown."""
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


@pytest.fixture
def listener(sockets: list[socket.socket]) -> socket.socket:
    """A plain server socket on a free loopback port, for mytalk as a client to call."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sockets.append(sock)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    sock.settimeout(TIMEOUT)
    return sock


def free_port() -> int:
    """A port nobody listens on right now: bind port 0 and let the kernel pick."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def wait_listening(pid: int, port: int) -> None:
    """Wait until process pid listens on port (checked without connecting, which it would
    take as its one caller)."""
    deadline = time.monotonic() + TIMEOUT
    proc = psutil.Process(pid)
    while time.monotonic() < deadline:
        if any(conn.status == psutil.CONN_LISTEN and conn.laddr.port == port
               for conn in proc.net_connections(kind="tcp")):
            return
        time.sleep(0.01)
    raise AssertionError(f"mytalk did not listen on port {port} within {TIMEOUT} s")


def wait_pipe_drained(read_end: int) -> None:
    """Wait until the reader has taken everything written into the pipe (FIONREAD is 0)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if struct.unpack("i", fcntl.ioctl(read_end, termios.FIONREAD, b"\0" * 4))[0] == 0:
            return
        time.sleep(0.01)
    raise AssertionError(f"mytalk did not read its input within {TIMEOUT} s")


def start_server(spawn: Spawn, *flags: str) -> tuple[pexpect.spawn, int]:
    """mytalk -N as a server on a free port, once it listens."""
    port = free_port()
    child = spawn("-N", *flags, str(port))
    wait_listening(child.pid, port)
    return child, port


def call(port: int, sockets: list[socket.socket], name: bytes = b"tester") -> socket.socket:
    """Connect to a mytalk server as a client and send the name packet."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sockets.append(sock)
    sock.sendall(name)
    return sock


def accept_call(listener: socket.socket, sockets: list[socket.socket]) -> socket.socket:
    """Take the call of a mytalk client."""
    conn, _ = listener.accept()
    sockets.append(conn)
    conn.settimeout(TIMEOUT)
    return conn


def recv_until(sock: socket.socket, expected: bytes) -> bytes:
    """Receive until expected has arrived or the peer closed; the timeout is the deadline."""
    data = b""
    while expected not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def recv_to_eof(sock: socket.socket) -> bytes:
    """Receive everything until the peer closes."""
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def finish(child: pexpect.spawn) -> tuple[int | None, int | None]:
    """Wait for the child's end; return (exit status, signal)."""
    child.expect(pexpect.EOF)
    child.wait()
    return child.exitstatus, child.signalstatus


def accepted_server(spawn: Spawn, sockets: list[socket.socket]
                    ) -> tuple[pexpect.spawn, socket.socket]:
    """A mytalk server that has accepted our call with -a, ready to chat."""
    child, port = start_server(spawn, "-a")
    peer = call(port, sockets)
    assert peer.recv(16) == b"ok"
    return child, peer


def accepted_client(spawn: Spawn, listener: socket.socket, sockets: list[socket.socket]
                    ) -> tuple[pexpect.spawn, socket.socket]:
    """A mytalk client we accepted, proven to be chatting (so later data is not the reply)."""
    child = spawn("-N", "localhost", str(listener.getsockname()[1]))
    conn = accept_call(listener, sockets)
    assert conn.recv(4096) == mytalk.login_name().encode()
    child.expect_exact("Waiting for response from localhost.")
    conn.sendall(b"ok")
    child.sendline("ready")
    assert recv_until(conn, b"\n") == b"ready\n"
    return child, conn


# ---------------------------------------------------------------- pieces the grader imports

def test_parse_args_roles_and_flags() -> None:
    assert mytalk.parse_args(["1234"]) == Options(port=1234)
    assert mytalk.parse_args(["-v", "-v", "-a", "-N", "host", "80"]) == Options(
        port=80, host="host", verbosity=2, auto_accept=True, windowing=False)
    assert mytalk.parse_args(["-vvN", "host", "65535"]).verbosity == 2
    assert mytalk.parse_args(["host", "-a", "1"]) == Options(port=1, host="host",
                                                             auto_accept=True)


@pytest.mark.parametrize("argv", [[], ["-x", "5000"], ["http"], ["12ab"], ["0"], ["65536"],
                                  ["-1"], ["host", "1", "2"], [" 80"]])
def test_parse_args_rejects(argv: list[str]) -> None:
    with pytest.raises(UsageError):
        mytalk.parse_args(argv)


def test_protocol_pieces() -> None:
    assert all(map(mytalk.is_accept_answer, ["y", "Y", "yes", "YeS\n", " yes "]))
    assert not any(map(mytalk.is_accept_answer, ["", "n", "no", "yess", "ye", "y e s"]))
    assert all(map(mytalk.is_ok_reply, [b"ok", b"ok\0", b"ok" + b"\0" * 1022, b"ok\n"]))
    assert not any(map(mytalk.is_ok_reply, [b"", b"no", b"not ok", b"OK", b"o"]))
    for packet in [b"user", b"user\0", b"user" + b"\0" * 1021, b"user@host\0", b" user\n"]:
        assert mytalk.parse_name(packet) == "user"
    assert mytalk.split_lines(b"a\nb\nrest") == ([b"a\n", b"b\n"], b"rest")
    assert mytalk.split_lines(b"") == ([], b"")
    assert CLOSE_MESSAGE == "Connection closed.  ^C to terminate."
    assert PROMPT.fullmatch(mytalk.request_prompt("u", "h"))


def test_send_and_read_name() -> None:
    left, right = socket.socketpair()
    with left, right:
        mytalk.send_name(left, "someone")
        assert right.recv(100) == b"someone"
        mytalk.send_name(left, "someone@elsewhere")
        assert mytalk.read_name(right) == "someone"
        left.close()
        with pytest.raises(ConnectionError):
            mytalk.read_name(right)


# ---------------------------------------------------------------- command line

@pytest.mark.parametrize("argv", [[], ["-x", "5000"], ["http"], ["0"], ["65536"],
                                  ["host", "1", "2"]])
def test_usage_error_exits_1(argv: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "reference.mytalk", *argv], cwd=ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 1
    assert "usage: mytalk" in done.stderr
    assert done.stdout == ""


def test_refused_connection_exits_1(spawn: Spawn) -> None:
    child = spawn("-N", "localhost", str(free_port()))
    child.expect("refused")
    assert finish(child) == (1, None)


# ---------------------------------------------------------------- server role

@pytest.mark.parametrize("answer", ["y", "Yes", "YES"])
def test_server_accepts_and_chats(spawn: Spawn, sockets: list[socket.socket],
                                  answer: str) -> None:
    child, port = start_server(spawn)
    peer = call(port, sockets)
    child.expect(PROMPT)
    assert child.match.group(1) == "tester"
    assert child.match.group(2) == mytalk.peer_host_name(("127.0.0.1", 0))
    child.sendline(answer)
    assert peer.recv(16) == b"ok"
    peer.sendall(b"hello from peer\n")
    child.expect_exact("hello from peer")
    child.sendline("hi from mytalk")
    assert recv_until(peer, b"\n") == b"hi from mytalk\n"
    child.sendeof()
    assert recv_to_eof(peer) == b""
    assert finish(child) == (0, None)


@pytest.mark.parametrize("packet", [b"tester\0", b"tester@elsewhere" + b"\0" * 1009])
@pytest.mark.parametrize("answer", ["n", "", "yess", None])
def test_server_declines(spawn: Spawn, sockets: list[socket.socket], packet: bytes,
                         answer: str | None) -> None:
    child, port = start_server(spawn)
    peer = call(port, sockets, packet)
    child.expect(PROMPT)
    assert child.match.group(1) == "tester"
    if answer is None:
        child.sendeof()
    else:
        child.sendline(answer)
    assert recv_to_eof(peer) == b"no"
    assert finish(child) == (0, None)


def test_server_auto_accept(spawn: Spawn, sockets: list[socket.socket]) -> None:
    child, peer = accepted_server(spawn, sockets)
    peer.sendall(b"no question asked\n")
    child.expect_exact("no question asked")
    assert "Accept" not in child.before


def test_verbose_without_ttys_says_windowing_disabled(sockets: list[socket.socket]) -> None:
    port = free_port()
    with subprocess.Popen([sys.executable, "-m", "reference.mytalk", "-v", "-a", str(port)],
                          cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        try:
            wait_listening(proc.pid, port)
            peer = call(port, sockets)
            assert peer.recv(16) == b"ok"
            _out, err = proc.communicate(timeout=TIMEOUT)  # closes stdin: EOF ends the chat
        finally:
            proc.kill()
    assert proc.returncode == 0
    assert "windowing disabled" in err


# ---------------------------------------------------------------- client role

def test_client_handshake_and_chat(spawn: Spawn, listener: socket.socket,
                                   sockets: list[socket.socket]) -> None:
    child = spawn("-N", "localhost", str(listener.getsockname()[1]))
    conn = accept_call(listener, sockets)
    assert conn.recv(4096) == mytalk.login_name().encode()
    child.expect_exact("Waiting for response from localhost.")
    conn.sendall(b"ok\0")
    child.sendline("ready")
    assert recv_until(conn, b"\n") == b"ready\n"
    conn.sendall(b"from the server\n")
    child.expect_exact("from the server")
    child.send("one\ntwo\n")
    assert recv_until(conn, b"two\n") == b"one\ntwo\n"
    child.sendeof()
    assert recv_to_eof(conn) == b""
    assert finish(child) == (0, None)


@pytest.mark.parametrize("answer", [b"ok", b"ok\0", b"ok" + b"\0" * 30])
def test_client_keeps_chat_sent_with_the_answer(spawn: Spawn, listener: socket.socket,
                                                sockets: list[socket.socket],
                                                answer: bytes) -> None:
    child = spawn("-N", "localhost", str(listener.getsockname()[1]))
    conn = accept_call(listener, sockets)
    conn.recv(4096)
    child.expect_exact("Waiting for response from localhost.")
    conn.sendall(answer + b"said at once\n")
    child.expect_exact("said at once")


@pytest.mark.parametrize("reply", [b"no", b"not ok", b""])
def test_client_declined(spawn: Spawn, listener: socket.socket,
                         sockets: list[socket.socket], reply: bytes) -> None:
    child = spawn("-N", "localhost", str(listener.getsockname()[1]))
    conn = accept_call(listener, sockets)
    child.expect_exact("Waiting for response from localhost.")
    if reply:
        conn.sendall(reply)
    else:
        conn.close()
    child.expect_exact("localhost declined connection.")
    assert finish(child) == (0, None)


def test_lines_from_a_pipe_arrive_whole(listener: socket.socket,
                                        sockets: list[socket.socket]) -> None:
    port = listener.getsockname()[1]
    read_end, write_end = os.pipe()  # all the input is there at once, then end of file
    os.write(write_end, b"a\nb\nno newline")
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stdin, subprocess.Popen(
            [sys.executable, "-m", "reference.mytalk", "-v", "localhost", str(port)],
            cwd=ROOT, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            conn = accept_call(listener, sockets)
            conn.recv(4096)
            conn.sendall(b"ok")
            assert recv_to_eof(conn) == b"a\nb\nno newline"
            out, err = proc.communicate(timeout=TIMEOUT)
        finally:
            proc.kill()
    assert proc.returncode == 0
    assert out == b"Waiting for response from localhost.\n"
    assert b"windowing disabled" in err


# ---------------------------------------------------------------- chat behaviour

def test_partial_line_sent_at_eof(spawn: Spawn, listener: socket.socket,
                                  sockets: list[socket.socket]) -> None:
    child, conn = accepted_client(spawn, listener, sockets)
    child.send("abc")
    child.sendeof()  # the first ^D hands "abc" to read(2) without a newline
    child.sendeof()  # the second is end of file
    assert recv_to_eof(conn) == b"abc"
    assert finish(child) == (0, None)


def test_partial_line_waits_for_newline(sockets: list[socket.socket]) -> None:
    port = free_port()
    read_end, write_end = os.pipe()
    with subprocess.Popen([sys.executable, "-m", "reference.mytalk", "-a", str(port)],
                          cwd=ROOT, stdin=read_end, stdout=subprocess.DEVNULL) as proc:
        try:
            wait_listening(proc.pid, port)
            peer = call(port, sockets)
            assert peer.recv(16) == b"ok"
            os.write(write_end, b"abc")
            wait_pipe_drained(read_end)
            peer.settimeout(QUIET_PERIOD)
            with pytest.raises(socket.timeout):     # TimeoutError from 3.10 on
                peer.recv(16)  # "abc" was read but is not a whole line: nothing is sent
            peer.settimeout(TIMEOUT)
            os.write(write_end, b"def\n")
            assert recv_until(peer, b"\n") == b"abcdef\n"
            os.close(write_end)
            assert recv_to_eof(peer) == b""
            assert proc.wait(timeout=TIMEOUT) == 0
        finally:
            proc.kill()
            os.close(read_end)


def test_bye_is_an_ordinary_line(spawn: Spawn, sockets: list[socket.socket]) -> None:
    child, peer = accepted_server(spawn, sockets)
    peer.sendall(b"bye\n")
    child.expect_exact("bye")
    child.sendline("bye")
    assert recv_until(peer, b"\n") == b"bye\n"
    peer.sendall(b"still here\n")
    child.expect_exact("still here")
    child.sendline("me too")
    assert recv_until(peer, b"\n") == b"me too\n"


def test_peer_close_then_idle_until_interrupt(spawn: Spawn,
                                              sockets: list[socket.socket]) -> None:
    child, peer = accepted_server(spawn, sockets)
    peer.close()
    child.expect_exact(CLOSE_MESSAGE)
    proc = psutil.Process(child.pid)
    before = proc.cpu_times()
    time.sleep(IDLE_WINDOW)  # a measuring window, not a wait for an event
    after = proc.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    assert used < IDLE_CPU_LIMIT, f"used {used:.3f} s of CPU while waiting for ^C"
    assert child.isalive()
    child.sendintr()
    assert finish(child) == (None, signal.SIGINT)


def test_interrupt_ends_the_chat(spawn: Spawn, listener: socket.socket,
                                 sockets: list[socket.socket]) -> None:
    child, conn = accepted_client(spawn, listener, sockets)
    child.sendintr()
    assert recv_to_eof(conn) == b""
    assert finish(child) == (None, signal.SIGINT)


def test_talks_to_itself(spawn: Spawn) -> None:
    server, port = start_server(spawn)
    client = spawn("-N", "localhost", str(port))
    client.expect_exact("Waiting for response from localhost.")
    server.expect(PROMPT)
    assert server.match.group(1) == mytalk.login_name()
    server.sendline("y")
    client.sendline("from the client")
    server.expect_exact("from the client")
    server.sendline("from the server")
    client.expect_exact("from the server")
    client.sendeof()
    assert finish(client) == (0, None)
    server.expect_exact(CLOSE_MESSAGE)
    server.sendintr()
    assert finish(server) == (None, signal.SIGINT)


def test_declines_itself(spawn: Spawn) -> None:
    server, port = start_server(spawn)
    client = spawn("-N", "localhost", str(port))
    server.expect(PROMPT)
    server.sendline("no")
    client.expect_exact("localhost declined connection.")
    assert finish(client) == (0, None)
    assert finish(server) == (0, None)


# ---------------------------------------------------------------- windowed mode

class ScreenWatcher:
    """Feeds a child's output into a pyte screen and waits for the screen to show something."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        self.screen = pyte.Screen(SCREEN_COLS, SCREEN_ROWS)
        self.stream = pyte.Stream(self.screen)
        self.output = ""

    def pump(self, timeout: float) -> None:
        """Feed whatever arrives within timeout (raises TIMEOUT or EOF like pexpect)."""
        text = self.child.read_nonblocking(4096, timeout=timeout)
        self.output += text
        self.stream.feed(text)

    def wait_for(self, what: str, condition: Callable[[list[str]], bool]) -> list[str]:
        """Wait until condition holds for the screen's rows; fail after TIMEOUT."""
        deadline = time.monotonic() + TIMEOUT
        while not condition(self.screen.display):
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise pexpect.TIMEOUT("deadline")
                self.pump(remaining)
            except (pexpect.TIMEOUT, pexpect.EOF):
                rows = "\n".join(self.screen.display)
                raise AssertionError(f"screen never showed {what}:\n{rows}") from None
        return self.screen.display

    def drain_to_eof(self) -> None:
        """Collect the rest of the output until the child's end."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                self.pump(deadline - time.monotonic())
            except pexpect.EOF:
                return
        raise AssertionError("mytalk did not end")


def divider_row(rows: list[str]) -> int:
    """Index of the row of '=' across the full width, or -1."""
    return rows.index("=" * SCREEN_COLS) if "=" * SCREEN_COLS in rows else -1


def shows_above(text: str) -> Callable[[list[str]], bool]:
    return lambda rows: any(text in row for row in rows[:max(divider_row(rows), 0)])


def shows_below(text: str) -> Callable[[list[str]], bool]:
    return lambda rows: divider_row(rows) >= 0 and any(
        text in row for row in rows[divider_row(rows) + 1:])


@pytest.mark.parametrize("ending", ["eof", "interrupt"])
def test_windowed_mode(spawn: Spawn, sockets: list[socket.socket], ending: str) -> None:
    port = free_port()
    child = spawn("-a", str(port), dimensions=(SCREEN_ROWS, SCREEN_COLS))
    wait_listening(child.pid, port)
    peer = call(port, sockets)
    assert peer.recv(16) == b"ok"
    watcher = ScreenWatcher(child)
    watcher.wait_for("the divider", lambda rows: divider_row(rows) > 0)
    peer.sendall(b"remote hello\n")
    watcher.wait_for("remote text above the divider", shows_above("remote hello"))
    child.send("typed here")
    watcher.wait_for("local text below the divider", shows_below("typed here"))
    child.send("\r")
    assert recv_until(peer, b"\n") == b"typed here\n"
    child.send("abcX\x7f\r")  # DEL erases the X
    assert recv_until(peer, b"\n") == b"abc\n"
    watcher.wait_for("the edited line", shows_below("abc"))
    rows = watcher.screen.display
    assert not any("abcX" in row for row in rows)
    assert not any("typed here" in row for row in rows[:divider_row(rows)])
    if ending == "eof":
        child.send("\x04")
        watcher.drain_to_eof()
        assert finish(child) == (0, None)
    else:
        child.sendintr()
        watcher.drain_to_eof()
        assert finish(child) == (None, signal.SIGINT)
    assert recv_to_eof(peer) == b""
    assert "\x1b[?1049l" in watcher.output  # curses left the alternate screen: endwin ran
