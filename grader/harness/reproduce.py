"""How to watch a failed check happen by hand, built from what the check did (its steps).

    reproduce by hand: in one terminal `grade peer asgn5 server -N -a 4000`, in another
    `./mytalk -N localhost 4000`; type "hello" in mytalk; type "no newline" (no Enter), ^D in
    mytalk

A check records its steps as it runs them (case.py, Step): the programs it started and
their arguments, the reference peers that took part, what was typed into a program (lines, a
half line without Enter, ^D, ^C) or sent by a peer, and a peer closing its connection. The
printed transcript is not read: it is cut to its newest events and escapes what it shows.
The reference program is started with `grade peer`, which works wherever `grade` does; the
manifest's `reference` names its role in its last argument ("server" or "client"), swapped for
the other one, and a reference without one is not offered for the other side. The port
becomes 4000 (a fixed port stays as it is), the scratch path of the program ./PROGRAM, and
the reference peers' own host name or address localhost.
"""
from __future__ import annotations

import shlex
from typing import Iterable, Optional

from .assignments import CASES_DIR, Assignment
from .case import Step
from ..settings import Settings
from .transcript import show

PORT = "4000"
MAX_SHOWN = 8            # typed lines, half lines, ^D and ^C shown before "…"
_KEYS = {"eof": "^D", "interrupt": "^C", "close": "^D"}   # a peer closing: ^D in the reference


def describe(steps: Iterable[Step], assignment: Assignment) -> str:
    """One or two sentences; empty when the steps do not show how the check ran."""
    try:
        return _describe(list(steps), assignment)
    except Exception:   # noqa: BLE001 - advice only: never worth failing a grading for
        return ""


def _client_argv(argv: list[str]) -> bool:
    """mytalk's argv names a host when it is the client."""
    return len([a for a in argv[1:] if not a.startswith("-")]) >= 2


def _describe(steps: list[Step], assignment: Assignment) -> str:
    programs: dict[str, list[str]] = {}
    ran: Optional[list[str]] = None
    peers: list[str] = []
    for s in steps:
        if s.kind == "start":
            programs.setdefault(s.who, list(s.argv))
        elif s.kind == "run" and ran is None:
            ran = list(s.argv)
        elif s.kind == "peer" and s.who not in peers:
            peers.append(s.who)
    if ran is not None and not programs:
        return f"reproduce by hand: run `{_command(ran, assignment)}` and compare its output"
    if not programs:
        return ""
    peers = [p for p in peers if p not in programs]
    first = next(iter(programs.values()))
    reference = _reference(assignment, first) if peers else None
    student = " then ".join(f"`{_command(argv, assignment)}`" for argv in programs.values())
    named = "the reference"
    if peers:
        more = f" (one per peer: {len(peers)} terminals)" if len(peers) > 1 else ""
        student_serves = assignment.role == "server" or (
            assignment.role == "both" and not _client_argv(first))
        # A reference that cannot play the other side is never offered for it (it would be a
        # second server): a program of the student's own stands in.
        other = "client" if student_serves else "server"
        peer = f"`{reference}`" if reference else f"a {other} of your own"
        named = "the reference" if reference else f"the {other}"
        if student_serves:       # the student's server must be running before the reference
            where = [f"in one terminal {student}", f"in another {peer}{more}"]
        else:
            where = [f"in one terminal {peer}{more}", f"in another {student}"]
    else:
        where = ["run " + ", then in another terminal ".join(
            f"`{_command(argv, assignment)}`" for argv in programs.values())]
    text = "reproduce by hand: " + ", ".join(where)
    actions = _actions(steps, programs, peers, named)
    return text + ("; " + "; ".join(actions) if actions else "")


def _actions(steps: list[Step], programs: dict[str, list[str]], peers: list[str],
             other: str) -> list[str]:
    """What was typed where, in the order it happened: `type "a", ^D in mytalk`."""
    groups: list[tuple[str, list[str]]] = []
    shown = 0
    for s in steps:
        if s.who in programs:
            place = s.who
        elif s.who in peers:
            place = other if len(peers) == 1 else f"{other} {s.who}"
        else:
            continue
        items = _typed(s, s.who in programs)
        if not items:
            continue
        if shown >= MAX_SHOWN:
            groups[-1][1].append("…")
            break
        items = items[:MAX_SHOWN - shown]
        shown += len(items)
        if groups and groups[-1][0] == place:
            groups[-1][1].extend(items)
        else:
            groups.append((place, items))
    return [f"type {', '.join(items)} in {place}" for place, items in groups]


def _typed(step: Step, program: bool) -> list[str]:
    """A step as keys a person presses: lines, a half line (no Enter), ^D, ^C.

    A program's terminal gets everything; a reference peer's bytes without a line end are its
    protocol (a login name, "ok"), which the reference program sends by itself.
    """
    if step.kind in _KEYS and (program or step.kind == "close"):
        return [_KEYS[step.kind]]
    if step.kind != "type":
        return []
    lines = step.text.split("\n")
    items = [f'"{show(line)}"' for line in lines[:-1]]
    if lines[-1] and program:
        items.append(f'"{show(lines[-1])}" (no Enter)')
    return items


def _command(argv: list[str], assignment: Assignment) -> str:
    """The program's command line as a student types it: ./PROGRAM, port 4000, localhost."""
    port = _port_of(argv, assignment)
    defaults = Settings()
    hosts = (defaults.peer_host, defaults.peer_address)
    words = [f"./{assignment.program}"] + [
        PORT if port is not None and a == port else "localhost" if a in hosts else a
        for a in argv[1:]]
    return " ".join(shlex.quote(w) for w in words)


def _port_of(argv: list[str], assignment: Assignment) -> Optional[str]:
    if assignment.fixed_port is not None:
        return None
    numbers = [a for a in argv[1:] if a.isdigit() and int(a) >= 1024]
    return numbers[-1] if numbers else None


def _reference(assignment: Assignment, student_argv: list[str]) -> Optional[str]:
    """`grade peer ...`: the reference program that plays the other side of the student's."""
    if not assignment.reference:
        return None
    port = [] if assignment.fixed_port is not None else [PORT]
    if assignment.role == "both":            # mytalk: one program, both roles
        args = ["server", "-N", "-a"] if _client_argv(student_argv) else \
            ["client", "-N", "localhost"]
    else:
        if assignment.reference[-1] not in ("server", "client"):
            return None      # it runs as the assignment's program only: it cannot be the other side
        args = ["client" if assignment.role == "server" else "server"]
    return " ".join(["grade", *_cases_option(assignment), "peer", assignment.id, *args, *port])


def _cases_option(assignment: Assignment) -> list[str]:
    """`--cases DIR` for a course's own assignment: `grade peer` finds it only with it."""
    if assignment.path.parent == CASES_DIR:
        return []
    return ["--cases", shlex.quote(str(assignment.path.parent))]
