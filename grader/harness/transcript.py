"""What every participant of a case sent and received, in order, for failure reports."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Union

MAX_EVENTS = 60          # the newest events kept in a report
MAX_EVENT_CHARS = 300    # one event's text is cut after this many characters


LEGEND = ("(→ typed into your program, or sent to it by a reference peer; ← printed by your "
          "program, or received from it by a reference peer; · a note)")


def show(data: Union[bytes, str], limit: int = MAX_EVENT_CHARS) -> str:
    """Bytes as a readable, single-line, escape-free literal: safe for any report format.

    Only what will be shown is escaped (a flood arrives in many large chunks). Text decoded
    with surrogateescape shows its undecodable bytes as \\xNN, never as \\udcNN.
    """
    if isinstance(data, str):
        try:
            raw = data.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:        # a surrogate that stands for no byte
            raw = data.encode("utf-8", "replace")
    else:
        raw = data
    text = raw[:limit * 4].decode("utf-8", "surrogateescape")
    out = []
    for ch in text:
        if 0xDC80 <= ord(ch) <= 0xDCFF:      # an undecodable byte
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            out.append("\ufffd")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    s = "".join(out)
    return s if len(s) <= limit else s[:limit] + f"… ({len(data)} bytes)"


def show_text(text: str, limit: int = MAX_EVENT_CHARS) -> str:
    """Text that may hold undecodable bytes (surrogateescape), shown as show() shows bytes."""
    return show(text, limit)


@dataclass
class Transcript:
    start: float = field(default_factory=time.monotonic)
    events: list[tuple[float, str, str, str]] = field(default_factory=list)
    dropped: int = 0

    def add(self, who: str, arrow: str, what: str) -> None:
        """Record an event: arrow '→' (the grader sent it to who), '←' (who produced it), '·'."""
        self.events.append((time.monotonic() - self.start, who, arrow, what))
        if len(self.events) > 4 * MAX_EVENTS:
            self.dropped += len(self.events) - MAX_EVENTS
            del self.events[:-MAX_EVENTS]

    def data(self, who: str, arrow: str, data: bytes) -> None:
        self.add(who, arrow, '"' + show(data) + '"')

    def render(self) -> str:
        events = self.events[-MAX_EVENTS:]
        hidden = self.dropped + len(self.events) - len(events)
        width = max((len(e[1]) for e in events), default=0)
        lines = [LEGEND if events else "", f"… {hidden} earlier events" if hidden else ""]
        lines += [f"{t:7.3f}s {who:<{width}} {arrow} {what}" for t, who, arrow, what in events]
        return "\n".join(line for line in lines if line)
