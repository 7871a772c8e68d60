"""TCP server (figure 91): accepts one client, reports it, echoes its message, replies."""
import re

import pytest

from grader import check
from grader.addresses import expect_address
from reference.tcp import CLIENT_MSG, SERVER_MSG

NEW_CONNECTION = re.compile(r"New Connection:( +)([\d.]+):(\d+)->([\d.]+):(\d+)")


@pytest.fixture
def conversation(student, connect):
    """The server listening on port 10000, and a reference client connected to it."""
    server = student.start(name="server")
    server.expect_listening(student.port, hint="bind to port 10000 and listen()")
    client = connect(student.port, "client")
    return server, client


@check(hint="print \"New Connection:  PEER:PORT->LOCAL:PORT\" with inet_ntop() and ntohs() of "
            "the addresses from accept() and getsockname()")
def test_announces_connection(conversation, case):
    """Prints "New Connection:  PEER:PORT->LOCAL:PORT" with the real ports."""
    server, client = conversation
    spaces, peer, peer_port, local, local_port = NEW_CONNECTION.search(
        server.expect(NEW_CONNECTION)).groups()
    if spaces != "  ":
        case.deviation(f"{len(spaces)} space(s) after \"New Connection:\"; the lecture prints two")
    expect_address(peer, "127.0.0.1", peer_port, client.port, "the client")
    expect_address(local, "127.0.0.1", local_port, client.sock.getpeername()[1], "the server's end")


@check(hint="write() the bytes recv() returned to stdout")
def test_prints_message(conversation):
    """Prints the message the client sent."""
    server, client = conversation
    client.send(CLIENT_MSG)
    server.expect_line(re.compile(r"Hello, TCP Server\.$"))


@check(hint="send() \"Hello, TCP Client.\\n\" on the accepted socket (not the listener)")
def test_replies(conversation):
    """Replies "Hello, TCP Client." to the client."""
    _, client = conversation
    client.send(CLIENT_MSG)
    client.expect_bytes(SERVER_MSG)


@check(hint="close both sockets and return 0 from main()")
def test_exits_cleanly(conversation):
    """Exits with status 0, and the client sees the connection closed."""
    server, client = conversation
    client.send(CLIENT_MSG)
    server.expect_exit(0)
    client.expect_closed()
