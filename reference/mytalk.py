"""mytalk, Assignment 5: a two-person chat over TCP, written to be read next to a C solution.

A server (no hostname) waits for one caller and asks its user whether to accept; a client
(hostname given) sends its login name and waits for "ok". Then both ends copy the keyboard to
the socket a line at a time and the socket to the screen, waiting on both with poll(2). With
ttys and without -N the screen is split by curses: remote text on top, a row of '=', local
typing below -- what the course's talk library does for C programs.

    python -m reference.mytalk [-v] [-a] [-N] [hostname] port

Decisions where the handout is silent (a grader must accept other choices):
- the user name goes out without a NUL; a decline is b"no" and the server then exits 0;
- read_name keeps only "user" from "user@host", because the prompt's host comes from the
  connection itself, and the grader compares what it reads with a login name;
- the prompt ends with a space, no newline; the host in it is a name when one is known;
- ^C ends the program by the default SIGINT action (the shell sees "killed by SIGINT", as
  for a C program), after curses has been shut down.
"""
from __future__ import annotations

import codecs
import curses
import errno
import getopt
import os
import pwd
import re
import select
import signal
import socket
import sys
from dataclasses import dataclass
from typing import NoReturn, Protocol

USAGE = "usage: mytalk [ -v ] [ -a ] [ -N ] [ hostname ] port"
CLOSE_MESSAGE = "Connection closed.  ^C to terminate."
ACCEPT_REPLY = b"ok"
DECLINE_REPLY = b"no"
MAXBUF = 4096
STDIN, STDOUT = 0, 1


class UsageError(Exception):
    """The command line is wrong; main prints the message and the usage line, exit 1."""


@dataclass(frozen=True)
class Options:
    """What the command line asked for. host None means: be the server."""

    port: int
    host: str | None = None
    verbosity: int = 0
    auto_accept: bool = False
    windowing: bool = True


# ---------------------------------------------------------------- command line

def parse_port(text: str) -> int:
    """Accept only plain decimal 1..65535, as a strtol-with-end-check in C would."""
    if not re.fullmatch(r"[0-9]+", text) or not 0 < int(text) < 65536:
        raise UsageError(f"bad port: {text!r}")
    return int(text)


def parse_args(argv: list[str]) -> Options:
    """Parse the arguments after the program name; raise UsageError when they are wrong.

    Options may follow operands, as with glibc's getopt, and -v may repeat (-v -v or -vv).
    """
    try:
        flags, operands = getopt.gnu_getopt(argv, "vaN")
    except getopt.GetoptError as err:
        raise UsageError(str(err)) from None
    if len(operands) not in (1, 2):
        raise UsageError("expected [ hostname ] port")
    names = [flag for flag, _ in flags]
    return Options(port=parse_port(operands[-1]),
                   host=operands[0] if len(operands) == 2 else None,
                   verbosity=names.count("-v"),
                   auto_accept="-a" in names,
                   windowing="-N" not in names)


# ---------------------------------------------------------------- handshake pieces

def login_name() -> str:
    """The local user's name, as the handout's getpwuid(getuid()) gives it."""
    return pwd.getpwuid(os.getuid()).pw_name


def send_name(sock: socket.socket, name: str) -> None:
    """Send the user name as one packet: the bytes of the name, no NUL, no padding."""
    sock.sendall(name.encode())


def parse_name(data: bytes) -> str:
    """Turn a received name packet into a user name, whatever the sender's conventions.

    Stops at the first NUL (so a NUL terminator or a zero-padded block is ignored), strips
    white space, and keeps only the part before '@' when a client sent "user@host".
    """
    text = data.split(b"\0", 1)[0].decode(errors="replace").strip()
    return text.split("@", 1)[0]


def read_name(sock: socket.socket) -> str:
    """Receive the client's name packet and parse it; a peer that hung up is an error."""
    data = sock.recv(MAXBUF)
    if not data:
        raise ConnectionError("the caller hung up before sending a user name")
    return parse_name(data)


def is_accept_answer(line: str) -> bool:
    """The server's user accepts with "y" or "yes" in any case; anything else declines."""
    return line.strip().lower() in ("y", "yes")


def is_ok_reply(data: bytes) -> bool:
    """The client is accepted when the reply starts with "ok" (so "ok\\0" and padding pass)."""
    return data.startswith(ACCEPT_REPLY)


def waiting_message(host: str) -> str:
    """What the client prints while it waits for the answer."""
    return f"Waiting for response from {host}."


def declined_message(host: str) -> str:
    """The client's last line when the answer was not "ok"."""
    return f"{host} declined connection."


def request_prompt(user: str, host: str) -> str:
    """The server's question; two spaces before "Accept", a space and no newline after."""
    return f"Mytalk request from {user}@{host}.  Accept (y/n)? "


