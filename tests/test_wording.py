"""The one tolerance rule for wording (grader/vocabulary/wording.py), on spellings real students
print."""
from __future__ import annotations

import re
import select
import socket
import time
from typing import Optional

import pytest

from grader.harness import assignments
from grader.frontend import interop
from grader import settings
from grader.vocabulary import talk, wording
from grader.harness.case import Case, CheckFailure
from grader.harness.streams import Endpoint, describe
from grader.harness.transcript import Transcript, show

NEW_CONNECTION = wording.Wording("New Connection:  {peer}:{peer_port}->{local}:{local_port}",
                                 peer=wording.address(), peer_port=wording.number(),
                                 local=wording.address(), local_port=wording.number())
MESSAGE_FROM = wording.Wording("Message from <{addr}:{port}>:", addr=wording.address(),
                               port=wording.number())
REPLY = wording.Wording("Hello, Client")


class Scripted(Endpoint):
    """An endpoint whose output arrives in the given chunks, one read each, then (optionally)
    ends. A chunk is written only once the one before it was read, so boundaries hold."""

    def __init__(self, chunks, ends: bool = True, crlf: bool = False):
        super().__init__(Case(settings.Settings(expect_timeout=0.3)), "mytalk")
        self.chunks, self.ends, self.crlf = list(chunks), ends, crlf
        self._r, self._w = socket.socketpair()
        self._feed()

    def _feed(self) -> None:
        if self.chunks:
            self._w.send(self.chunks.pop(0))
        elif self.ends:
            self._w.shutdown(socket.SHUT_WR)

    def _read(self, timeout: float) -> Optional[bytes]:
        ready, _, _ = select.select([self._r], [], [], max(timeout, 0))
        if not ready:
            return None
        data = self._r.recv(65536)
        if data:
            self._feed()
        return data

    def fileno(self) -> int:
        return self._r.fileno()


# -- what passes, and whether it is a warning ---------------------------------------------------

@pytest.mark.parametrize("text, exact", [
    ("Mytalk request from peeruser@localhost.  Accept (y/n)? ", True),
    ("Mytalk request from peeruser@127.0.0.1.  Accept (y/n)? ", True),      # an address: fine
    ("Mytalk request from peeruser@localhost. Accept (y/n)?", False),       # one space
    ("Mytalk request from peeruser@localhost.  Accept(y/n)?", False),       # "Accept(y/n)?"
    ("Mytalk request from peeruser@localhost.  Accept (y/n): ", False),     # ":" for "?"
    ("mytalk request from peeruser@localhost  accept (y/n)?\n", False),     # case, no period
    ("Mytalk request from peeruser@::ffff:127.0.0.1.  Accept (y/n)? ", False),
])
def test_prompt_variants_pass(text, exact):
    m = talk.PROMPT_TEXT.search(text)
    assert m is not None and m["user"] == "peeruser" and m.is_exact == exact
    assert m["host"] in ("localhost", "127.0.0.1")


def test_prompt_wrong_user_is_substance_not_wording():
    m = talk.PROMPT_TEXT.search("Mytalk request from root@localhost.  Accept (y/n)?")
    assert m["user"] == "root"
    assert talk.PROMPT_TEXT.search("Mytalk request from @localhost.  Accept (y/n)?")["user"] == ""


@pytest.mark.parametrize("text", [
    "Mytalk request from peeruser@localhost.   Accept (y/n)?",    # three spaces
    "Mytalk request from peeruser@localhost.Accept (y/n)?",       # none
    "Mytalk request peeruser@localhost.  Accept (y/n)?",          # a word missing
])
def test_prompt_misspellings_fail(text):
    assert talk.PROMPT_TEXT.search(text) is None


@pytest.mark.parametrize("w, text, want", [
    (talk.WAITING_TEXT, "Waiting for response from peerhost.", ("peerhost", True)),
    (talk.WAITING_TEXT, "Waiting for response from peerhost", ("peerhost", False)),
    (talk.WAITING_TEXT, "waiting for response from 127.0.0.2...\n", ("127.0.0.2", False)),
    (talk.DECLINED_TEXT, "peerhost declined connection.", ("peerhost", True)),
    (talk.DECLINED_TEXT, "Error: peerhost declined connection\n", ("peerhost", False)),
    (talk.DECLINED_TEXT, "PEERHOST  declined connection.", ("peerhost", False)),
])
def test_client_messages(w, text, want):
    m = w.search(text)
    assert m is not None and (m["host"], m.is_exact) == want


