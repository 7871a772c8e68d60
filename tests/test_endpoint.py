"""Endpoint's verbs over a socketpair: what each wait consumes, deadlines, barrier, truncation.

No program, no namespace, no build: the harness's reading rules checked in well under a second.
A verb that must fail is also checked to fail at once (not at its deadline) when it can know.
"""
from __future__ import annotations

import re
import select
import socket
import time
from typing import Optional

import pytest

from grader import CheckFailure, Match
from grader.harness.case import Case
from grader.settings import Settings
from grader.harness.streams import Endpoint, first_of

DEADLINE = 0.3        # every wait's deadline here; a wait that must not run to it ends far sooner


class Pair(Endpoint):
    """A participant at one end of a socketpair; the test plays the other end (`far`)."""

    def __init__(self, case: Case, name: str = "peer", *, crlf: bool = False,
                 line_search: bool = False):
        super().__init__(case, name)
        self.crlf, self.line_search = crlf, line_search
        self.sock, self.far = socket.socketpair()
        case.on_cleanup(self.sock.close)
        case.on_cleanup(self.far.close)

    def _read(self, timeout: float) -> Optional[bytes]:
        ready, _, _ = select.select([self.sock], [], [], timeout)
        return self.sock.recv(65536) if ready else None

    def _write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def fileno(self) -> int:
        return self.sock.fileno()

    def arrive(self, data: bytes) -> None:
        """The participant produces data (it is in the socket before the next wait starts)."""
        self.far.sendall(data)

    def end(self) -> None:
        self.far.shutdown(socket.SHUT_WR)

    def sent(self) -> bytes:
        """What the check sent to the participant so far."""
        out = b""
        while select.select([self.far], [], [], 0)[0]:
            chunk = self.far.recv(65536)
            if not chunk:
                break
            out += chunk
        return out


@pytest.fixture
def case():
    c = Case(Settings(expect_timeout=DEADLINE, quiet_period=0.05, output_cap=64))
    yield c
    c.close()


@pytest.fixture
def socket_peer(case):
    return Pair(case)


@pytest.fixture
def terminal(case):
    """Like a program in a pty: "\r\n" line ends, and a line is searched for the text."""
    return Pair(case, "mytalk", crlf=True, line_search=True)


def fails_fast(fn, *args, **kwargs) -> str:
    """fn must raise CheckFailure well before the deadline; returns the message."""
    start = time.monotonic()
    with pytest.raises(CheckFailure) as failure:
        fn(*args, **kwargs)
    assert time.monotonic() - start < DEADLINE / 2, "failed only at the deadline"
    return str(failure.value)


# -- consumption: what stays in the buffer after a wait ------------------------------------------

def test_expect_line_skips_earlier_lines_and_consumes_through_the_match(socket_peer):
    socket_peer.arrive(b"one\ntwo\nthree\nfour")
    assert socket_peer.expect_line("two") == "two"
    assert socket_peer.expect_line("three") == "three"    # "one" is gone, "three" was kept
    assert socket_peer.expect_any() == b"four"              # the partial line stays too


def test_a_line_already_consumed_is_not_found_again(socket_peer):
    socket_peer.arrive(b"same\n")
    socket_peer.expect_line("same")
    assert "within" in str(pytest.raises(CheckFailure, socket_peer.expect_line, "same").value)


def test_expect_consumes_up_to_the_end_of_the_match_and_returns_a_match(terminal):
    terminal.arrive(b"Mytalk request from ann@localhost.  Accept (y/n)? \r\nnext line\r\n")
    m = terminal.expect(re.compile(r"from (?P<user>\w+)@"))
    assert isinstance(m, Match) and m.text == "from ann@" and m["user"] == "ann"
    assert m.group(0) == "from ann@"
    plain = terminal.expect("Accept")
    assert plain.text == "Accept" and str(plain) == "Accept"
    assert terminal.expect_line("next line") == "next line"


def test_expect_bytes_takes_exactly_its_length(socket_peer):
    socket_peer.arrive(b"hello\nworld\n")
    assert socket_peer.expect_bytes(b"hello\n") == b"hello\n"
    assert socket_peer.expect_bytes(b"world\n") == b"world\n"


def test_expect_bytes_fails_at_the_first_differing_byte_without_waiting(socket_peer):
    socket_peer.arrive(b"hellO")
    message = fails_fast(socket_peer.expect_bytes, b"hello\n")
    assert "differ from byte 4" in message and '"o\\n" expected' in message


def test_expect_any_returns_all_that_arrived(socket_peer):
    socket_peer.arrive(b"nobody\x00")
    assert socket_peer.expect_any() == b"nobody\x00"


def test_expect_lines_counts_whole_lines(socket_peer):
    socket_peer.arrive(b"a\nb\nc\npartial")
    assert socket_peer.expect_lines(2) == ["a", "b"]
    assert socket_peer.expect_lines(1) == ["c"]


def test_expect_closed_returns_what_came_before_the_end(socket_peer):
    socket_peer.arrive(b"last words")
    socket_peer.end()
    assert socket_peer.expect_closed() == b"last words"
    assert socket_peer.output_ended


def test_expect_closed_can_refuse_data(socket_peer):
    socket_peer.arrive(b"x")
    socket_peer.end()
    assert "before the end" in fails_fast(socket_peer.expect_closed, allow_data=False)


# -- terminal output is searched by line, socket bytes are compared whole -------------------------

def test_a_terminal_line_is_searched_for_the_text(terminal):
    terminal.arrive(b"Accept (y/n)? hello from the reference\r\n")
    assert terminal.expect_line("hello from the reference") == \
        "Accept (y/n)? hello from the reference"


