"""A grader for socket-programming assignments: UDP, TCP, minichat and mytalk.

Cases import their vocabulary from here, and only from here (docs/writing-checks.md):

    from grader import check, CheckFailure, Wording, expect_exact

Like pytest's own __init__, this module is the public surface; everything else in the package
is the harness. Names are imported on first use, so `import grader` (the `grade` command,
its workers) stays as cheap as it was.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> (module, attribute); attribute None: the module itself.
_EXPORTS = {
    # declaring a check
    "check": (".checks", "check"),
    "CheckFailure": (".case", "CheckFailure"),
    # texts the handout fixes, bytes the spec fixes
    "wording": (".wording", None),
    "Wording": (".wording", "Wording"),
    "WordingMatch": (".wording", "WordingMatch"),
    "expect_exact": (".wording", "expect_exact"),
    "expect_one_of": (".wording", "expect_one_of"),
    "any_of": (".wording", "any_of"),
    "expect_address": (".addresses", "expect_address"),
    "swapped": (".addresses", "swapped"),
    # participants and what their waits return
    "Case": (".case", "Case"),
    "Student": (".student", "Student"),
    "Program": (".program", "Program"),
    "ExitStatus": (".program", "ExitStatus"),
    "Completed": (".program", "Completed"),
    "Endpoint": (".streams", "Endpoint"),
    "Match": (".streams", "Match"),
    "first_of": (".streams", "first_of"),
    "TcpPeer": (".peers", "TcpPeer"),
    "TcpListener": (".peers", "TcpListener"),
    "UdpPeer": (".peers", "UdpPeer"),
    # topologies and protocols
    "ChatRoom": (".chatroom", "ChatRoom"),
    "talk": (".talk", None),
    "Screen": (".screen", "Screen"),
    "has_terminfo": (".screen", "has_terminfo"),
    # showing bytes in messages
    "show": (".transcript", "show"),
    "show_text": (".transcript", "show_text"),
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
    from . import talk, wording
    from .addresses import expect_address, swapped
    from .case import Case, CheckFailure
    from .chatroom import ChatRoom
    from .checks import check
    from .peers import TcpListener, TcpPeer, UdpPeer
    from .program import Completed, ExitStatus, Program
    from .screen import Screen, has_terminfo
    from .streams import Endpoint, Match, first_of
    from .student import Student
    from .transcript import show, show_text
    from .wording import Wording, WordingMatch, any_of, expect_exact, expect_one_of
