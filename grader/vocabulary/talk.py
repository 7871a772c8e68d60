"""Mytalk from the reference side: the handshake both ways, and the texts the handout fixes.

The patterns accept what specs/mytalk.md leaves open (NUL bytes and padding, host as a name or
an address, one or two spaces, a missing final period, a prompt ending in a space or newline);
the exact texts come from the reference program, so a variant is reported as a deviation.
"""
from __future__ import annotations

import re
from typing import Callable, Optional

from reference import mytalk as ref

from . import wording
from ..harness.case import CheckFailure
from ..harness.peers import TcpListener, TcpPeer
from ..harness.program import Program
from ..settings import Settings
from ..harness.streams import first_of
from ..harness.transcript import show, show_text

# The login names our reference client announces: neither is 8 bytes (sizeof(char *)), so a
# server that reads or prints the name with sizeof on a pointer, or keeps it in a short fixed
# buffer, shows it. Every check uses the short one; server_prompt tries the long one too.
PEER_USER = "zoe"
PEER_USER_LONG = "reference-peer-with-long-name"
HOST = "localhost"              # the host self_interop gives the program's own client
_PEER = Settings()              # reference clients dial from, and servers listen on, their
PEER_HOST, PEER_ADDRESS = _PEER.peer_host, _PEER.peer_address    # own loopback address

# The texts the handout fixes, with the one tolerance rule (wording.py). Each constant
# is the rule's compiled pattern, so Endpoint.expect and first_of take it as before; messages
# and expect_wording describe it in words through the Wording it came from.
PROMPT_TEXT = wording.Wording(ref.request_prompt("{user}", "{host}"), open_end=True, near=True,
                              user=wording.name("the user name the client sent"),
                              host=wording.host("the client's host, a name or an address"))
ASKS_TEXT = wording.Wording(["Accept", "(y/n)"], open_end=True,
                            what='a question: "Accept" or "(y/n)", in any case')
WAITING_TEXT = wording.Wording(ref.waiting_message("{host}"), open_end=True, near=True,
                               host=wording.choice(PEER_HOST, PEER_ADDRESS,
                                                   words="the host as given, or its address"))
DECLINED_TEXT = wording.Wording(ref.declined_message("{host}"), near=True, follows=WAITING_TEXT,
                                host=wording.choice(PEER_HOST, PEER_ADDRESS,
                                                    words="the host as given, or its address"))
CLOSED_TEXT = wording.Wording(ref.CLOSE_MESSAGE.replace("closed.  ^C to terminate.",
                                                        "closed[+ by peer].  [^C to terminate.]"),
                              near=True)
PROMPT, ASKS, WAITING, DECLINED, CLOSED = (w.regex for w in (
    PROMPT_TEXT, ASKS_TEXT, WAITING_TEXT, DECLINED_TEXT, CLOSED_TEXT))


def name_in(packet: bytes) -> str:
    """The user name in a handshake packet: NULs and padding dropped, "user@host" -> "user"."""
    return packet.split(b"\0", 1)[0].decode("utf-8", "replace").split("@", 1)[0].strip()


def take_request(listener: TcpListener, hint: Optional[str] = None) -> tuple[TcpPeer, bytes]:
    """Accept a student client's connection and read its one-packet user name."""
    conn = listener.accept(name="reference", hint=hint or "connect to the host given (look it "
                                                          "up with getaddrinfo) at the port given")
    return conn, conn.expect_any(hint="send your login name as soon as you are connected")


def take_connection(listener: TcpListener, me: Program) -> TcpPeer:
    """Accept a student client's connection and take its name packet if it sends one.

    Whether the name comes is client_sends_username's business: a client that waits for the
    answer without sending it (the wait sees it blocked) is answered all the same."""
    conn = listener.accept(name="reference", hint="connect to the host given (look it up with "
                                                  "getaddrinfo) at the port given")
    try:
        conn.expect_any()
    except CheckFailure:
        if not me.alive or conn.output_ended:
            raise
        me.case.note(f"{me.name} sent no user name; the reference answers it anyway")
    return conn


def reference_server(student, listen) -> TcpListener:
    """Our reference server, on the reference peers' own address (not 127.0.0.1)."""
    return listen(student.port, host=student.peer_address)


def start_client(student, *options: str, **kwargs) -> Program:
    """The student's program as a client of the reference server: given its host and port."""
    return student.start(*options, student.peer_host, str(student.port), **kwargs)


# The prompt up to its question, whatever its spelling: to read the user name in it.
_UP_TO_QUESTION = wording.described(re.compile(r"(?is)(.*?)(?:accept|\(y/n\))"),
                                    'the question "Accept (y/n)?"')


def name_fault(prompt: str, user: str) -> Optional[str]:
    """What follows the name the client sent in a prompt, when it is not "@" or the end of a
    word: bytes after the name (an unterminated buffer). None when the name is followed as it
    should be, or is not there at all (that is server_prompt's to judge)."""
    at = prompt.find(user, max(prompt.lower().rfind("from"), 0))
    if at < 0:
        return None
    after = prompt[at + len(user):]
    if not after or after[0] == "@" or after[0].isspace() or after[0] in ".,:;!?)'\"":
        return None
    return after.split("@", 1)[0] if "@" in after else after[:40]


UNTERMINATED = ("the name arrives without a NUL: terminate it at the length recv() returned "
                "(name[n] = '\\0') before printing it")


def expect_name_alone(server: Program, user: str) -> None:
    """Fail, saying so, when the prompt the server has printed shows bytes after the name."""
    try:
        m = server.expect(_UP_TO_QUESTION, timeout=0)
    except CheckFailure:
        return
    fault = name_fault(m.group(0), user)
    if fault is not None:
        raise CheckFailure(f"the prompt shows \"{show_text(fault)}\" after the name \"{user}\" "
                           f"the client sent: \"{show_text(m.group(0).strip())}\"", UNTERMINATED)


