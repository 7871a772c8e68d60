"""MiniChat client: relays the keyboard to the server and the server to the screen."""
import pytest

from grader import CheckFailure, check, wording


@pytest.fixture
def chat(student, listen):
    """A reference server listening first, then the student's client, connected to it."""
    server = listen(student.port)
    client = student.start(name="client")
    conn = server.accept(name="server",
                         hint="connect to \"localhost\" at the port given as argv[1]")
    return client, conn


@check(hint="connect to \"localhost\" at the port given as argv[1] (htons(atoi(argv[1])))")
def test_connects(chat):
    """Connects to localhost at the port given on the command line."""
    client, _ = chat
    client.expect_running()


@check(hint="when select()/poll() says stdin is readable, read() it and send() what you read")
def test_sends_typed_line(chat):
    """A line typed at the client reaches the server."""
    client, server = chat
    client.say("hello server")
    wording.expect_exact(server, b"hello server\n")


@check(hint="when the socket is readable, recv() and write() what arrived to stdout")
def test_prints_server_message(chat):
    """A message from the server appears on the client's stdout."""
    client, server = chat
    server.say("hello client")
    client.expect_wording(wording.Wording("hello client"))


@check(hint="after sending a typed line that starts with \"bye\", leave the loop and exit(0)")
def test_bye_typed_ends(chat):
    """Typing "bye" sends it to the server, then ends the client with status 0."""
    client, server = chat
    client.say("bye")
    try:
        server.expect_bytes(b"bye")
    except CheckFailure:
        closed = ": the client closed the connection without sending it" if server.output_ended \
            else ""
        raise CheckFailure(f"the typed \"bye\" never reached the server{closed}",
                           "send the typed line to the server first, then leave the loop: the "
                           "others must see the \"bye\" too") from None
    client.expect_exit(0)


@check(hint="check the data just received for \"bye\" too (strncmp(buff, \"bye\", 3)), "
            "then exit(0)")
def test_bye_from_server_ends(chat):
    """A "bye" from the server ends the client with status 0."""
    client, server = chat
    server.say("bye")
    client.expect_exit(0)


@check(hint="recv() returning 0 means the server closed the connection: stop and exit")
def test_server_close_ends(chat):
    """The client ends when the server closes the connection."""
    client, server = chat
    server.leave()
    client.expect_exit(code=None)


@check(hint="block in select()/poll() with no timeout; never loop on non-blocking reads")
def test_no_busy_wait(chat):
    """Uses no CPU while waiting for input."""
    client, server = chat
    server.say("warm up")
    server.wait_read_by_peer()
    client.expect_idle("while waiting for input")