def test_client_messages_need_the_host_given():
    assert talk.WAITING_TEXT.search("Waiting for response from otherhost.") is None
    assert talk.WAITING_TEXT.search("Waiting for response from localhost.") is None
    assert talk.DECLINED_TEXT.search("xpeerhost declined connection.") is None


@pytest.mark.parametrize("text, exact", [
    ("Connection closed.  ^C to terminate.\n", True),
    ("Connection closed. ^C to terminate.", False),
    ("Connection Closed by peer.  ^C to terminate.", False),
    ("connection closed\n", False),
    ("Connection closed", False),
])
def test_close_message(text, exact):
    m = talk.CLOSED_TEXT.search(text)
    assert m is not None and m.is_exact == exact


def test_asks():
    for text in ("Accept (y/n)?", "accept?", "(Y/N)", "Mytalk request ... Accept(y/n)"):
        assert talk.ASKS.search(text)
    assert not talk.ASKS.search("Waiting for response")


@pytest.mark.parametrize("text, fields, exact", [
    ("New Connection:  127.0.0.1:40000->127.0.0.1:10000\n",
     ("127.0.0.1", "40000", "127.0.0.1", "10000"), True),
    ("New Connection: 127.0.0.1:40000->127.0.0.1:10000\n",
     ("127.0.0.1", "40000", "127.0.0.1", "10000"), False),
    ("new connection:  127.0.0.1:40000 -> 127.0.0.1:10000\n",
     ("127.0.0.1", "40000", "127.0.0.1", "10000"), False),
    ("New Connection:  ::ffff:127.0.0.1:40000->::ffff:127.0.0.1:10000\n",
     ("127.0.0.1", "40000", "127.0.0.1", "10000"), False),
])
def test_new_connection(text, fields, exact):
    m = NEW_CONNECTION.search(text)
    assert m is not None and m.is_exact == exact
    assert (m["peer"], m["peer_port"], m["local"], m["local_port"]) == fields


def test_message_from_and_reply():
    assert MESSAGE_FROM.search("Message from <127.0.0.1:12345>: Hello, Server")["port"] == "12345"
    assert MESSAGE_FROM.search("Message from <::FFFF:127.0.0.1:12345>: ")["addr"] == "127.0.0.1"
    assert REPLY.search("Reply: Hello, Client").is_exact          # a label is not a deviation
    assert not REPLY.search("hello,  client").is_exact
    assert REPLY.search("Hello,Client") is None


def test_unmap():
    assert wording.unmap("::ffff:127.0.0.1") == "127.0.0.1"
    assert wording.unmap("0:0:0:0:0:ffff:10.0.0.1") == "10.0.0.1"
    assert wording.unmap("127.0.0.1") == "127.0.0.1"
    assert wording.unmap("::1") == "::1"


# -- words for students -------------------------------------------------------------------------

REGEX_SYNTAX = re.compile(r"\\[sdwSbB.]|\(\?|\[\^|\{\d|/\S+/")


@pytest.mark.parametrize("w", [talk.PROMPT_TEXT, talk.ASKS_TEXT, talk.WAITING_TEXT,
                               talk.DECLINED_TEXT, talk.CLOSED_TEXT, NEW_CONNECTION,
                               MESSAGE_FROM, REPLY])
def test_descriptions_are_plain_words(w):
    text = w.describe()
    assert not REGEX_SYNTAX.search(text), text
    assert describe(w.regex) == text          # messages that name the pattern use the words


def test_equal_patterns_keep_their_own_words():
    """Two wordings with one text compile to one cached pattern: building interop's "asks"
    (the asgn5 manifest's texts) must not change the words a student reads for talk.ASKS."""
    words = talk.ASKS_TEXT.describe()
    asks = interop.asks_pattern(assignments.find("asgn5").interop)
    other = wording.Wording(["Accept", "(y/n)"], open_end=True, what="something else")
    assert asks is not None and asks.pattern == talk.ASKS.pattern
    assert describe(talk.ASKS) == words == 'a question: "Accept" or "(y/n)", in any case'
    assert describe(asks) == wording.describe(asks) != words
    assert describe(other.regex) == "something else"
    assert wording.lookup(talk.ASKS) is talk.ASKS_TEXT


