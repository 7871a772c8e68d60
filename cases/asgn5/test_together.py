"""The student's mytalk against itself, and in its windowed mode."""
import pytest

from grader import Screen, check, has_terminfo, talk


@check(hint="your client and server must speak the same handshake: name, then \"ok\"")
def test_self_interop(student):
    """The program as client talks to itself as server: the handshake, then a line each way."""
    server = student.start("-N", str(student.port), name="server")
    server.expect_listening(student.port)
    client = student.start("-N", talk.HOST, str(student.port), name="client")
    talk.answer_if_asked(server, [client])
    server.expect_chat_ready()
    client.expect_chat_ready()
    client.say("from the client")
    server.expect_line("from the client")
    server.say("from the server")
    client.expect_line("from the server")     # the close message is peer_closes' business


@check(hint="call start_windowing() after the handshake unless -N was given")
def test_windowed_mode(student, listen):
    """Without -N: remote text above a line of "=", local text below."""
    if not has_terminfo("xterm"):
        pytest.skip("no terminfo entry for xterm on this machine")
    me, conn = talk.client_session(student, listen, windowed=True)
    screen = Screen(me)
    conn.say("words from afar")
    me.type("typed here")
    screen.expect_split("words from afar", "typed here")
