"""Free ports, and waiting for a program to bind one.

Readiness is asked of the kernel (sock_diag, else /proc/net: the current network namespace's
sockets) rather than found by connecting, because a probing connection would be a real client
to the program under test.
"""
from __future__ import annotations

import socket
import time
from typing import Callable, Iterator

from . import sockdiag

_TCP_LISTEN, _UDP_BOUND, _TCP_TIME_WAIT = "0A", "07", "06"


def swaps_to_itself(port: int) -> bool:
    """Whether the port's two bytes are equal, so that swapping them gives the same port."""
    return port >> 8 == port & 0xFF


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nothing is bound to now (in a private namespace, nothing ever is), whose two
    bytes differ.

    A program that forgets htons() binds or dials the port with its bytes swapped. For a port
    such as 32896 (0x8080) the swap is the same port, so the mistake would go unseen; which
    port the kernel picks is luck (1 in 256), and a verdict must not be. Such a port is never
    handed out: each is kept bound while the kernel is asked again, so it cannot come back.
    """
    rejected: list[socket.socket] = []
    try:
        while True:
            s = socket.socket(socket.AF_INET, kind)
            rejected.append(s)
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            if not swaps_to_itself(port):
                return port
    finally:
        for s in rejected:
            s.close()


def _proc_net(tables: tuple[str, ...]) -> Iterator[tuple[str, int, int, int]]:
    """(state, local port, remote port, receive queue) of every socket in these /proc/net
    tables of our network namespace: the fallback when sock_diag is unavailable."""
    for table in tables:
        try:
            with open(f"/proc/net/{table}") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    yield (fields[3], int(fields[1].rsplit(":", 1)[1], 16),
                           int(fields[2].rsplit(":", 1)[1], 16), int(fields[4].split(":")[1], 16))
        except FileNotFoundError:
            continue


def _bound(port: int, tables: tuple[str, ...], state: str) -> bool:
    return any(s == state and local == port for s, local, _, _ in _proc_net(tables))


def unread_bytes(local_port: int, remote_port: int, local_addr: str = "127.0.0.1",
                 remote_addr: str = "127.0.0.1") -> int:
    """Bytes waiting in the receive queue of the TCP socket local_port<->remote_port (0 if none)."""
    try:
        return sockdiag.unread(local_port, remote_port, local_addr, remote_addr) or 0
    except OSError:
        pass
    return next((queue for _, local, remote, queue in _proc_net(("tcp", "tcp6"))
                 if local == local_port and remote == remote_port), 0)


def is_listening(port: int) -> bool:
    try:
        return sockdiag.bound(port, socket.IPPROTO_TCP, sockdiag.TCP_LISTEN)
    except OSError:
        return _bound(port, ("tcp", "tcp6"), _TCP_LISTEN)


def in_time_wait(port: int) -> bool:
    """Whether a closed connection of this port is in TIME_WAIT here, which refuses a bind()
    without SO_REUSEADDR to it until the kernel lets it go (60 s on Linux)."""
    return _bound(port, ("tcp", "tcp6"), _TCP_TIME_WAIT)


def is_udp_bound(port: int) -> bool:
    try:
        return sockdiag.bound(port, socket.IPPROTO_UDP, sockdiag.UDP_UNCONNECTED)
    except OSError:
        return _bound(port, ("udp", "udp6"), _UDP_BOUND)


def wait_until(condition: Callable[[], bool], timeout: float, interval: float,
               still_worth_waiting: Callable[[], bool] = lambda: True) -> bool:
    """Re-check a condition that has no event to wait on, until it holds or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline or not still_worth_waiting():
            return condition()
        time.sleep(interval)