def test_description_names_the_variants():
    text = talk.PROMPT_TEXT.describe()
    assert '"Mytalk request from USER@HOST.  Accept (y/n)?"' in text
    for words in ("any case", "one or two spaces", 'a space before "(" or none',
                  'a "." ending a sentence may be left out', '"?" may be ":" or left out'):
        assert words in text
    assert '"by peer" may be added' in talk.CLOSED_TEXT.describe()
    assert '"^C to terminate." may be left out' in talk.CLOSED_TEXT.describe()
    assert 'spaces around "->" or none' in NEW_CONNECTION.describe()


def test_other_patterns_are_spelled_without_syntax():
    assert describe(re.compile(r"Hello, TCP Client\.$")) == 'text like "Hello, TCP Client."'
    assert describe("plain") == '"plain"'
    assert "\\udc" not in describe("a\udcffb")


# -- waiting for a wording in a stream ----------------------------------------------------------

def test_expect_finds_a_label_and_a_missing_newline_before_exit():
    ep = Scripted([b"Reply: Hello, Cli", b"ent"], ends=True)
    m = ep.expect_wording(REPLY)
    assert m.text == "Hello, Client" and ep.case.deviations == []


def test_expect_takes_an_open_ended_waiting_message_at_once():
    ep = Scripted([b"Waiting for response from peerhost."], ends=False)
    start = time.monotonic()
    ep.expect_wording(talk.WAITING_TEXT)
    assert time.monotonic() - start < 0.1


def test_expect_reports_a_variant_as_a_deviation():
    ep = Scripted([b"peerhost declined connection\r\n"], crlf=True)
    ep.expect_wording(talk.DECLINED_TEXT)
    assert ep.case.deviations == ['mytalk printed "peerhost declined connection"; the '
                                  'handout\'s text is "peerhost declined connection."']


def test_expect_waits_for_the_rest_of_a_split_message():
    ep = Scripted([b"Connection closed.", b"  ^C to terminate.\n"], ends=False)
    m = ep.expect_wording(talk.CLOSED_TEXT)
    assert m.is_exact and ep.case.deviations == []


def test_expect_accepts_an_unterminated_message_after_the_quiet_period():
    ep = Scripted([b"Connection closed"], ends=False)
    assert ep.expect_wording(talk.CLOSED_TEXT).text == "Connection closed"


def test_old_call_form_still_works():
    ep = Scripted([b"Connection closed.  ^C to terminate.\n"])
    assert ep.expect_wording("Connection closed.  ^C to terminate.", talk.CLOSED).is_exact


def test_failure_says_what_was_expected_in_words_and_picks_the_hint():
    ep = Scripted([b"\xffConnectionclosed.^Ctoterminate.\n"])
    with pytest.raises(CheckFailure) as e:
        ep.expect_wording(talk.CLOSED_TEXT, hint="print the close message")
    msg = str(e.value)
    assert "closed its output without printing" in msg and "\\xff" in msg
    assert "\\udc" not in msg and not REGEX_SYNTAX.search(msg)
    assert "right words" in e.value.hint                   # chosen by what went wrong

    ep = Scripted([])
    with pytest.raises(CheckFailure) as e:
        ep.expect_wording(talk.CLOSED_TEXT, hint="print the close message")
    assert "it printed nothing" in str(e.value) and e.value.hint == "print the close message"


def test_show_never_leaks_surrogate_escapes():
    assert show("a\udcffb") == "a\\xffb"
    assert show(b"a\xffb") == "a\\xffb"
    assert show("\ud800") == "?"


def test_transcript_has_a_legend():
    t = Transcript()
    t.add("mytalk", "←", '"hi"')
    first = t.render().splitlines()[0]
    assert "→" in first and "←" in first and "your program" in first


# -- bytes are substance: exact, with the hint chosen by what came instead ----------------------

@pytest.mark.parametrize("got, sent, words", [
    (b"", None, None),                                                # nothing: the check's hint
    (b"Hello, Server\n", b"Hello, Server\n", "sent back"),            # an echo
    (b"Reply: Hello, Client\n", None, "came before"),                 # a prefix
    (b"Hello, Client", None, "only the first 13 of 14 bytes"),        # cut short
    (b"Hello, ClientHello", None, "without its newline"),
    (b"HELLO, CLIENT\n", None, "differ in case"),
    (b"something else\n", None, None),
])
def test_bytes_hint_says_what_went_wrong(got, sent, words):
    hint = wording.bytes_hint(b"Hello, Client\n", got, sent, "the check's hint")
    assert hint == "the check's hint" if words is None else words in hint


