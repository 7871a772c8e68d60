"""A chat server under test with reference clients around it (minichat, and broadcast cases).

Knows the topology, so it can give every client a barrier: a token sent by another client
through the server, which proves that anything the server meant for this client has arrived.
"""
from __future__ import annotations

import functools
import itertools
from typing import Callable, Optional

import psutil

from ..harness import sockdiag
from ..harness.case import Case, CheckFailure
from ..harness.peers import TcpPeer
from ..harness.program import Program
from ..harness.waiting import Waiter


class ChatRoom:
    def __init__(self, case: Case, server: Program, port: int,
                 connect: Callable[[int, str], TcpPeer]):
        self.case, self.server, self.port, self._connect = case, server, port, connect
        self.clients: list[TcpPeer] = []
        self._tokens = itertools.count(1)

    def join(self, *names: str, hint: Optional[str] = None) -> list[TcpPeer]:
        """Connect clients and wait until the server has accepted every one of them."""
        new = [self._connect(self.port, name) for name in names]
        self.clients += new
        self.wait_accepted(new, hint)
        for peer in new:
            peer._barrier = functools.partial(self._barrier_for, peer)
        return new

    def _accepted_ports(self) -> set[int]:
        """Ports of the clients the server has accept()ed so far."""
        try:
            return {c.port for c in self.clients if sockdiag.accepted(self.port, c.port)}
        except OSError:
            conns = psutil.Process(self.server.pid).net_connections(kind="tcp")
            return {c.raddr.port for c in conns if c.raddr}

    def wait_accepted(self, peers: list[TcpPeer], hint: Optional[str] = None) -> None:
        wanted = {p.port for p in peers}
        try:
            Waiter(self.case, self.case.settings.expect_timeout).until(
                lambda: wanted <= self._accepted_ports(),
                f"the server to accept the connections from port(s) "
                f"{', '.join(map(str, sorted(wanted)))}")
        except CheckFailure as e:
            missing = sorted(wanted - self._accepted_ports())
            raise CheckFailure(f"{e} (not accepted: {', '.join(map(str, missing))})",
                               hint or "accept new connections whenever the listener is readable")

    def _barrier_for(self, target: TcpPeer) -> str:
        sender = next((c for c in self.clients if c is not target and c.sock.fileno() >= 0), None)
        if sender is None:
            raise CheckFailure("a barrier needs a second connected client")
        token = f"barrier-{next(self._tokens)}"
        sender.say(token)
        for other in self.clients:
            if other not in (sender, target) and other.sock.fileno() >= 0:
                other.expect_line(token)
        return token

    def leave(self, peer: TcpPeer) -> None:
        peer.leave()
        self.clients.remove(peer)
