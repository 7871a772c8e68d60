"""TCP server (figure 91): accepts one client, reports it, echoes its message, replies."""
import pytest

from grader import check, expect_address, wording
from reference.tcp import CLIENT_MSG, SERVER_MSG

# The texts the lecture fixes, under the one tolerance rule (grader/wording.py): one or two
# spaces after the colon, "->" with or without spaces, IPv4-mapped addresses, any case.
NEW_CONNECTION = wording.Wording("New Connection:  {peer}:{peer_port}->{local}:{local_port}",
                                 peer=wording.address("the client's address"),
                                 peer_port=wording.number("the client's port"),
                                 local=wording.address("the server's address"),
                                 local_port=wording.number("the server's port"))
GREETING = wording.Wording(CLIENT_MSG.decode().strip())


@pytest.fixture
def conversation(student, connect):
    """The server listening on port 10000, and a reference client connected to it."""
    server = student.start(name="server")
    server.expect_listening(student.port, hint="bind to port 10000 and listen()")
    client = connect(student.port, "client")
    return server, client


@check(hint="print \"New Connection:  PEER:PORT->LOCAL:PORT\" with inet_ntop() and ntohs() of "
            "the addresses from accept() and getsockname()")
def test_announces_connection(conversation, student):
    """Prints "New Connection:  PEER:PORT->LOCAL:PORT" with the real ports."""
    server, client = conversation
    client.send(CLIENT_MSG)     # as any figure-92 client does: the line may come after recv()
    m = server.expect_wording(NEW_CONNECTION)
    expect_address(m["peer"], "127.0.0.1", m["peer_port"], client.port, "the client",
                   student.port, "the server's end")
    expect_address(m["local"], "127.0.0.1", m["local_port"], student.port, "the server's end",
                   client.port, "the client")


@check(hint="write() the bytes recv() returned to stdout")
def test_prints_message(conversation):
    """Prints the message the client sent."""
    server, client = conversation
    client.send(CLIENT_MSG)
    server.expect_wording(GREETING)


@check(hint="send() \"Hello, TCP Client.\\n\" on the accepted socket (not the listener)")
def test_replies(conversation):
    """Replies "Hello, TCP Client." to the client."""
    _, client = conversation
    client.send(CLIENT_MSG)
    wording.expect_exact(client, SERVER_MSG, sent=CLIENT_MSG)


@check(hint="close both sockets and return 0 from main()")
def test_exits_cleanly(conversation):
    """Exits with status 0, and the client sees the connection closed."""
    server, client = conversation
    client.send(CLIENT_MSG)
    server.expect_exit(0)
    client.expect_closed()
