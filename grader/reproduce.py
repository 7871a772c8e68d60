"""How to watch a failed check happen by hand, derived from what the check did (its transcript).

    reproduce by hand: in one terminal `python3 -m reference.mytalk -N -a 4000`,
    in another `./mytalk -N localhost 4000`; type "hello" in mytalk

The transcript says which programs the check started with which arguments ("started: ..."),
which reference peers took part, and what was typed into the program or sent by a peer; the
manifest's `reference` says which reference program plays the other side: its last argument
names the role ("server" or "client") and is swapped for the other one. A reference without
a role argument cannot play the other side, and is not offered for it. The port becomes 4000
(a fixed port stays as it is) and the scratch path of the program becomes ./PROGRAM.
"""
from __future__ import annotations

import re
import shlex
from typing import Optional

from .assignments import Assignment
from .results import Check

PORT = "4000"
MAX_TYPED = 3
_EVENT = re.compile(r"^\s*\d+\.\d+s (\S+)\s+(→|←(?: stdout| stderr)?|·) (.*)$")


def _events(transcript: str) -> list[tuple[str, str, str]]:
    return [(m[1], m[2], m[3]) for m in map(_EVENT.match, transcript.splitlines()) if m]


def _typed(what: str) -> Optional[str]:
    """A line someone typed, as the transcript shows it ("hello\\n"), without the newline."""
    if what in ("^D", "^C", "(end of input)"):
        return what.strip("()")
    if len(what) >= 2 and what[0] == what[-1] == '"' and what.endswith('\\n"'):
        return what[1:-3]
    return None


def _closed(note: str, peer: bool) -> Optional[str]:
    """A reference peer closing its connection: in the reference program, that is ^D."""
    return "^D" if peer and note == "closes the connection" else None


def _client_argv(argv: list[str]) -> bool:
    """mytalk's argv names a host when it is the client."""
    return len([a for a in argv[1:] if not a.startswith("-")]) >= 2


def describe(check: Check, assignment: Assignment) -> str:
    """One or two sentences; empty when the transcript does not show how the check ran."""
    try:
        return _describe(check, assignment)
    except Exception:   # noqa: BLE001 - advice only: never worth failing a grading for
        return ""


def _describe(check: Check, assignment: Assignment) -> str:
    events = _events(check.transcript)
    programs: dict[str, list[str]] = {}
    ran: Optional[list[str]] = None
    for who, arrow, what in events:
        if arrow == "·" and what.startswith(("started: ", "ran: ")):
            argv = what.split(": ", 1)[1].split(" ")
            if what.startswith("ran: "):
                ran = argv
            else:
                programs.setdefault(who, argv)
    if ran is not None and not programs:
        return f"reproduce by hand: run `{_command(ran, assignment)}` and compare its output"
    if not programs:
        return ""
    peers = [who for who, arrow, what in events
             if who not in programs and who != "grader" and arrow in ("→", "←")]
    peers = list(dict.fromkeys(peers))
    commands = {who: _command(argv, assignment) for who, argv in programs.items()}
    reference = _reference(assignment, next(iter(programs.values()))) if peers else None
    student = " then ".join(f"`{c}`" for c in commands.values())
    student_serves = assignment.role == "server" or (
        assignment.role == "both" and not _client_argv(next(iter(programs.values()))))
    other = "client" if student_serves else "server"
    if peers:
        more = f" (one per peer: {len(peers)} terminals)" if len(peers) > 1 else ""
        # A reference that cannot play the other side is never offered for it (it would
        # be a second server): the student's own program, or any, stands in.
        peer = f"`{reference}`" if reference else f"a {other} of your own"
        if student_serves:       # the student's server must be running before the reference
            steps = [f"in one terminal {student}", f"in another {peer}{more}"]
        else:
            steps = [f"in one terminal {peer}{more}", f"in another {student}"]
    else:
        steps = ["run " + ", then in another terminal ".join(f"`{c}`" for c in commands.values())]
    typed = []
    for who in list(programs) + peers:
        lines = [t for w, arrow, what in events if w == who and arrow in ("→", "·")
                 for t in [_typed(what) if arrow == "→" else _closed(what, who in peers)]
                 if t is not None]
        if lines:
            shown = ", ".join(f'"{t}"' if t not in ("^D", "^C", "end of input") else t
                              for t in lines[:MAX_TYPED])
            shown += ", …" if len(lines) > MAX_TYPED else ""
            place = who if who in programs else "the reference" if reference else f"the {other}"
            typed.append(f"type {shown} in {place}")
    text = "reproduce by hand: " + ", ".join(steps)
    if typed:
        text += "; " + "; ".join(dict.fromkeys(typed))
    return text


def _command(argv: list[str], assignment: Assignment) -> str:
    """The program's command line as a student types it: ./PROGRAM, port 4000."""
    port = _port_of(argv, assignment)
    words = [f"./{assignment.program}"] + [PORT if port is not None and a == port else a
                                           for a in argv[1:]]
    return " ".join(shlex.quote(w) for w in words)


def _port_of(argv: list[str], assignment: Assignment) -> Optional[str]:
    if assignment.fixed_port is not None:
        return None
    numbers = [a for a in argv[1:] if a.isdigit() and int(a) >= 1024]
    return numbers[-1] if numbers else None


def _reference(assignment: Assignment, student_argv: list[str]) -> Optional[str]:
    """The reference program that plays the other side of the student's program."""
    if not assignment.reference:
        return None
    ref = list(assignment.reference)
    port = [] if assignment.fixed_port is not None else [PORT]
    if assignment.role == "both":            # mytalk: one program, both roles
        if _client_argv(student_argv):
            return " ".join(["python3", *ref, "-N", "-a", *port])
        return " ".join(["python3", *ref, "-N", "localhost", *port])
    other = "client" if assignment.role == "server" else "server"
    if ref[-1] not in ("server", "client"):
        return None      # it runs as the assignment's program only: it cannot be the other side
    ref[-1] = other
    return " ".join(["python3", *ref, *port])
