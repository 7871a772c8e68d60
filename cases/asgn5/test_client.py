"""The student's mytalk as a client, against the reference server."""
import pytest

from grader import CheckFailure, check, show, talk
from reference import mytalk as ref


@pytest.fixture
def request_sent(student, listen):
    """The student's client started, connected, and its name packet read by our server."""
    listener = talk.reference_server(student, listen)
    me = talk.start_client(student, "-N", name="mytalk")
    conn, packet = talk.take_request(listener)
    return me, conn, packet


@check(hint="send the name from getpwuid(getuid())->pw_name, not a fixed string")
def test_client_sends_username(request_sent, student):
    """Sends the login name of the user running it."""
    _, _, packet = request_sent
    if talk.name_in(packet) != student.login_name:
        raise CheckFailure(f"the client sent \"{show(packet)}\"; the user running it is "
                           f"\"{student.login_name}\"")


@check(hint="print \"Waiting for response from HOST.\" before waiting for the answer")
def test_client_waiting_message(request_sent):
    """Prints "Waiting for response from HOST." while it waits."""
    me, _, _ = request_sent
    me.expect_wording(talk.WAITING_TEXT)


@check(hint="when the answer is not \"ok\", print \"HOST declined connection.\", close, exit")
def test_client_declined(request_sent):
    """Declined: prints "HOST declined connection." and exits."""
    me, conn, _ = request_sent
    conn.send(ref.DECLINE_REPLY)
    conn.leave()
    me.expect_wording(talk.DECLINED_TEXT)
    me.expect_exit(code=None)


@check(hint="wait for the answer in a blocking recv() (or poll with no timeout)")
def test_client_idle_waiting_answer(request_sent):
    """Uses no CPU while waiting for the server's answer."""
    me, _, _ = request_sent
    me.expect_idle("while waiting for the answer")
