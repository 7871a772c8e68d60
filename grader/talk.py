"""Mytalk from the reference side: the handshake both ways, and the texts the handout fixes.

The patterns accept what specs/mytalk.md leaves open (NUL bytes and padding, host as a name or
an address, one or two spaces, a missing final period, a prompt ending in a space or newline);
the exact texts come from the reference program, so a variant is reported as a deviation.
"""
from __future__ import annotations

import re
from typing import Callable, Optional

from reference import mytalk as ref

from .case import CheckFailure
from .peers import TcpListener, TcpPeer
from .program import Program
from .streams import first_of

PEER_USER = "peeruser"          # the login name our reference client announces
HOST = "localhost"              # the host name student clients are given

PROMPT = re.compile(r"Mytalk request from (?P<user>[^@\s]*)@(?P<host>[^\s.]+(?:\.[^\s.]+)*)"
                    r"\.? {0,2}Accept \(y/n\)[?:]? ?\n?")
ASKS = re.compile(r"Accept|\(y/n\)", re.IGNORECASE)
WAITING = re.compile(r"Waiting for response from (?P<host>\S+?)\.?(?=\r?\n)")
DECLINED = re.compile(r"(?P<host>\S+?) declined connection\.?(?=\r?\n)")
CLOSED = re.compile(r"Connection [Cc]losed(?: by peer)?\.? {0,2}(?:\^C to terminate\.?)?")


def name_in(packet: bytes) -> str:
    """The user name in a handshake packet: NULs and padding dropped, "user@host" -> "user"."""
    return packet.split(b"\0", 1)[0].decode("utf-8", "replace").split("@", 1)[0].strip()


def take_request(listener: TcpListener, hint: Optional[str] = None) -> tuple[TcpPeer, bytes]:
    """Accept a student client's connection and read its one-packet user name."""
    conn = listener.accept(name="reference", hint=hint or f"connect to {HOST} at the port given")
    return conn, conn.expect_any(hint="send your login name as soon as you are connected")


def expect_ok(conn: TcpPeer, hint: Optional[str] = None) -> bytes:
    reply = conn.expect_any(hint=hint)
    if not ref.is_ok_reply(reply):
        raise CheckFailure(f"the server answered {reply!r}, not \"ok\"", hint)
    return reply


def open_request(connect: Callable[..., TcpPeer], port: int) -> TcpPeer:
    """Our reference client: connect and announce PEER_USER."""
    conn = connect(port, "reference")
    conn.send(PEER_USER.encode())
    return conn


def get_accepted(server: Program, conn: TcpPeer) -> bytes:
    """Follow the student server through acceptance: answer "y" if it asks, expect "ok"."""
    hint = "print the request prompt, read the answer, and reply \"ok\" for \"y\""
    if first_of({"asks": (server, ASKS), "answers": (conn, None)},
                server.settings.expect_timeout, hint) == "asks":
        server.say("y")
    return expect_ok(conn, hint)


def client_session(student, listen, windowed: bool = False) -> tuple[Program, TcpPeer]:
    """The student's mytalk client, accepted by our reference server, ready to chat."""
    listener = listen(student.port)
    options = () if windowed else ("-N",)
    me = student.start(*options, HOST, str(student.port), name="mytalk",
                       term="xterm" if windowed else None)
    conn, _ = take_request(listener)
    conn.send(ref.ACCEPT_REPLY)
    conn.wait_read_by_peer(hint="read the server's answer")
    return me, conn


def server_session(student, connect) -> tuple[Program, TcpPeer]:
    """The student's mytalk server with our reference client accepted, ready to chat."""
    me = student.start("-N", str(student.port), name="mytalk")
    me.expect_listening(student.port, hint="listen on the port given as the last argument")
    conn = open_request(connect, student.port)
    get_accepted(me, conn)
    return me, conn
