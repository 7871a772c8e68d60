"""Reference peers that live inside the grader: sockets a case drives directly.

In-process peers cost no interpreter start-up, so a case can open fifty clients in
milliseconds; they speak the same bytes as the reference programs in reference/.
"""
from __future__ import annotations

import select
import socket
import struct
from typing import Optional

from . import ports
from .case import Case, CheckFailure
from .streams import Endpoint
from .targets import BadInput
from .transcript import show
from .waiting import Waiter


class SocketEndpoint(Endpoint):
    """A participant that is one of our own sockets."""

    sock: socket.socket

    @property
    def in_flight_grace(self) -> float:
        return self.settings.exit_grace

    @property
    def port(self) -> int:
        local = getattr(self, "local_port", None)
        return local if local is not None else self.sock.getsockname()[1]

    def fileno(self) -> int:
        return self.sock.fileno()


class TcpPeer(SocketEndpoint):
    """One end of a TCP connection, driven by the case."""

    def __init__(self, case: Case, name: str, sock: socket.socket, remote_port: int = 0):
        super().__init__(case, name)
        self.sock = sock
        sock.settimeout(self.settings.expect_timeout)   # bounds sendall only; reads use select
        # Both ports now: once the program resets the connection, the socket forgets its peer.
        self.local_addr, self.local_port = sock.getsockname()[:2]
        self.remote_addr = "127.0.0.1"
        try:
            self.remote_addr, peer_port = sock.getpeername()[:2]
            remote_port = remote_port or peer_port
        except OSError:
            pass
        self.remote_port = remote_port
        case.on_cleanup(self.close)
        case.step(name, "peer")

    def _ended_before(self, what: str) -> str:
        return (f"your program closed the connection before {self.name} received {what}; "
                f"{self.name} had received: {self._pending()}")

    @classmethod
    def connect(cls, case: Case, name: str, port: int, host: str = "127.0.0.1",
                hint: Optional[str] = None, source: Optional[str] = None) -> "TcpPeer":
        """source: the local address to connect from (the reference peers' own)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(case.settings.expect_timeout)
        try:
            if source is not None:
                sock.bind((source, 0))
            sock.connect((host, port))
        except OSError as e:
            sock.close()
            raise CheckFailure(f"{name} could not connect to port {port}: {e.strerror or e}", hint)
        peer = cls(case, name, sock)
        case.transcript.add(name, "·", f"connected from port {peer.port} to {port}")
        return peer

    def _read(self, timeout: float) -> Optional[bytes]:
        if self.sock.fileno() < 0:
            return b""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return None
        try:
            return self.sock.recv(65536)
        except ConnectionResetError:
            self.case.transcript.add(self.name, "·", "connection reset by the program")
            return b""

    def _write(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as e:
            closed = isinstance(e, (ConnectionResetError, BrokenPipeError))
            raise CheckFailure(
                f"your program closed the connection before {self.name} could send "
                f"\"{show(data[:60])}\"" if closed else
                f"{self.name} could not send \"{show(data[:60])}\": {e.strerror or e}")

    def wait_read_by_peer(self, hint: Optional[str] = None) -> None:
        """Wait until the program has read everything we sent (its receive queue is empty).

        Needed where a program reads a handshake answer with one recv(): anything we sent
        after the answer must not arrive in that same recv().
        """
        me, them = self.local_port, self.remote_port
        Waiter(self.case, self.settings.expect_timeout).until(
            lambda: ports.unread_bytes(them, me, self.remote_addr, self.local_addr) == 0,
            f"the program to read what {self.name} sent", hint)

    def close(self) -> None:
        """At the end of a case: a reset, so that neither end is left in TIME_WAIT (a fixed
        port in TIME_WAIT would refuse a later bind() without SO_REUSEADDR for a minute)."""
        if self.sock.fileno() >= 0:
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.sock.close()

    def leave(self) -> None:
        """Close the connection as a departing client would (end of file, not a reset)."""
        self.case.transcript.add(self.name, "·", "closes the connection")
        self.case.step(self.name, "close")
        if self.sock.fileno() >= 0:
            self.sock.close()


class TcpListener:
    """A listening socket standing in for a reference server that a student client dials."""

    def __init__(self, case: Case, port: int, name: str = "server", host: str = "0.0.0.0"):
        self.case, self.name, self.port = case, name, port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError as e:
            self.sock.close()
            raise BadInput(f"port {port} is in use on the grading machine ({e.strerror}), so "
                           f"{name} cannot stand in for the reference server: this is not a "
                           "problem of the handin; grade it again when the port is free")
        self.sock.listen(64)
        case.on_cleanup(self.sock.close)

    def accept(self, name: Optional[str] = None, timeout: Optional[float] = None,
               hint: Optional[str] = None) -> TcpPeer:
        timeout = self.case.settings.expect_timeout if timeout is None else timeout
        waiter = Waiter(self.case, timeout, own=self.sock)
        while not waiter.pump():
            if waiter.remaining <= 0:
                raise CheckFailure(f"no connection reached {self.name} on port {self.port} "
                                   f"within {timeout:g}s", hint)
            why = waiter.obstacle()
            if why is not None and not select.select([self.sock], [], [], 0)[0]:
                raise CheckFailure(f"no connection reached {self.name} on port {self.port}: "
                                   f"{why}", hint)
        conn, addr = self.sock.accept()
        peer = TcpPeer(self.case, name or self.name, conn, addr[1])
        self.case.transcript.add(peer.name, "·", f"accepted a connection from {addr[0]}:{addr[1]}")
        return peer

    def close(self) -> None:
        self.sock.close()


class UdpPeer(SocketEndpoint):
    """A UDP socket; remembers who sent the last datagram so a reply can go back."""

    def __init__(self, case: Case, name: str, port: int = 0):
        super().__init__(case, name)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("0.0.0.0", port))
        self.last_sender: Optional[tuple[str, int]] = None
        self.target: Optional[tuple[str, int]] = None
        case.on_cleanup(self.sock.close)
        case.step(name, "peer")

    def _read(self, timeout: float) -> Optional[bytes]:
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return None
        data, self.last_sender = self.sock.recvfrom(65536)
        self.case.transcript.add(self.name, "·", f"datagram from {self.last_sender[0]}:"
                                                 f"{self.last_sender[1]}")
        return data or None

    def _write(self, data: bytes) -> None:
        dest = self.target or self.last_sender
        if dest is None:
            raise CheckFailure(f"{self.name} has nobody to send to")
        self.sock.sendto(data, dest)
