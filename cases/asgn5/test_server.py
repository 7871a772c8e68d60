"""The student's mytalk as a server, against the reference client."""
import socket

import pytest

from grader import CheckFailure, check, show_text, talk, wording
from reference import mytalk as ref


@pytest.fixture
def serve(student, connect):
    """start(*options): the student's server on a fresh port, with our client's request sent
    (from the reference peers' own address, with the name `user`)."""
    def start(*options, user=talk.PEER_USER):
        port = student.new_port()
        me = student.start("-N", *options, str(port), name="mytalk")
        me.expect_listening(port, hint="listen on the port given as the last argument")
        return me, talk.open_request(connect, port, student.peer_address, user)
    return start


def answered(serve, student, answer):
    """What the server replies when the user types answer at its prompt."""
    me, conn = serve()
    talk.expect_question(me, student)
    me.say(answer)
    return conn


OWN_ADDRESSES = ("127.0.0.1", "localhost", "0.0.0.0", socket.gethostname().lower())


@check(hint="bind() and listen() on the port given when no hostname is given")
def test_server_listens(serve):
    """Listens on the port given and accepts a connection."""
    me, _ = serve()
    me.expect_running()


@check(hint="print \"Mytalk request from USER@HOST.  Accept (y/n)? \" with the name the "
            "client sent")
def test_server_prompt(serve, student):
    """Prints "Mytalk request from USER@HOST.  Accept (y/n)?" with the name the client sent
    (short or long) and the client's host; no prompt the grading saw shows more."""
    for sent in (talk.PEER_USER, talk.PEER_USER_LONG):
        me, _ = serve(user=sent)
        try:
            m = me.expect_wording(talk.PROMPT_TEXT)   # a variant is a warning; so is an address
        except CheckFailure:
            talk.expect_name_alone(me, sent)          # the clearer reason, when it is that
            raise
        expect_user(m["user"], sent, student)
        host = wording.unmap(m["host"]).lower()
        if host in OWN_ADDRESSES:
            raise CheckFailure(f"the prompt names the host \"{show_text(m['host'])}\", the "
                               "server's own; the client connected from "
                               f"{student.peer_address} ({student.peer_host})",
                               "print the client's host: the address accept() filled in "
                               "(getnameinfo() or inet_ntoa() on it)")
    if student.prompt_faults:
        raise CheckFailure("in another check the prompt showed bytes after the user name: "
                           + student.prompt_faults[0], talk.UNTERMINATED)


def expect_user(user: str, sent: str, student) -> None:
    if user == sent:
        return
    if not user:
        hint = "print the name the client sent: read its packet and use it up to the first NUL"
    elif user == student.login_name:
        hint = "that is the server's own user name: print the name the client sent"
    elif sent.startswith(user):
        hint = "the name is cut short: read the whole packet the client sent, into a buffer " \
               "of its own (not sizeof a pointer)"
    elif user.startswith(sent):
        hint = talk.UNTERMINATED
    else:
        hint = None
    shown = f'"{show_text(user)}"' if user else "no user name"
    raise CheckFailure(f"the prompt names {shown}; the client sent \"{sent}\"", hint)


@check(hint="compare the answer case-insensitively with \"y\" and \"yes\"; reply \"ok\"")
def test_server_accepts_yes(serve, student):
    """Answers y, Y, yes and YES accept: the client receives "ok"."""
    for answer in ("y", "Y", "yes", "YES"):
        talk.expect_ok(answered(serve, student, answer),
                       hint=f"the answer \"{answer}\" must accept")


@check(hint="anything but y/yes declines: reply something other than \"ok\" and close")
def test_server_declines_other(serve, student):
    """Answers n and anything else decline: no "ok", and the connection closes."""
    for answer in ("n", "no", "maybe", "yup"):     # only y and yes accept, in any case
        conn = answered(serve, student, answer)
        accepts = CheckFailure(f"the server sent \"ok\" after the answer \"{answer}\"",
                               "only \"y\" or \"yes\", in any case, accept; compare the whole "
                               "answer, not its first letter")
        try:
            reply = conn.expect_closed(hint=f"the answer \"{answer}\" must decline and close")
        except CheckFailure as e:
            if ref.is_ok_reply(conn.unread()):    # it accepted, and the chat goes on
                raise CheckFailure(f"{accepts} and kept the connection open for the chat",
                                   accepts.hint) from e
            raise
        if ref.is_ok_reply(reply):
            raise CheckFailure(f"{accepts} and then closed the connection", accepts.hint)


@check(hint="with -a, reply \"ok\" at once without asking")
def test_server_auto_accept(serve):
    """With -a it accepts without asking."""
    me, conn = serve("-a")
    talk.expect_ok(conn)


@check(hint="wait for the y/n answer in a blocking read of stdin")
def test_server_idle_waiting_answer(serve, student):
    """Uses no CPU while waiting for the user's answer."""
    me, _ = serve()
    talk.expect_question(me, student)
    me.expect_idle("while waiting for the y/n answer")
