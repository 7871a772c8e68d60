"""One TCP exchange, as in the lecture's figures 91 (server) and 92 (client).

The server accepts one connection on port 10000, reports both ends of it, prints what the
client sent and answers. Unlike the lecture's C, every call is checked and a client that
hangs up without a word is reported instead of being answered.

    python -m reference.tcp server|client
"""
from __future__ import annotations

import socket
import sys

from .hello import run_role, write_stdout

PORT = 10000
HOSTNAME = "localhost"
INADDR_ANY = "0.0.0.0"
DEFAULT_BACKLOG = 100
MAXLEN = 1000
CLIENT_MSG = b"Hello, TCP Server.\n"
SERVER_MSG = b"Hello, TCP Client.\n"


def server() -> None:
    """Accept one client on PORT, show who it is, print its message and answer it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sockfd:
        sockfd.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sockfd.bind((INADDR_ANY, PORT))
        sockfd.listen(DEFAULT_BACKLOG)
        newsock, (peeraddr, peerport) = sockfd.accept()
        with newsock:
            localaddr, localport = newsock.getsockname()
            print(f"New Connection:  {peeraddr}:{peerport}->{localaddr}:{localport}", flush=True)
            buff = newsock.recv(MAXLEN)
            if not buff:
                raise ConnectionError("client closed the connection without sending")
            write_stdout(buff)
            newsock.sendall(SERVER_MSG)


def client() -> None:
    """Connect to HOSTNAME:PORT, send the greeting and print the one reply."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sockfd:
        sockfd.connect((socket.gethostbyname(HOSTNAME), PORT))
        sockfd.sendall(CLIENT_MSG)
        buff = sockfd.recv(MAXLEN)
        if not buff:
            raise ConnectionError("server closed the connection without replying")
        write_stdout(buff)


def main(argv: list[str] | None = None) -> int:
    return run_role("tcp", server, client, argv)


if __name__ == "__main__":
    sys.exit(main())
