"""UDP client (figure 90): greets the server on port 10000 and prints its reply."""
import pytest

from grader import check, wording
from reference.udp import CLIENT_MSG, SERVER_MSG

# The reply as printed, under the one tolerance rule: a label before it ("Reply: Hello, Client")
# and a missing newline before the program exits are fine.
REPLY = wording.Wording(SERVER_MSG.decode().strip())


@pytest.fixture
def exchange(student, udp):
    """A reference server bound to port 10000 first, then the student's client."""
    server = udp(student.port, "server")
    client = student.start(name="client")
    return client, server


@check(hint="sendto() \"Hello, Server\\n\" to localhost, port htons(10000)")
def test_sends_hello(exchange):
    """Sends "Hello, Server" to port 10000 on localhost."""
    _, server = exchange
    wording.expect_exact(server, CLIENT_MSG)


@check(hint="recvfrom() the reply and write() it to stdout")
def test_prints_reply(exchange):
    """Prints the server's reply."""
    client, server = exchange
    server.expect_any()          # whatever the greeting: sends_hello judges it
    server.send(SERVER_MSG)
    client.expect_wording(REPLY)


@check(hint="close the socket and return 0 from main()")
def test_exits_cleanly(exchange):
    """Exits with status 0 after the reply."""
    client, server = exchange
    server.expect_any()          # whatever the greeting: sends_hello judges it
    server.send(SERVER_MSG)
    client.expect_exit(0)