def peer_host_name(address: tuple[str, int]) -> str:
    """The caller's host: its name when the resolver knows one, else the dotted address."""
    try:
        return socket.getnameinfo(address, 0)[0]
    except OSError:
        return address[0]


def split_lines(pending: bytes) -> tuple[list[bytes], bytes]:
    """Split buffered input into whole lines (each keeps its newline) and the unfinished rest."""
    *lines, rest = pending.split(b"\n")
    return [line + b"\n" for line in lines], rest


# ---------------------------------------------------------------- small I/O helpers

def read_fd(fd: int, size: int) -> bytes:
    """os.read, except that EIO (a pty whose other end is gone) counts as end of file."""
    try:
        return os.read(fd, size)
    except OSError as err:
        if err.errno == errno.EIO:
            return b""
        raise


def write_all(fd: int, data: bytes) -> None:
    """Write every byte, since one write(2) may take only part of them."""
    while data:
        data = data[os.write(fd, data):]


def read_answer_line() -> str | None:
    """Read one line from stdin a byte at a time; None at end of file.

    One byte at a time, so that nothing typed after the answer is taken from stdin before the
    chat starts reading it.
    """
    line = b""
    while not line.endswith(b"\n"):
        byte = read_fd(STDIN, 1)
        if not byte:
            break
        line += byte
    return line.decode(errors="replace") if line else None


