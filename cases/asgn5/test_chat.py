"""The chat, checked once with the student's program as client and once as server."""
from grader import check, talk

LONG = "".join(chr(ord("a") + i % 26) for i in range(200))


@check(hint="poll() stdin and the socket together; send each whole line, write what arrives")
def test_chat_both_ways(chat):
    """Lines typed on each side appear on the other, in order, both ways interleaved."""
    me, peer = chat
    me.say("hello from the program")
    peer.expect_bytes(b"hello from the program\n")
    peer.say("hello from the reference")
    me.expect_line("hello from the reference")
    me.say("crossing 1")
    peer.say("crossing 2")
    peer.expect_bytes(b"crossing 1\n")
    me.expect_line("crossing 2")
    me.expect_running()


@check(hint="after poll() says stdin is readable, send every whole line the library has")
def test_many_lines(chat):
    """A hundred lines in a row arrive, all of them, in order, both ways."""
    me, peer = chat
    lines = [f"line {i:03d}" for i in range(100)]
    for line in lines:
        me.say(line)
    peer.expect_bytes("".join(f"{line}\n" for line in lines).encode())
    peer.send("".join(f"{line}\n" for line in lines))     # one write: many lines per recv()
    for line in lines:
        me.expect_line(line)
    me.expect_running()


@check(hint="use a buffer of at least a few hundred bytes, and send the length you read")
def test_long_line(chat):
    """A 200-byte line arrives whole, both ways."""
    me, peer = chat
    me.say(LONG)
    peer.expect_bytes((LONG + "\n").encode())
    peer.say(LONG)
    me.expect_line(LONG)
    me.expect_running()


@check(hint="at end of input, send what is left of an unfinished line before closing")
def test_partial_line_eof(chat):
    """A partial line followed by end of input is delivered."""
    me, peer = chat
    me.type("no newline here")
    me.send_eof()          # ends the partial line
    me.send_eof()          # end of input
    peer.expect_bytes(b"no newline here")   # whether it then exits is eof_exits


@check(hint="at end of input (^D) close the socket and exit")
def test_eof_exits(chat):
    """^D closes the connection and exits, promptly."""
    me, peer = chat
    me.expect_running()
    me.send_eof()
    me.expect_exit(0, promptly=True, any_code="after ^D")
    peer.expect_closed()


@check(hint="when recv() returns 0 print \"Connection closed.  ^C to terminate.\" and pause()")
def test_peer_closes(chat):
    """The peer closing: "Connection closed.  ^C to terminate.", then it waits for ^C."""
    me, peer = chat
    peer.leave()
    me.expect_wording(talk.CLOSED_TEXT)
    me.expect_stays_running()
    me.interrupt()
    me.expect_exit(code=None, allow_signal=True)


@check(hint="a line \"bye\" is ordinary in mytalk: only end of input or ^C ends it")
def test_bye_is_ordinary(chat):
    """"bye" is an ordinary line: the chat goes on, both ways."""
    me, peer = chat
    me.say("bye")
    peer.expect_bytes(b"bye\n")
    peer.say("bye")
    me.expect_line("bye")
    me.say("still talking")
    peer.expect_bytes(b"still talking\n")
    me.expect_running()


@check(hint="block in poll() with timeout -1; never loop on non-blocking reads")
def test_idle_chat(chat):
    """Uses no CPU while the chat is idle."""
    me, peer = chat
    peer.say("anyone there?")
    peer.wait_read_by_peer()
    me.expect_idle("while idle in the chat")


@check(hint="after the close message, wait in pause() instead of looping")
def test_idle_after_close(chat, case):
    """Uses no CPU after the close message, while waiting for ^C."""
    me, peer = chat
    peer.leave()            # the program sees the end at once; whether it says so is peer_closes
    if me.settle() is not None:
        case.note(f"{me.name} {me.ended_text()} after the peer closed: using no CPU is "
                  "trivially true; not waiting for ^C is peer_closes' charge")
        return
    me.expect_idle("after the peer closed")


@check(hint="a descriptor opened per message and never closed: close what you open (dup, fdopen)")
def test_fd_stable(chat):
    """No descriptor growth over 100 messages."""
    me, peer = chat
    before = me.fd_count()
    for i in range(50):
        me.say(f"out {i}")
        peer.say(f"in {i}")
    peer.expect_lines(50)                    # what they say is the other checks' business
    peer.wait_read_by_peer()                 # the program has received all 50 (shown or not)
    me.expect_fds_back_to(before, hint="close what you open for each message")
