"""One UDP exchange, as in the lecture's figures 89 (server) and 90 (client).

The client sends one greeting to port 10000 and prints the answer; the server prints who
greeted it and what they said, then answers. Unlike the lecture's C, every call is checked.

    python -m reference.udp server|client
"""
from __future__ import annotations

import socket
import sys

PORT = 10000
HOSTNAME = "localhost"
INADDR_ANY = "0.0.0.0"
MAXLEN = 1000
CLIENT_MSG = b"Hello, Server\n"
SERVER_MSG = b"Hello, Client\n"


def write_stdout(data: bytes) -> None:
    """Copy bytes to stdout untouched, as write(2) would, so the peer's text shows verbatim."""
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def server() -> None:
    """Wait for one datagram on PORT, say where it came from, and answer the sender."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sockfd:
        sockfd.bind((INADDR_ANY, PORT))
        buff, (addr, port) = sockfd.recvfrom(MAXLEN)
        print(f"Message from <{addr}:{port}>: ", end="", flush=True)
        write_stdout(buff)
        sockfd.sendto(SERVER_MSG, (addr, port))


def client() -> None:
    """Greet the server on HOSTNAME:PORT and print the one datagram that comes back."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sockfd:
        sockfd.sendto(CLIENT_MSG, (socket.gethostbyname(HOSTNAME), PORT))
        buff, _ = sockfd.recvfrom(MAXLEN)
        write_stdout(buff)


def main(argv: list[str] | None = None) -> int:
    """Run one role; a failed socket call becomes a one-line message and exit status 1."""
    args = sys.argv[1:] if argv is None else argv
    if args not in (["server"], ["client"]):
        print("usage: python -m reference.udp server|client", file=sys.stderr)
        return 2
    role = args[0]
    try:
        if role == "server":
            server()
        else:
            client()
    except OSError as err:
        print(f"udp {role}: {err.strerror or err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