def note(opts: Options, text: str) -> None:
    """With -v, say what is happening on stderr (stdout belongs to the conversation)."""
    if opts.verbosity > 0:
        print(f"mytalk: {text}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the two terminals

class Terminal(Protocol):
    """Where local lines come from and remote text goes: plain stdio or curses windows."""

    def read_input(self) -> tuple[list[bytes], bool]:
        """Consume what stdin has ready; return the lines now complete and whether EOF came."""

    def show(self, data: bytes) -> None:
        """Display text received from the peer."""


class PlainTerminal:
    """stdin and stdout as they are: bytes out untouched, lines in from a buffer of os.read."""

    def __init__(self) -> None:
        self.pending = b""

    def read_input(self) -> tuple[list[bytes], bool]:
        """Read what is there; send whole lines now, and a partial line only at EOF."""
        data = read_fd(STDIN, MAXBUF)
        if not data:
            rest, self.pending = self.pending, b""
            return ([rest] if rest else []), True
        lines, self.pending = split_lines(self.pending + data)
        return lines, False

    def show(self, data: bytes) -> None:
        """Write the peer's bytes to stdout as they came."""
        write_all(STDOUT, data)


class CursesTerminal:
    """Remote text above a row of '=', local typing below, each half scrolling by itself."""

    def __init__(self, stdscr: curses.window) -> None:
        rows, self.cols = stdscr.getmaxyx()
        divider = (rows - 1) // 2
        stdscr.hline(divider, 0, "=", self.cols)
        stdscr.noutrefresh()
        self.remote = curses.newwin(divider, self.cols, 0, 0)
        self.local = curses.newwin(rows - divider - 1, self.cols, divider + 1, 0)
        for window in (self.remote, self.local):
            window.scrollok(True)
        self.local.keypad(True)
        self.local.nodelay(True)  # read_input drains what is typed, never waits
        self.typed = ""  # the line being typed, not yet sent
        self.erase = {curses.KEY_BACKSPACE, "\b", "\x7f", curses.erasechar().decode()}
        self.kill = {"\x15", curses.killchar().decode()}
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.refresh()

    def refresh(self) -> None:
        """Redraw both halves; the local one last, so the cursor stays where the user types."""
        self.remote.noutrefresh()
        self.local.noutrefresh()
        curses.doupdate()

    def redraw_typed(self) -> None:
        """Show the line being typed again after an erase or a kill."""
        row, _ = self.local.getyx()
        self.local.move(row, 0)
        self.local.clrtoeol()
        self.local.addstr(self.typed)

    def read_input(self) -> tuple[list[bytes], bool]:
        """Take every pending key: edit the line, Enter finishes it, ^D is end of file."""
        lines: list[bytes] = []
        while True:
            try:
                key = self.local.get_wch()
            except curses.error:  # nothing more typed yet
                break
            if key in ("\n", "\r", curses.KEY_ENTER):
                lines.append((self.typed + "\n").encode())
                self.typed = ""
                self.local.addstr("\n")
            elif key == "\x04":
                if self.typed:
                    lines.append(self.typed.encode())
                return lines, True
            elif key in self.erase:
                self.typed = self.typed[:-1]
                self.redraw_typed()
            elif key in self.kill:
                self.typed = ""
                self.redraw_typed()
            elif isinstance(key, str) and key.isprintable():
                if len(self.typed) >= self.cols - 1:  # the row is full
                    curses.beep()
                else:
                    self.typed += key
                    self.local.addstr(key)
        self.refresh()
        return lines, False

    def show(self, data: bytes) -> None:
        """Add the peer's text to the top half: BEL rings, other controls show as octal."""
        for char in self.decoder.decode(data):
            if char == "\a":
                curses.beep()
            elif char in "\n\t" or char.isprintable():
                self.remote.addstr(char)
            else:
                self.remote.addstr(f"\\{ord(char):03o}")
        self.refresh()


# ---------------------------------------------------------------- chat

def peer_closed(sock: socket.socket, term: Terminal) -> NoReturn:
    """Say the peer is gone, then do nothing at all until ^C: pause(2), not a busy loop."""
    sock.close()
    term.show(f"\n{CLOSE_MESSAGE}\n".encode())
    while True:
        signal.pause()


def chat(sock: socket.socket, term: Terminal, early: bytes = b"") -> None:
    """Copy lines from the user to the peer and the peer's text to the screen.

    `early` is chat text that arrived in the same recv() as the server's answer.
    Returns at local end of file, after sending any unfinished line; never returns when the
    peer closes first (see peer_closed).
    """
    if early:
        term.show(early)
    poller = select.poll()
    poller.register(STDIN, select.POLLIN)
    poller.register(sock.fileno(), select.POLLIN)
    while True:
        for fd, _events in poller.poll():  # no timeout: sleep until something happens
            if fd == sock.fileno():
                try:
                    data = sock.recv(MAXBUF)
                except ConnectionError:
                    data = b""
                if not data:
                    peer_closed(sock, term)
                term.show(data)
            else:
                lines, at_eof = term.read_input()
                for line in lines:
                    try:
                        sock.sendall(line)
                    except (BrokenPipeError, ConnectionResetError):
                        peer_closed(sock, term)
                if at_eof:
                    return


def converse(sock: socket.socket, opts: Options, early: bytes = b"") -> None:
    """Chat in curses windows when asked for and both stdin and stdout are ttys, else plainly."""
    if opts.windowing and os.isatty(STDIN) and os.isatty(STDOUT):
        curses.wrapper(lambda stdscr: chat(sock, CursesTerminal(stdscr), early))
        return
    if opts.windowing:
        note(opts, "stdin and stdout are not both ttys: windowing disabled")
    chat(sock, PlainTerminal(), early)


# ---------------------------------------------------------------- the two roles

def connect(host: str, port: int) -> socket.socket:
    """Connect over IPv4 to the first address of host that answers."""
    error: OSError = OSError(f"no IPv4 address for {host}")
    for family, kind, proto, _name, address in socket.getaddrinfo(
            host, port, socket.AF_INET, socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            sock.connect(address)
            return sock
        except OSError as err:
            sock.close()
            error = err
    raise error


def accept_one(port: int) -> tuple[socket.socket, tuple[str, int]]:
    """Listen on every interface, take one caller, and stop listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("", port))
        listener.listen(1)
        return listener.accept()


def client(opts: Options, host: str) -> int:
    """Call the server on host, tell it who we are, and chat if it says "ok"."""
    with connect(host, opts.port) as sock:
        note(opts, f"connected to {host} port {opts.port}")
        send_name(sock, login_name())
        print(waiting_message(host), flush=True)
        try:
            reply = sock.recv(MAXBUF)
        except ConnectionError:
            reply = b""
        if not is_ok_reply(reply):
            print(declined_message(host), flush=True)
            return 0
        # The peer may start talking at once: what follows "ok" (and its NULs) is chat.
        converse(sock, opts, early=reply[len(ACCEPT_REPLY):].lstrip(b"\0"))
    return 0


def server(opts: Options) -> int:
    """Wait for one caller, ask the user (unless -a), answer, and chat if accepted."""
    note(opts, f"listening on port {opts.port}")
    sock, address = accept_one(opts.port)
    with sock:
        user, host = read_name(sock), peer_host_name(address)
        note(opts, f"call from {user} at {address[0]} port {address[1]}")
        if opts.auto_accept:
            accepted = True
        else:
            sys.stdout.write(request_prompt(user, host))
            sys.stdout.flush()
            answer = read_answer_line()
            accepted = answer is not None and is_accept_answer(answer)
        sock.sendall(ACCEPT_REPLY if accepted else DECLINE_REPLY)
        if accepted:
            converse(sock, opts)
    return 0


def die_of_sigint() -> NoReturn:
    """End the way an unhandled ^C ends a C program, so the parent sees the signal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
    sys.exit(130)  # not reached unless SIGINT is blocked


def main(argv: list[str] | None = None) -> int:
    """Run mytalk; usage errors and failed calls give a message on stderr and status 1."""
    try:
        opts = parse_args(sys.argv[1:] if argv is None else argv)
    except UsageError as err:
        print(f"mytalk: {err}\n{USAGE}", file=sys.stderr)
        return 1
    try:
        return server(opts) if opts.host is None else client(opts, opts.host)
    except KeyboardInterrupt:  # curses, if it was on, is already shut down here
        die_of_sigint()
    except OSError as err:
        print(f"mytalk: {err.strerror or err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
