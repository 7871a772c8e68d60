"""One UDP exchange, as in the lecture's figures 89 (server) and 90 (client).

The client sends one greeting to port 10000 and prints the answer; the server prints who
greeted it and what they said, then answers. Unlike the lecture's C, every call is checked.

    python -m reference.udp server|client
"""
from __future__ import annotations

import socket
import sys

from .hello import run_role, write_stdout

PORT = 10000
HOSTNAME = "localhost"
INADDR_ANY = "0.0.0.0"
MAXLEN = 1000
CLIENT_MSG = b"Hello, Server\n"
SERVER_MSG = b"Hello, Client\n"


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
    return run_role("udp", server, client, argv)


if __name__ == "__main__":
    sys.exit(main())