def expect_question(server: Program, student=None, user: str = PEER_USER):
    """Wait for the server's question; note an unterminated name in the prompt on the grading
    (server_prompt judges every prompt the grading saw, once)."""
    m = server.expect(_UP_TO_QUESTION, hint="ask \"Accept (y/n)?\" before answering")
    fault = name_fault(m.group(0), user)
    if fault is not None and student is not None:
        student.prompt_faults.append(
            f"\"{show_text(m.group(0).strip())}\" (\"{show_text(fault)}\" after the name)")
        server.case.note(f"the prompt shows \"{show_text(fault)}\" after the name "
                         f"\"{user}\": server_prompt judges it")
    return m


def expect_ok(conn: TcpPeer, hint: Optional[str] = None) -> bytes:
    reply = conn.expect_any(hint=hint)
    if not ref.is_ok_reply(reply):
        said = f'"{show(reply)}"' if reply else "nothing"
        raise CheckFailure(f"the server answered {said}, not \"ok\"", hint)
    return reply


def open_request(connect: Callable[..., TcpPeer], port: int, source: Optional[str] = None,
                 user: str = PEER_USER) -> TcpPeer:
    """Our reference client: connect (from the reference peers' own address) and announce
    the user, without a NUL."""
    conn = connect(port, "reference", source=source)
    conn.send(user.encode())
    return conn


STRAY_ANSWER = (
    "your server sent an empty line before the first chat line: the end of the y/n answer "
    "(its newline) was left in stdin's buffer by scanf or getchar, and under -N the first "
    "read_from_input() returned it. Windowed this does not happen (curses reads the terminal "
    "itself), so it costs no points; reading the whole answer line with fgets() avoids it")


def get_accepted(server: Program, conn: TcpPeer, student=None) -> bytes:
    """Follow the student server through acceptance: answer "y" if it asks, expect "ok"."""
    hint = "print the request prompt, read the answer, and reply \"ok\" for \"y\""
    if first_of({"asks": (server, ASKS), "answers": (conn, None)},
                server.settings.expect_timeout, hint) == "asks":
        expect_question(server, student)
        server.say("y")
        conn.allow_stray(b"\n", STRAY_ANSWER)
    return expect_ok(conn, hint)


OK_REPLIES = (ref.ACCEPT_REPLY, ref.ACCEPT_REPLY + b"\0")

NEEDS_NUL = (
    "your client declined the answer \"ok\" and accepted only \"ok\\0\" (with a NUL byte). "
    "The handout does not say whether \"ok\" carries a NUL, so it costs no points here, but "
    "your client works only with servers that send one: compare the first two bytes "
    "(strncmp(buf, \"ok\", 2)), or end what recv() returned with a NUL yourself")


def _declined(me: Program) -> bool:
    """After the answer: the client ended, or said it was declined, instead of chatting."""
    if me.settle() is not None:
        return True
    me._take_available()
    text = bytes(me._buf).replace(b"\0", b"").decode("utf-8", "replace")
    return DECLINED_TEXT.search(text) is not None


def client_session(student, listen, windowed: bool = False) -> tuple[Program, TcpPeer]:
    """The student's mytalk client, accepted by our reference server, ready to chat.

    The handout does not say whether "ok" carries a NUL: a client that declines a bare "ok"
    is started again and answered "ok\\0" (a warning names the dependency); a client that
    declines both is charged here, with one diagnosis."""
    options = () if windowed else ("-N",)
    for n, reply in enumerate(OK_REPLIES):
        if n:
            student.new_port()
        listener = reference_server(student, listen)
        me = start_client(student, *options, name="mytalk", term="xterm" if windowed else None)
        conn = take_connection(listener, me)
        conn.send(reply)
        conn.wait_read_by_peer(hint="read the server's answer")
        if not _declined(me):
            break
        student.case.note(f"{me.name} did not take \"{show(reply)}\" as an acceptance")
        if n + 1 < len(OK_REPLIES):
            me.kill()
            conn.close()
    else:
        said = me.ended_text() if not me.alive else "printed that it was declined"
        raise CheckFailure(
            f"the reference server accepted the connection (it answered \"ok\", and again "
            f"\"ok\\0\"), but {me.name} {said} instead of starting the chat; it printed "
            f"{me._pending()}",
            "recv() does not add a NUL: compare the first two bytes of the answer with "
            "strncmp(buf, \"ok\", 2), or end the bytes you received with a NUL yourself")
    if reply != ref.ACCEPT_REPLY:
        student.case.warn(NEEDS_NUL)
    me.expect_chat_ready()
    return me, conn


def server_session(student, connect, windowed: bool = False) -> tuple[Program, TcpPeer]:
    """The student's mytalk server with our reference client accepted, ready to chat."""
    options = () if windowed else ("-N",)
    me = student.start(*options, str(student.port), name="mytalk",
                       term="xterm" if windowed else None)
    me.expect_listening(student.port, hint="listen on the port given as the last argument")
    conn = open_request(connect, student.port, student.peer_address)
    get_accepted(me, conn, student)
    me.expect_chat_ready()
    return me, conn


def answer_if_asked(server: Program, others: list[Program]) -> None:
    """Answer "y" when the student's server asks; a server that accepts without asking is
    followed too (whether it asks is the server checks' business): the sign is that every
    program has settled, waiting, without a question."""
    try:
        server.expect(ASKS)
    except CheckFailure:
        if not (server.alive and all(p.alive for p in others)):
            raise
        server.case.note(f"{server.name} did not ask; the chat goes on without an answer")
        return
    server.say("y")