def test_a_socket_line_must_equal_the_text(socket_peer):
    socket_peer.arrive(b"label: hello\n")
    with pytest.raises(CheckFailure, match="within"):
        socket_peer.expect_line("hello")


def test_a_pty_line_end_is_a_line_end(terminal):
    terminal.arrive(b"one\r\ntwo\r\n")
    assert terminal.expect_line("one") == "one"
    assert terminal.expect_lines(1) == ["two"]


# -- deadlines and the end of the stream ---------------------------------------------------------

def test_a_wait_runs_to_its_deadline_only_when_nothing_comes(socket_peer):
    start = time.monotonic()
    with pytest.raises(CheckFailure) as failure:
        socket_peer.expect_line("never", timeout=0.1, hint="say it")
    assert 0.1 <= time.monotonic() - start < 0.1 + DEADLINE
    assert "within 0.1s" in str(failure.value) and failure.value.hint == "say it"


def test_a_wait_ends_at_once_when_the_stream_has_ended(socket_peer):
    socket_peer.arrive(b"partial")
    socket_peer.end()
    message = fails_fast(socket_peer.expect_line, "partial line")
    assert "ended its output before" in message and '"partial"' in message


def test_a_wait_ends_when_its_event_arrives_not_at_the_deadline(socket_peer):
    socket_peer.arrive(b"soon\n")
    start = time.monotonic()
    socket_peer.expect_line("soon", timeout=10)
    assert time.monotonic() - start < 1


# -- silence: a barrier, or the quiet period -----------------------------------------------------

def test_silence_with_a_barrier_passes_when_only_the_token_arrives(socket_peer):
    socket_peer._barrier = lambda: (socket_peer.arrive(b"barrier-1\n"), "barrier-1")[1]
    start = time.monotonic()
    socket_peer.expect_silence()
    assert time.monotonic() - start < DEADLINE / 2
    assert socket_peer.case.waited_s == 0


def test_silence_with_a_barrier_fails_on_what_came_before_the_token(socket_peer):
    socket_peer.arrive(b"echo\n")
    socket_peer._barrier = lambda: (socket_peer.arrive(b"barrier-1\n"), "barrier-1")[1]
    assert 'got "echo\\n"' in fails_fast(socket_peer.expect_silence)


def test_silence_without_a_barrier_waits_the_quiet_period(socket_peer):
    socket_peer.expect_silence()
    assert socket_peer.case.waited_s >= socket_peer.settings.quiet_period
    socket_peer.arrive(b"late\n")
    with pytest.raises(CheckFailure, match="should have received nothing"):
        socket_peer.expect_silence()


# -- truncation and stray bytes ------------------------------------------------------------------

def test_output_beyond_the_cap_is_counted_not_kept(socket_peer):
    socket_peer.arrive(b"x" * 100)
    socket_peer.end()
    message = fails_fast(socket_peer.expect_line, "never")
    assert "output truncated at 64 bytes; 100 bytes received" in message
    assert "peer: output truncated at 64 bytes" in socket_peer.case.transcript.render()


def test_a_stray_newline_first_is_dropped_with_a_warning(socket_peer):
    socket_peer.allow_stray(b"\n", "stray newline")
    socket_peer.arrive(b"\nhi\n")
    assert socket_peer.expect_bytes(b"hi\n") == b"hi\n"
    assert socket_peer.case.warnings == ["stray newline"]


def test_a_stray_allowance_is_spent_on_other_first_bytes(socket_peer):
    socket_peer.allow_stray(b"\n", "stray newline")
    socket_peer.arrive(b"hi\n\n")
    socket_peer.expect_bytes(b"hi\n")
    assert "differ from byte 0" in fails_fast(socket_peer.expect_bytes, b"x")
    assert socket_peer.case.warnings == []


# -- sending, and waiting on several participants ------------------------------------------------

def test_say_adds_a_newline_and_send_takes_text_or_bytes(socket_peer):
    socket_peer.say("hello")
    socket_peer.send(b"\x00raw")
    assert socket_peer.sent() == b"hello\n\x00raw"
    assert "→" in socket_peer.case.transcript.render()


def test_first_of_follows_whichever_participant_shows_its_text(case):
    asker, answerer = Pair(case, "server"), Pair(case, "client")
    answerer.arrive(b"ok")
    assert first_of({"asks": (asker, "Accept"), "answers": (answerer, None)}, DEADLINE) == "answers"
    assert answerer.expect_any() == b"ok"          # first_of looks, it does not consume


def test_first_of_ends_when_every_participant_has_ended(case):
    a, b = Pair(case, "a"), Pair(case, "b")
    a.end()
    b.end()
    assert "within" in fails_fast(first_of, {"x": (a, "x"), "y": (b, "y")}, DEADLINE)


def test_counting_descriptors_of_a_program_that_ended_says_what_it_did(case, tmp_path):
    """Issue 17.14: "mytalk printed ... and exited", not "could not count descriptors"."""
    import os
    from grader.harness.program import Program
    me = Program(case, "mytalk", ["/bin/sh", "-c", "echo 'localhost declined connection.'"],
                 cwd=str(tmp_path), env={"PATH": os.defpath}, launch=[])
    me.expect_exit(0)
    with pytest.raises(CheckFailure) as failure:
        me.fd_count()
    assert str(failure.value) == ('mytalk printed "localhost declined connection.\\n" and '
                                  "exited with status 0, so its descriptors could not be "
                                  "counted")
