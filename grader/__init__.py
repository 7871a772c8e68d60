"""A grader for socket-programming assignments: UDP, TCP, minichat and mytalk.

Cases import their vocabulary from here, and only from here (docs/writing-checks.md):

    from grader import check, CheckFailure, Wording, expect_exact

Like pytest's own __init__, this module is the public surface; behind it are four layers,
each importing only those below it: containment, harness, vocabulary, frontend (README,
"Design"; tests/test_layers.py). Names are imported on first use, so `import grader` (the
`grade` command, its workers) stays as cheap as it was.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> (module, attribute); attribute None: the module itself.
_EXPORTS = {
    # declaring a check
    "check": (".harness.checks", "check"),
    "CheckFailure": (".harness.case", "CheckFailure"),
    # texts the handout fixes, bytes the spec fixes
    "wording": (".vocabulary.wording", None),
    "Wording": (".vocabulary.wording", "Wording"),
    "WordingMatch": (".vocabulary.wording", "WordingMatch"),
    "expect_exact": (".vocabulary.wording", "expect_exact"),
    "expect_one_of": (".vocabulary.wording", "expect_one_of"),
    "any_of": (".vocabulary.wording", "any_of"),
    "expect_address": (".vocabulary.addresses", "expect_address"),
    "swapped": (".vocabulary.addresses", "swapped"),
    # participants and what their waits return
    "Case": (".harness.case", "Case"),
    "Student": (".vocabulary.student", "Student"),
    "Program": (".harness.program", "Program"),
    "ExitStatus": (".harness.program", "ExitStatus"),
    "Completed": (".harness.program", "Completed"),
    "Endpoint": (".harness.streams", "Endpoint"),
    "Match": (".harness.streams", "Match"),
    "first_of": (".harness.streams", "first_of"),
    "TcpPeer": (".harness.peers", "TcpPeer"),
    "TcpListener": (".harness.peers", "TcpListener"),
    "UdpPeer": (".harness.peers", "UdpPeer"),
    # topologies and protocols
    "ChatRoom": (".vocabulary.chatroom", "ChatRoom"),
    "talk": (".vocabulary.talk", None),
    "Screen": (".vocabulary.screen", "Screen"),
    "has_terminfo": (".harness.program", "has_terminfo"),
    # showing bytes in messages
    "show": (".harness.transcript", "show"),
    "show_text": (".harness.transcript", "show_text"),
}

__all__ = [
    "Case",
    "ChatRoom",
    "CheckFailure",
    "Completed",
    "Endpoint",
    "ExitStatus",
    "Match",
    "Program",
    "Screen",
    "Student",
    "TcpListener",
    "TcpPeer",
    "UdpPeer",
    "Wording",
    "WordingMatch",
    "any_of",
    "check",
    "expect_address",
    "expect_exact",
    "expect_one_of",
    "first_of",
    "has_terminfo",
    "show",
    "show_text",
    "swapped",
    "talk",
    "wording",
]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'grader' has no attribute {name!r}") from None
    mod = importlib.import_module(module, __name__)
    value = mod if attribute is None else getattr(mod, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:      # pragma: no cover - for type checkers and editors
    from .vocabulary import talk, wording
    from .vocabulary.addresses import expect_address, swapped
    from .harness.case import Case, CheckFailure
    from .vocabulary.chatroom import ChatRoom
    from .harness.checks import check
    from .harness.peers import TcpListener, TcpPeer, UdpPeer
    from .harness.program import Completed, ExitStatus, Program
    from .harness.program import has_terminfo
    from .vocabulary.screen import Screen
    from .harness.streams import Endpoint, Match, first_of
    from .vocabulary.student import Student
    from .harness.transcript import show, show_text
    from .vocabulary.wording import Wording, WordingMatch, any_of, expect_exact, expect_one_of
