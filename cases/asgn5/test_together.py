"""The student's mytalk against itself, and in its windowed mode."""
import pytest

from grader import CheckFailure, Screen, check, has_terminfo, talk


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
def test_windowed_mode(student, listen, connect, case):
    """Without -N: remote text above a line of "=", local text below, as client and server.

    Each role whose handshake and chat work is judged; a broken handshake or chat is that
    role's checks' charge, so only a program that chats in neither role fails here for it."""
    if not has_terminfo("xterm"):
        pytest.skip("no terminfo entry for xterm on this machine")
    sessions = {"client": lambda: talk.client_session(student, listen, windowed=True),
                "server": lambda: talk.server_session(student, connect, windowed=True)}
    judged, unready = [], []
    for role, session in sessions.items():
        student.new_port()
        try:
            me, conn = session()
        except CheckFailure as failure:
            unready.append(f"as the {role}: {failure}")
            case.note(f"as the {role} the handshake did not complete, so the windows were "
                      "not judged in that role (the role's own checks judge the handshake)")
            continue
        screen = Screen(me)
        try:
            conn.say("words from afar")
            me.type("typed here")
        except CheckFailure as failure:
            unready.append(f"as the {role}: {failure}")
            continue
        try:
            screen.expect_split("words from afar", "typed here")
        except CheckFailure as failure:
            if screen.misplaced("words from afar", "typed here"):
                raise CheckFailure(f"as the {role}: {failure}", failure.hint) from None
            unready.append(f"as the {role}: {failure}")
            case.note(f"as the {role} the chat did not carry the text, so the windows were "
                      "not judged in that role (the chat checks judge the chat)")
            continue
        judged.append(role)
        me.kill()
        conn.close()
    if not judged:
        raise CheckFailure("the windows could not be judged: neither role got through the "
                           "handshake to a chat (" + "; ".join(unready) + ")",
                           "the client and server checks say what went wrong")