def test_expect_exact_keeps_bytes_exact_and_picks_the_hint():
    ep = Scripted([b"Reply: Hello, Client\n"])
    with pytest.raises(CheckFailure) as e:
        wording.expect_exact(ep, b"Hello, Client\n", hint="reply")
    assert "came before" in e.value.hint
    ep = Scripted([b"Hello, Client\n"])
    assert wording.expect_exact(ep, b"Hello, Client\n") == b"Hello, Client\n"


# -- addresses: substance, with the hint chosen by the mistake ----------------------------------

@pytest.mark.parametrize("addr, port, words", [
    ("127.0.0.1", 0x3930, "ntohs"),                     # 12345 with its bytes swapped
    ("127.0.0.1", 10000, "mixed up"),                   # the other end's port
    ("0.0.0.0", 12345, "INADDR_ANY"),
    ("10.0.0.1", 12345, "inet_ntop"),
    ("127.0.0.1", 4242, "not a fixed number"),
])
def test_address_hints(addr, port, words):
    from grader.vocabulary.addresses import expect_address
    with pytest.raises(CheckFailure) as e:
        expect_address(addr, "127.0.0.1", port, 12345, "the client", 10000, "the server")
    assert words in e.value.hint


def test_mapped_address_is_that_address():
    from grader.vocabulary.addresses import expect_address
    expect_address("::ffff:127.0.0.1", "127.0.0.1", "12345", 12345)


@pytest.mark.parametrize("prompt, fault", [
    ("Mytalk request from zoe@peerhost.  Accept", None),
    ("Mytalk request from zoe @ 127.0.0.2.  Accept", None),
    ("cannot resolve; Mytalk request from zoe@peerhost.  Accept", None),   # "zoe" after "from"
    ("Mytalk request from zoealk: on port 4000@peerhost.  Accept", "alk: on port 4000"),
    ("Mytalk request from zoe\x01\x7f@peerhost.  Accept", "\x01\x7f"),
    ("Mytalk request from zo@peerhost.  Accept", None),        # cut short: server_prompt's
])
def test_bytes_after_the_name_in_a_prompt(prompt, fault):
    """Issue 17.12: an unterminated name shows in any prompt (grader.vocabulary.talk.name_fault)."""
    assert talk.name_fault(prompt, "zoe") == fault


# -- alternatives, for check authors: each says what it expects in words -------------------------

ANSWER = wording.Wording(["Reply from {host} port {port}", "Answer from {host}:{port}"],
                         host=wording.host(), port=wording.number())


def test_second_spelling_with_fields_is_as_good_as_the_handouts():
    """Two spellings sharing fields build (a pattern may not name a group twice), and the
    second one, printed as declared, is no deviation."""
    m = ANSWER.search("Answer from peerhost:4000\n")
    assert (m["host"], m["port"], m.template, m.is_exact) == ("peerhost", "4000", 1, True)
    m = ANSWER.search("reply  from peerhost port 4000")
    assert (m["host"], m.template, m.is_exact) == ("peerhost", 0, False)
    assert ANSWER.regex.search("Answer from 127.0.0.1:9")["port"] == "9"
    ep = Scripted([b"Answer from peerhost:4000\n"])
    assert ep.expect(ANSWER.regex)["host"] == "peerhost"
    ep = Scripted([b"Answer from peerhost:4000\n"])
    assert ep.expect_wording(ANSWER)["port"] == "4000" and ep.case.deviations == []
    ep = Scripted([b"answer from peerhost:4000\n"])
    ep.expect_wording(ANSWER)
    assert ep.case.deviations == ['mytalk printed "answer from peerhost:4000"; the handout\'s '
                                  'text is "Answer from peerhost:4000"']


def test_a_field_without_its_description_is_named():
    with pytest.raises(ValueError, match=r"\{port\}"):
        wording.Wording("Reply from {host} port {port}", host=wording.host())


