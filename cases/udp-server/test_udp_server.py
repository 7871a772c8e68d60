"""UDP server (figure 89): one datagram in, a line about it out, a reply back to the sender."""
import pytest

from grader import check, expect_address, wording
from reference.udp import CLIENT_MSG, SERVER_MSG

# The texts the lecture fixes, under the one tolerance rule (grader/wording.py).
MESSAGE_FROM = wording.Wording("Message from <{addr}:{port}>:",
                               addr=wording.address("the client's address"),
                               port=wording.number("the client's port"))
GREETING = wording.Wording(CLIENT_MSG.decode().strip())


def _port_with_distinct_bytes(udp):
    """A client port whose two bytes differ, so a missing ntohs() shows as a wrong number."""
    for port in range(12345, 12345 + 200):
        if port >> 8 != port & 0xFF:
            try:
                return udp(port, "client")
            except OSError:
                continue
    pytest.fail("no free client port")


@pytest.fixture
def exchange(student, udp):
    """The server bound to its port, and a reference client that has sent it the greeting."""
    server = student.start(name="server")
    server.expect_listening(student.port, udp=True, hint="bind the UDP socket to port 10000")
    client = _port_with_distinct_bytes(udp)
    client.target = ("127.0.0.1", student.port)
    client.send(CLIENT_MSG)
    return server, client


@check(hint="write() the bytes recvfrom() returned to stdout")
def test_receives_message(exchange):
    """Prints the message the client sent."""
    server, _ = exchange
    server.expect_wording(GREETING)


@check(hint="print the sender with inet_ntop() and ntohs(sa.sin_port): the port is in network "
            "byte order")
def test_reports_sender(exchange, student):
    """Prints "Message from <ADDR:PORT>: " with the client's real address and port."""
    server, client = exchange
    m = server.expect_wording(MESSAGE_FROM)
    expect_address(m["addr"], "127.0.0.1", m["port"], client.port, "the client",
                   student.port, "the server itself")


@check(hint="sendto() the reply to the address recvfrom() filled in (the client's own port)")
def test_replies_to_sender(exchange):
    """Replies "Hello, Client" to the client's own address and port."""
    _, client = exchange
    wording.expect_exact(client, SERVER_MSG, sent=CLIENT_MSG)


@check(hint="close the socket and return 0 from main()")
def test_exits_cleanly(exchange):
    """Exits with status 0 after replying."""
    server, _ = exchange
    server.expect_exit(0)
