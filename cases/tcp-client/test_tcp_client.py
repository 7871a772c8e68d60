"""TCP client (figure 92): greets the server on port 10000 and prints its reply."""
import pytest

from grader import CheckFailure, check, wording
from reference.tcp import CLIENT_MSG, SERVER_MSG

# The reply as printed, under the one tolerance rule: a label before it ("Reply: Hello, TCP
# Client.") and a missing newline before the program exits are fine.
REPLY = wording.Wording(SERVER_MSG.decode().strip())


@pytest.fixture
def conversation(student, listen):
    """A reference server listening on port 10000 first, then the student's client."""
    server = listen(student.port)
    client = student.start(name="client")
    conn = server.accept(name="server", hint="connect() to localhost, port htons(10000)")
    return client, conn


def _answer(server, case):
    """Read the greeting (whatever it is: sends_hello judges it), then reply.

    A client that sends nothing still gets the reply: printing it is this check's business.
    """
    try:
        server.expect_any()
    except CheckFailure:
        case.note("no greeting arrived; replying anyway")
    server.send(SERVER_MSG)


@check(hint="send() \"Hello, TCP Server.\\n\" once connected")
def test_sends_hello(conversation):
    """Sends "Hello, TCP Server." to the server."""
    _, server = conversation
    wording.expect_exact(server, CLIENT_MSG)


@check(hint="recv() the reply and write() it to stdout")
def test_prints_reply(conversation, case):
    """Prints the server's reply."""
    client, server = conversation
    _answer(server, case)
    client.expect_wording(REPLY)


@check(hint="close the socket and return 0 from main()")
def test_exits_cleanly(conversation, case):
    """Exits with status 0 after the reply."""
    client, server = conversation
    _answer(server, case)
    client.expect_exit(0)
