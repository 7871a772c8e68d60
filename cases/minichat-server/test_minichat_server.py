"""MiniChat server: every message reaches every other client, and only them."""
import re

from grader import check

LONG = "x" * 999


@check(hint="bind to the port given as argv[1] (htons(atoi(argv[1]))) and listen on it")
def test_listens(room):
    """Listens on the port given on the command line."""
    room.join("alice")


@check(hint="print a line such as \"New connection from:  ADDR:PORT\" after each accept(), "
            "with the port converted by ntohs()")
def test_announces_connections(room):
    """Prints a line naming each new connection's real port."""
    alice, bob = room.join("alice", "bob")
    for peer in (alice, bob):
        room.server.expect_line(re.compile(rf"\b{peer.port}\b"))


@check(hint="send what you received to every other client, with the length recv() returned")
def test_broadcast(room):
    """A message from one client reaches every other client, byte for byte."""
    alice, bob, carol = room.join("alice", "bob", "carol")
    alice.say("hello from alice")
    bob.expect_bytes(b"hello from alice\n")
    carol.expect_bytes(b"hello from alice\n")


@check(hint="the server sent the message back to its sender: skip the sender in the broadcast loop")
def test_no_echo(room):
    """A message never comes back to its sender."""
    alice, bob, carol = room.join("alice", "bob", "carol")
    alice.say("only for the others")
    bob.expect_bytes(b"only for the others\n")
    carol.expect_bytes(b"only for the others\n")
    alice.expect_silence()


@check(hint="forward all recv() returned, not just up to the first newline: several messages "
            "can arrive in one recv()")
def test_rapid_messages(room):
    """Ten messages sent back to back arrive complete and in order."""
    alice, bob, carol = room.join("alice", "bob", "carol")
    expected = "".join(f"rapid message {i}\n" for i in range(10)).encode()
    alice.send(expected)        # one write: the server gets several messages in one recv()
    bob.expect_bytes(expected)
    carol.expect_bytes(expected)


@check(hint="a long message may take several recv() calls: forward every piece you receive")
def test_long_message(room):
    """A 1000-byte message arrives whole."""
    alice, bob = room.join("alice", "bob")
    alice.say(LONG)
    bob.expect_bytes((LONG + "\n").encode())


@check(hint="keep room for at least 50 clients (MAX_CONNECTIONS, the fd_set or pollfd array)")
def test_many_clients(room):
    """With 50 clients connected, all 49 others receive a broadcast."""
    clients = room.join(*[f"client{i:02d}" for i in range(50)])
    clients[0].say("to all forty-nine")
    for peer in clients[1:]:
        peer.expect_bytes(b"to all forty-nine\n")


@check(hint="when recv() returns 0 the client has left: close its socket and stop watching it; "
            "keep serving the others")
def test_client_leaves(room):
    """After a client disconnects, the others still exchange messages."""
    alice, bob, carol = room.join("alice", "bob", "carol")
    room.leave(carol)
    alice.say("still here?")
    bob.expect_line("still here?")
    bob.say("yes")
    alice.expect_line("yes")


@check(hint="close() the client's socket when recv() returns 0, or descriptors leak")
def test_closes_descriptor(room):
    """A departed client's descriptor is closed: the server's fd count returns to before."""
    alice, bob = room.join("alice", "bob")
    before = room.server.fd_count()
    (carol,) = room.join("carol")
    room.leave(carol)
    room.server.expect_fds_back_to(before)
    alice.say("after carol left")            # and it still serves the others
    bob.expect_line("after carol left")


@check(hint="block in select()/poll() with no timeout (NULL or -1), and stop watching a client "
            "whose recv() returned 0: its socket stays readable forever")
def test_no_busy_wait(room):
    """Uses no CPU while waiting for messages, also after a client has left."""
    alice, bob, carol = room.join("alice", "bob", "carol")
    room.leave(carol)
    alice.say("warm up")
    bob.expect_bytes(b"warm up\n")
    room.server.expect_idle("while waiting for messages")
    bob.say("still serving")                 # it idled because it waited, not because it died
    alice.expect_line("still serving")


@check(hint="after forwarding a message that starts with \"bye\", close every socket and exit(0)")
def test_bye_ends_server(room):
    """A message starting with "bye" ends the server with status 0; the others see it close."""
    alice, bob, carol = room.join("alice", "bob", "carol")
    alice.say("bye")
    room.server.expect_exit(0)
    bob.expect_closed()
    carol.expect_closed()
