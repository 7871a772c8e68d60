"""The chat, checked once with the student's program as client and once as server."""
from grader import CheckFailure, check, show, talk

LONG = "".join(chr(ord("a") + i % 26) for i in range(200))
# What a person types, "%" included: a program that prints what arrives as a printf format
# (printf(buf), fprint_to_output(buf)) shows something else, or crashes.
TYPED = ("100% done", "%s%s%n", "it's \"quoted\" \\ {braces} & ~!@#$^*()_+=[]|;:<>,.?/`-")
AS_FORMAT = ("write what arrives with write_to_output(buf, n) (or printf(\"%s\", buf)), never "
             "as a format: a \"%\" in it is a conversion")


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
    for text in TYPED:
        me.say(text)
        peer.expect_bytes(f"{text}\n".encode(), hint=AS_FORMAT)
        peer.say(text)
        me.expect_line(text, hint=AS_FORMAT)
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


@check(hint="at end of input, send what is left of an unfinished line, then close and exit",
       both_modes=True)
def test_partial_line_eof(chat, case):
    """A partial line followed by end of input is delivered, and the program exits."""
    me, peer = chat
    me.type("no newline here")
    me.send_eof()          # ends the partial line (windowed: and the input)
    if not case.windowed:
        me.send_eof()      # under -N, a terminal's second ^D is the end of input
    peer.expect_bytes(b"no newline here")
    try:
        me.expect_exit(0, promptly=True, any_code="after a partial line and ^D")
        return
    except CheckFailure:
        if not me.alive:
            raise
    me.send_eof()          # one more: a program that exits now missed the end of input
    try:
        me.expect_exit(code=None, promptly=True)
    except CheckFailure:
        case.note("it does not exit at end of input at all: that is eof_exits' to judge")
        return
    case.eof_missed = True
    raise CheckFailure("after the partial line and the end of input the program went on "
                       "waiting; it exited only at the next ^D",
                       "the end of input came with the partial line: after sending it, ask "
                       "has_hit_eof() again before going back to poll()")


@check(hint="at end of input (^D) close the socket and exit", both_modes=True)
def test_eof_exits(chat):
    """In a chat going both ways, ^D closes the connection, sending nothing more, and exits
    promptly."""
    me, peer = chat
    me.say("one more line")                    # the chat is up: a line each way
    peer.expect_bytes(b"one more line\n")      # (the y/n answer's newline may come first)
    peer.say("and one back")
    peer.wait_read_by_peer()                   # read (whether shown is chat_both_ways')
    me.expect_running()
    me.send_eof()
    me.expect_exit(0, promptly=True, any_code="after ^D")
    rest = peer.expect_closed()
    if rest:
        raise CheckFailure(f"after ^D the program sent \"{show(rest)}\" before it closed the "
                           "connection", "at end of input close the socket and exit: send "
                           "nothing more (not the last line again, nor an end marker)")


@check(hint="when recv() returns 0 print \"Connection closed.  ^C to terminate.\" and pause()",
       both_modes=True)
def test_peer_closes(chat):
    """The peer closing: "Connection closed.  ^C to terminate.", then it waits for ^C."""
    me, peer = chat
    peer.leave()
    me.expect_wording(talk.CLOSED_TEXT)
    me.expect_waits_for_user(hint="after the close message wait in pause() for ^C; a sleep "
                                  "ends by itself")
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