def test_any_of_texts_is_one_wording():
    w = wording.any_of("ok", ANSWER)
    assert isinstance(w, wording.Wording) and w.search("Answer from h:1")["port"] == "1"
    assert w.search("OK").is_exact is False and w.search("ok").is_exact
    assert w.describe().startswith('"ok" or "Reply from HOST port PORT" or "Answer from')
    other = wording.Wording("port {port}", port=wording.number("another number"))
    with pytest.raises(ValueError, match="port means two things"):
        wording.any_of(ANSWER, other)
    with pytest.raises(TypeError):
        wording.any_of(b"ok", "yes")


def test_any_of_bytes_describes_itself_in_words():
    want = wording.any_of(b"ok\n", b"yes\n")
    assert wording.describe(want) == describe(want) == '"ok\\n" or "yes\\n"'
    assert wording.any_of(b"ok", b"yes").describe() == '"ok" or "yes"'
    with pytest.raises(TypeError):
        wording.any_of(b"ok")


@pytest.mark.parametrize("chunks, got", [
    ([b"yes\n"], b"yes\n"),
    ([b"o", b"k\n"], b"ok\n"),              # split: waits for the rest
    ([b"ok\nmore"], b"ok\n"),              # consumes exactly the option
])
def test_expect_one_of_two_byte_strings(chunks, got):
    ep = Scripted(chunks)
    assert wording.expect_one_of(ep, b"ok\n", b"yes\n") == got
    assert ep.case.deviations == []


def test_expect_one_of_takes_the_longer_option_when_it_comes():
    ep = Scripted([b"ok", b"\0"])
    assert wording.expect_one_of(ep, b"ok", b"ok\0") == b"ok\0"
    ep = Scripted([b"ok"], ends=False)
    assert wording.expect_one_of(ep, b"ok", b"ok\0", timeout=0.2) == b"ok"
    assert bytes(ep._buf) == b""


def test_expect_one_of_fails_in_words_with_a_hint():
    ep = Scripted([b"Reply: ok\n"])
    with pytest.raises(CheckFailure) as e:
        wording.expect_one_of(ep, b"ok\n", b"yes\n", hint="answer ok or yes")
    assert str(e.value) == 'mytalk expected "ok\\n" or "yes\\n" and got "Reply: ok\\n"'
    assert "came before the expected bytes" in e.value.hint
    ep = Scripted([b"ye"])
    with pytest.raises(CheckFailure) as e:
        wording.expect_one_of(ep, b"ok\n", b"yes\n", hint="answer")
    assert "only the first 2 of 4 bytes" in e.value.hint
    ep = Scripted([b"nope\n"])
    with pytest.raises(CheckFailure) as e:
        wording.expect_one_of(ep, b"ok\n", b"yes\n", hint="answer")
    assert e.value.hint == "answer" and not REGEX_SYNTAX.search(str(e.value))
    ep = Scripted([])
    with pytest.raises(CheckFailure) as e:
        wording.expect_one_of(ep, b"ok\n", b"yes\n")
    assert '"ok\\n" or "yes\\n"' in str(e.value)


@pytest.mark.parametrize("pattern, words", [
    (r"(?:ok|yes)\0?\n", 'text like "ok" or "yes"'),
    (r"^Hello, (?P<name>\w+)!$", 'text like "Hello, NAME!"'),
    (r"port (\d+)", 'text like "port NUMBER"'),
    (r"[Oo]k", 'text like "Ok"'),
    (r"Echoed\s+(?P<size>\d+) bytes", 'text like "Echoed SIZE bytes"'),
    (r"port\s+\d+", 'text like "port NUMBER"'),
    (r"a{2,3}b|[^x]+c", "text of the form the check expects"),
    (r"(?<=from )\S+", "text of the form the check expects"),
])
def test_raw_patterns_never_reach_students_garbled(pattern, words):
    text = describe(re.compile(pattern))
    assert text == words
    assert not REGEX_SYNTAX.search(text) and not re.search(r"[|\\^$*+]", text)


def test_the_harness_s_own_patterns_say_what_they_look_for():
    assert describe(talk._UP_TO_QUESTION) == 'the question "Accept (y/n)?"'
    ep = Scripted([b"Mytalk request from zoe@peerhost.  Accept (y/n)? "])
    assert "zoe" in ep.expect(talk._UP_TO_QUESTION).text
    ep = Scripted([b"nothing like it\n"])
    with pytest.raises(CheckFailure) as e:
        ep.expect(talk._UP_TO_QUESTION)
    assert 'the question "Accept (y/n)?"' in str(e.value)
    assert not REGEX_SYNTAX.search(str(e.value))
