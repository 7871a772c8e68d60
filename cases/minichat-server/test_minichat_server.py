"""MiniChat server: every message reaches every other client, and only them."""
from grader import CheckFailure, check, swapped, wording

LONG = "x" * 999
# Sends to a departed client: the first draws an RST, the second SIGPIPE.
AFTER_LEAVE_MESSAGES = 3
SIGPIPE_HINT = ("a send() to a client that has left raises SIGPIPE, which kills the server: when "
                "recv() returns 0, close that socket and stop sending to it, and send with "
                "MSG_NOSIGNAL (or ignore SIGPIPE: signal(SIGPIPE, SIG_IGN))")


def port_named(port: int) -> wording.Wording:
    """The announcement of a connection: only its port is fixed (any wording around it)."""
    return wording.Wording("{port}", port=wording.choice(str(port)),
                           what=f"a line naming the new connection's port {port}")


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
        try:
            room.server.expect_wording(port_named(peer.port))
        except CheckFailure as failure:
            if str(swapped(peer.port)) in str(failure):
                raise CheckFailure(f"{failure}; {swapped(peer.port)} is the port {peer.port} with "
                                   "its bytes swapped",
                                   "convert the port with ntohs(peerinfo.sin_port)") from None
            raise


@check(hint="send what you received to every other client, with the length recv() returned")
def test_broadcast(room):
    """A message from one client reaches every other client, byte for byte."""
    alice, bob, carol = room.join("alice", "bob", "carol")
    alice.say("hello from alice")
    wording.expect_exact(bob, b"hello from alice\n")
    wording.expect_exact(carol, b"hello from alice\n")


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
    wording.expect_exact(bob, expected)
    wording.expect_exact(carol, expected)


@check(hint="a long message may take several recv() calls: forward every piece you receive")
def test_long_message(room):
    """A 1000-byte message arrives whole."""
    alice, bob = room.join("alice", "bob")
    alice.say(LONG)
    wording.expect_exact(bob, (LONG + "\n").encode())


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
    """After a client disconnects, the server lives on and the others still exchange messages."""
    alice, bob, carol = room.join("alice", "bob", "carol")
    room.leave(carol)
    try:
        # A server that keeps writing to the departed socket dies by the second such send.
        for i in range(1, AFTER_LEAVE_MESSAGES + 1):
            alice.say(f"still here? {i}")
            bob.expect_line(f"still here? {i}")
        bob.say("yes")
        alice.expect_line("yes")
    except CheckFailure as failure:
        raise _server_fate(room, failure) from None
    # Blocked in a system call, or ended: a server that is about to die is not taken for alive.
    room.server.expect_stays_running(hint=SIGPIPE_HINT)


def _server_fate(room, failure: CheckFailure) -> CheckFailure:
    """Why a message after a departure did not arrive: say it if the server died, and how."""
    server = room.server
    ended = any(c.output_ended for c in room.clients)     # its death closes every connection
    status = server.wait_exit() if ended else server.wait_exit(0)
    if status is None:
        return failure
    if status.signal is not None:
        return CheckFailure(f"after a client left, the server was {status} while forwarding "
                            "the others' messages", SIGPIPE_HINT)
    return CheckFailure(f"after a client left, the server ended ({status}) instead of serving "
                        "the others", "when recv() returns 0 only that client has left: close "
                        "its socket and keep serving the others")


@check(hint="close() the client's socket when recv() returns 0, or descriptors leak")
def test_closes_descriptor(room):
    """A departed client's descriptor is closed: the server's fd count returns to before."""
    alice, bob = room.join("alice", "bob")
    before = room.server.fd_count()
    (carol,) = room.join("carol")
    room.leave(carol)
    room.server.expect_fds_back_to(before)
    room.server.expect_stays_running(        # closed by close(), not by exiting
        hint="when recv() returns 0 only that client has left: close its socket and keep "
             "serving the others")


@check(hint="block in select()/poll() with no timeout (NULL or -1), and stop watching a client "
            "whose recv() returned 0: its socket stays readable forever")
def test_no_busy_wait(room):
    """Uses no CPU while waiting for messages, also after a client has left."""
    alice, bob, carol = room.join("alice", "bob", "carol")
    room.leave(carol)
    alice.say("warm up")
    bob.expect_bytes(b"warm up\n")
    room.server.expect_idle("while waiting for messages")
    room.server.expect_stays_running(        # it idled because it waited, not because it died
        hint="when recv() returns 0 only that client has left: close its socket and keep "
             "serving the others")


@check(hint="after forwarding a message that starts with \"bye\", close every socket and exit(0)")
def test_bye_ends_server(room):
    """A message starting with "bye" ends the server with status 0; the others see it close."""
    alice, bob, carol = room.join("alice", "bob", "carol")
    alice.say("bye")
    room.server.expect_exit(0)
    bob.expect_closed()
    carol.expect_closed()
