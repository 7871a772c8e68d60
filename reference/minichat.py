"""MiniChat, the lecture's bare-bones TCP chat: client figures 93-95, server figures 96-98.

The server relays whatever one client sends to every other client; the client relays the
console to the server and the server to the console. A message starting with "bye" ends
the chat. Both ends wait with select(2) or poll(2), as the lecture shows, chosen by --io.

Fixed here, compared with the lecture's C: "bye" is a prefix test on the data just received
(the C's strcmp with three arguments meant strncmp), a peer that hangs up is closed and
forgotten instead of being read forever, a full server stops watching its listener instead
of spinning on it, and failed calls end the program with a message.

    python -m reference.minichat server|client [port] [--io select|poll]
"""
from __future__ import annotations

import argparse
import os
import select
import socket
import sys

DEFAULT_PORT = 10000
HOSTNAME = "localhost"
INADDR_ANY = "0.0.0.0"
MAX_CONNECTIONS = 100
DEFAULT_BACKLOG = MAX_CONNECTIONS
MAXLINE = 1024


def is_bye(data: bytes) -> bool:
    """Say whether a message ends the chat: it does when it starts with "bye"."""
    return data.startswith(b"bye")


def wait_readable(fds: list[int], io: str) -> list[int]:
    """Block until some of fds can be read, with select(2) or poll(2) as the lecture shows.

    With poll, any returned event counts (a hang-up or error, not only POLLIN), so the caller
    reads, sees the end, and drops the descriptor instead of being woken for it forever.
    """
    if io == "select":
        readable, _, _ = select.select(fds, [], [])
        return readable
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    return [fd for fd, _events in poller.poll()]


def write_all(fd: int, data: bytes) -> None:
    """Write every byte, since one write(2) may take only part of them."""
    while data:
        data = data[os.write(fd, data):]


def chatserver(listener: socket.socket, io: str) -> None:
    """Accept clients and relay each message to all the others, until one says bye."""
    clients: dict[int, socket.socket] = {}  # descriptor -> connected client
    try:
        while True:
            watched = list(clients)
            if len(clients) < MAX_CONNECTIONS:  # when full, new clients wait in the backlog
                watched.append(listener.fileno())
            ready = wait_readable(watched, io)
            # Clients first: a descriptor dropped here must not be reused by accept this round.
            for fd in ready:
                if fd in clients and not relay(clients[fd], clients):
                    return
            if listener.fileno() in ready:
                newsock, (addr, port) = listener.accept()
                print(f"New connection from:  {addr}:{port}", flush=True)
                clients[newsock.fileno()] = newsock
    finally:
        for sock in clients.values():
            sock.close()


def relay(sender: socket.socket, clients: dict[int, socket.socket]) -> bool:
    """Pass one message from sender to every other client; False once the chat should end.

    A client that hung up (or whose connection failed) is closed and removed from clients.
    """
    try:
        buff = sender.recv(MAXLINE)
    except OSError:
        buff = b""
    if not buff:
        drop(sender, clients)
        return True
    for other in list(clients.values()):
        if other is not sender:
            try:
                other.sendall(buff)
            except OSError:
                drop(other, clients)
    return not is_bye(buff)


def drop(sock: socket.socket, clients: dict[int, socket.socket]) -> None:
    """Forget a client whose connection is over, so it is never waited on again."""
    del clients[sock.fileno()]
    sock.close()


def chatclient(sockfd: socket.socket, io: str) -> None:
    """Relay the console to the server and the server to the console, until bye or an end."""
    stdin, stdout, remote = sys.stdin.fileno(), sys.stdout.fileno(), sockfd.fileno()
    while True:
        ready = wait_readable([stdin, remote], io)
        if remote in ready:
            buff = sockfd.recv(MAXLINE)
            if not buff:  # the server hung up
                return
            write_all(stdout, buff)
            if is_bye(buff):
                return
        if stdin in ready:
            buff = os.read(stdin, MAXLINE)
            if not buff:  # end of input: nothing more to say
                return
            sockfd.sendall(buff)
            if is_bye(buff):
                return


def server(port: int, io: str) -> None:
    """Listen on every local interface at port and chat until someone says bye."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sockfd:
        sockfd.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sockfd.bind((INADDR_ANY, port))
        sockfd.listen(DEFAULT_BACKLOG)
        chatserver(sockfd, io)


def client(port: int, io: str) -> None:
    """Connect to HOSTNAME at port and chat until bye, end of input, or the server leaves."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sockfd:
        sockfd.connect((socket.gethostbyname(HOSTNAME), port))
        chatclient(sockfd, io)


def port_number(text: str) -> int:
    """Parse a TCP port, so a bad one is a usage error rather than a failed bind."""
    port = int(text)
    if not 0 < port < 65536:
        raise ValueError(text)
    return port


def main(argv: list[str] | None = None) -> int:
    """Run one role; a failed call becomes a one-line message and exit status 1."""
    parser = argparse.ArgumentParser(prog="python -m reference.minichat",
                                     description="The lecture's MiniChat server and client.")
    parser.add_argument("role", choices=["server", "client"])
    parser.add_argument("port", type=port_number, nargs="?", default=DEFAULT_PORT)
    parser.add_argument("--io", choices=["select", "poll"], default="poll",
                        help="how to wait for input (default: poll)")
    args = parser.parse_args(argv)
    try:
        if args.role == "server":
            server(args.port, args.io)
        else:
            client(args.port, args.io)
    except OSError as err:
        print(f"minichat {args.role}: {err.strerror or err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
