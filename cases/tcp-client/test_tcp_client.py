"""TCP client (figure 92): greets the server on port 10000 and prints its reply."""
import re

import pytest

from grader import check
from reference.tcp import CLIENT_MSG, SERVER_MSG


@pytest.fixture
def conversation(student, listen):
    """A reference server listening on port 10000 first, then the student's client."""
    server = listen(student.port)
    client = student.start(name="client")
    conn = server.accept(name="server", hint="connect() to localhost, port htons(10000)")
    return client, conn


@check(hint="send() \"Hello, TCP Server.\\n\" once connected")
def test_sends_hello(conversation):
    """Sends "Hello, TCP Server." to the server."""
    _, server = conversation
    server.expect_bytes(CLIENT_MSG)


@check(hint="recv() the reply and write() it to stdout")
def test_prints_reply(conversation):
    """Prints the server's reply."""
    client, server = conversation
    server.expect_any()          # whatever the greeting: sends_hello judges it
    server.send(SERVER_MSG)
    client.expect_line(re.compile(r"Hello, TCP Client\.$"))


@check(hint="close the socket and return 0 from main()")
def test_exits_cleanly(conversation):
    """Exits with status 0 after the reply."""
    client, server = conversation
    server.expect_any()          # whatever the greeting: sends_hello judges it
    server.send(SERVER_MSG)
    client.expect_exit(0)
