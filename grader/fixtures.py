"""The fixtures a case asks for. cases/conftest.py imports them all.

    def test_broadcast(student, connect): ...
"""
from __future__ import annotations

import socket
from typing import Callable, Iterator

import pytest

from .case import Case
from .peers import TcpListener, TcpPeer, UdpPeer
from .ports import free_port
from .session import Grading
from .student import Student

CASE = pytest.StashKey[Case]()
GRADING = pytest.StashKey[Grading]()
WINDOWED = pytest.StashKey[str]()     # on a check run again windowed: how it failed before


@pytest.fixture(scope="session")
def grading(request: pytest.FixtureRequest) -> Iterator[Grading]:
    """The run's set-up, made by `grade` or, under plain pytest, from --student."""
    config = request.config
    if GRADING in config.stash:
        yield config.stash[GRADING]
        return
    from . import plugin
    g = plugin.grading_from_options(config, request.session.items[0].path)
    config.stash[GRADING] = g
    try:
        yield g
    finally:
        g.close()


@pytest.fixture
def case(request: pytest.FixtureRequest, grading: Grading) -> Iterator[Case]:
    """One check's isolated world: its own network namespace, directory and processes."""
    c = Case(grading.settings, grading.strict, windowed=WINDOWED in request.node.stash)
    request.node.stash[CASE] = c
    grading.enter_case(c)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def student(grading: Grading, case: Case) -> Student:
    return Student(grading, case)


@pytest.fixture
def connect(case: Case) -> Callable[..., TcpPeer]:
    """connect(port, "alice") opens a reference client connection to the program."""
    def open_peer(port: int, name: str, host: str = "127.0.0.1") -> TcpPeer:
        return TcpPeer.connect(case, name, port, host)
    return open_peer


@pytest.fixture
def listen(case: Case) -> Callable[..., TcpListener]:
    """listen(port) stands a reference server on the port for a student client to dial."""
    def open_listener(port: int, name: str = "server") -> TcpListener:
        return TcpListener(case, port, name)
    return open_listener


@pytest.fixture
def udp(case: Case) -> Callable[..., UdpPeer]:
    def open_udp(name: str, port: int = 0) -> UdpPeer:
        return UdpPeer(case, name, port)
    return open_udp


@pytest.fixture
def free_tcp_port(case: Case) -> int:
    return free_port(socket.SOCK_STREAM)
