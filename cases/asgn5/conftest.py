import pytest

from grader import talk


@pytest.fixture(params=["client", "server"])
def chat(request, student, listen, connect):
    """An established mytalk chat: (the student's program, our reference peer), in either role."""
    if request.param == "client":
        return talk.client_session(student, listen)
    return talk.server_session(student, connect)
