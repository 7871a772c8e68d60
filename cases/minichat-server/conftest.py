import pytest

from grader import ChatRoom


@pytest.fixture
def room(case, student, connect):
    """The student's server, listening on its port, ready for clients to join."""
    server = student.start(name="server")
    server.expect_listening(student.port, hint="listen on the port given as argv[1]")
    return ChatRoom(case, server, student.port, connect)
