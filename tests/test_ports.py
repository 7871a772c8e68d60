"""Ports handed to programs: never one a byte swap leaves unchanged (see ports.free_port).

The kernel's choice is replaced by a fixed sequence, so the test does not depend on which
ports happen to be free.
"""
from __future__ import annotations

import socket

import pytest

from grader.harness import ports


class FakeSocket:
    """Binding to port 0 gets the next port of `offered`; a bound port stays taken until
    its socket is closed."""
    offered: list[int] = []
    opened: list["FakeSocket"] = []

    def __init__(self, family: int, kind: int):
        self.port = None
        self.closed = False
        FakeSocket.opened.append(self)

    def bind(self, address: tuple[str, int]) -> None:
        taken = {s.port for s in FakeSocket.opened if not s.closed}
        self.port = next(p for p in FakeSocket.offered if p not in taken)
        FakeSocket.offered.remove(self.port)

    def getsockname(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def kernel(monkeypatch):
    FakeSocket.offered, FakeSocket.opened = [], []
    monkeypatch.setattr(ports.socket, "socket", FakeSocket)
    return FakeSocket


@pytest.mark.parametrize("port, same", [(0x8080, True), (0xFFFF, True), (0x0101, True),
                                        (0x8081, False), (0x1234, False), (80, False)])
def test_a_port_swaps_to_itself_when_its_bytes_are_equal(port, same):
    assert ports.swaps_to_itself(port) is same
    assert (socket.htons(port) == port) is same


def test_a_port_with_equal_bytes_is_never_handed_out(kernel):
    kernel.offered = [0x8080, 0xBEBE, 0x9A3C]
    assert ports.free_port() == 0x9A3C
    assert all(s.closed for s in kernel.opened)      # the rejected ones are let go too


def test_a_port_with_different_bytes_is_taken_at_once(kernel):
    kernel.offered = [0x9A3C, 0x8080]
    assert ports.free_port() == 0x9A3C
    assert len(kernel.opened) == 1 and kernel.opened[0].closed


def test_the_kernels_ports_have_different_bytes():
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        for _ in range(20):
            port = ports.free_port(kind)
            assert 0 < port < 65536 and not ports.swaps_to_itself(port)
