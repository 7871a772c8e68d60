"""The fixtures a case asks for. cases/conftest.py imports them all.

    def test_broadcast(student, connect): ...

The peer factories share one argument order, the port first, then the peer's name:
connect(port, name), listen(port, name), udp(port, name).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest

from ..harness import keys
from ..harness.case import Case
from ..harness.keys import CASE, GRADING, WINDOWED
from ..harness.peers import TcpListener, TcpPeer, UdpPeer
from ..harness.session import Grading
from .student import Student

__all__ = ["grading", "case", "student", "connect", "listen", "udp"]


def grading_from_options(config: pytest.Config, case_path: Path) -> Grading:
    """Plain-pytest use: resolve --student and prepare it as `grade` would."""
    from ..harness import assignments, targets
    from .. import settings as settings_mod
    assignment = assignments.for_case_file(case_path)
    spec, reference = config.getoption(keys.STUDENT), config.getoption(keys.REFERENCE)
    if not spec and not reference:
        raise pytest.UsageError("grader cases need --student PROGRAM (or --reference)")
    try:
        target = targets.resolve(spec or "", assignment, reference=reference, batch=False)
    except targets.BadInput as e:
        raise pytest.UsageError(str(e))
    talk = config.getoption(keys.TALK_LIB)
    grading = Grading(assignment, target, settings_mod.load(),
                      strict=config.getoption(keys.STRICT),
                      talk_lib=Path(talk) if talk else None)
    try:
        return grading.start()
    except BaseException:
        grading.close()
        raise


@pytest.fixture(scope="session")
def grading(request: pytest.FixtureRequest) -> Iterator[Grading]:
    """The run's set-up, made by `grade` or, under plain pytest, from --student."""
    config = request.config
    if GRADING in config.stash:
        yield config.stash[GRADING]
        return
    g = grading_from_options(config, request.session.items[0].path)
    config.stash[GRADING] = g
    try:
        yield g
    finally:
        g.close()


@pytest.fixture
def case(request: pytest.FixtureRequest, grading: Grading) -> Iterator[Case]:
    """One check's isolated world: its own network namespace, directory and processes.

    A check asks for it to write in its transcript (`case.note(...)`) or to report a
    deviation from the handout's text (`case.deviation(...)`).
    """
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
    def open_peer(port: int, name: str, host: str = "127.0.0.1",
                  source: Optional[str] = None) -> TcpPeer:
        return TcpPeer.connect(case, name, port, host, source=source)
    return open_peer


@pytest.fixture
def listen(case: Case) -> Callable[..., TcpListener]:
    """listen(port, "server") stands a reference server on the port for a student client to dial."""
    def open_listener(port: int, name: str = "server", host: str = "0.0.0.0") -> TcpListener:
        return TcpListener(case, port, name, host)
    return open_listener


@pytest.fixture
def udp(case: Case) -> Callable[..., UdpPeer]:
    """udp(port, "client") binds a reference UDP socket (port 0: any free port)."""
    def open_udp(port: int, name: str) -> UdpPeer:
        return UdpPeer(case, name, port)
    return open_udp
