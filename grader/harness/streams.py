"""The expect vocabulary shared by every participant: the student's program and reference peers.

An Endpoint buffers what a participant produced and lets a case wait, with a deadline, for a
line, a text, exact bytes, the end of the stream, or (through a barrier) for proof of silence.
Every wait ends at the event it waits for; only a wrong program makes it run to its deadline.

The verbs without a leading underscore are the vocabulary of checks (docs/writing-checks.md
says what each consumes); the names with one are the harness's plumbing (waiting.py, screen.py,
wording.py and the chat room read, fill and drain buffers through them).
"""
from __future__ import annotations

import re
import select
import time
from typing import Any, Callable, Optional, TypeVar, Union

from .case import Case, CheckFailure
from .expectations import Searchable, describe
from .transcript import show
from .waiting import Waiter

Want = Union[str, "re.Pattern[str]", Searchable]
T = TypeVar("T")


def _matches(want: Want, line: str, search: bool = False) -> bool:
    if not isinstance(want, str):
        return bool(want.search(line))
    return want in line if search else line == want


class Match:
    """What `expect` found, like the WordingMatch `expect_wording` returns: the text, and the
    named parts of a pattern (m["port"])."""

    def __init__(self, text: str, fields: Optional[dict[str, Optional[str]]] = None):
        self.text = text
        self.fields = {k: v for k, v in (fields or {}).items() if v is not None}

    def __getitem__(self, key: str) -> str:
        return self.fields[key]

    def group(self, n: int = 0) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Match({self.text!r})"


class Endpoint:
    """A participant whose output the grader reads. Subclasses supply _read and _write."""

    crlf = False   # a pty turns "\n" into "\r\n"; lines are compared without the "\r"
    # A terminal line may hold more than the awaited text (a prompt the user answered on
    # that line, a label): there a line is searched. Bytes on a socket are compared whole.
    line_search = False

    @property
    def in_flight_grace(self) -> float:
        """After the programs ended, how long their last bytes may still be on the way here."""
        return 0.0

    def __init__(self, case: Case, name: str):
        self.case, self.name = case, name
        self.settings = case.settings
        self._buf = bytearray()
        self._eof = False
        self._received = 0              # every byte produced, kept or not
        self._truncated = False
        # Bytes that may come first and are then dropped with a warning (see allow_stray).
        self._stray: Optional[tuple[bytes, str]] = None
        # Set by the fixture that knows the topology: make a fresh token reach this endpoint
        # through the same path as any other data, and return it.
        self._barrier: Optional[Callable[[], str]] = None

    # -- for subclasses ------------------------------------------------------------------
    def _read(self, timeout: float) -> Optional[bytes]:
        """Bytes available within timeout; b"" at end of stream; None if nothing came."""
        raise NotImplementedError

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def fileno(self) -> int:
        """The descriptor that becomes readable when this participant produces output."""
        raise NotImplementedError

    # -- reading -------------------------------------------------------------------------
    @property
    def output_ended(self) -> bool:
        """The participant's output is closed: nothing more can arrive."""
        return self._eof

    def _fill(self, timeout: float) -> bool:
        """Take in what arrives within timeout; False when nothing did (or nothing can)."""
        if self._eof:
            return False
        data = self._read(max(timeout, 0.0))
        if data is None:
            return False
        if data == b"":
            self._eof = True
            self.case.transcript.add(self.name, "←", "(end of stream)")
            return True
        self._received += len(data)
        room = self.settings.output_cap - len(self._buf)
        if room < len(data):
            if not self._truncated:
                self.case.note(f"{self.name}: output truncated at {self.settings.output_cap} bytes")
            self._truncated = True
        kept = data[:max(room, 0)]
        shown = self._keep(kept)
        if shown:     # what was not kept is not shown either, so the note above stays in view
            self.case.transcript.data(self.name, "←", self._shown(shown))
        return True

    def _keep(self, data: bytes) -> bytes:
        """Add what arrived to what waits read; return what the transcript shows of it."""
        self._buf += data
        return data

    def _wait(self, find: Callable[[bytes], Optional[tuple[T, int]]], what: str,
              timeout: Optional[float], hint: Optional[str] = None) -> T:
        """Wait until find(buffer) returns (result, bytes consumed); fail at EOF or the deadline.

        Ends at once when no program of the case can produce the event any more (it ended,
        or it is stuck waiting for input the check will not send): see grader.harness.waiting.
        """
        timeout = self.settings.expect_timeout if timeout is None else timeout
        waiter = Waiter(self.case, timeout, own=self, grace=self.in_flight_grace)
        seen = None
        while True:
            state = (len(self._buf), self._eof)
            if state != seen:
                seen = state
                found = find(bytes(self._buf))
                if found is not None:
                    result, used = found
                    self._consume(used)
                    return result
            if self._eof:
                raise CheckFailure(self._ended_before(what), hint)
            if waiter.remaining <= 0:
                raise CheckFailure(f"expected {what} from {self.name} within {timeout:g}s; "
                                   f"got: {self._pending()}", hint)
            why = waiter.obstacle()
            if why is not None:
                self._take_available()
                if (len(self._buf), self._eof) == seen:
                    raise CheckFailure(f"expected {what} from {self.name}, but {why}; "
                                       f"{self.name} got: {self._pending()}", hint)
                continue
            if waiter.pump():     # all that is there, so a flood is not searched chunk by chunk
                self._take_available()

    def _consume(self, used: int) -> None:
        """What a wait matched is gone from the buffer: the next wait starts after it."""
        del self._buf[:used]

    def _ended_before(self, what: str) -> str:
        """Why nothing more can come: this participant's output has ended."""
        return (f"{self.name} ended its output before {what}; "
                f"it had sent: {self._pending()}")

    def _pending(self) -> str:
        if not self._buf:
            return "nothing"
        text = '"' + show(self._shown(bytes(self._buf))) + '"'
        if self._truncated:
            text += (f" (output truncated at {self.settings.output_cap} bytes; "
                     f"{self._received} bytes received)")
        return text

    def _shown(self, data: bytes) -> bytes:
        """Output as a reader should see it: a pty's "\r\n" is just a line end."""
        return data.replace(b"\r\n", b"\n") if self.crlf else data

    def _lines(self, data: bytes):
        """Complete lines in data as (text, end offset)."""
        start = 0
        while True:
            nl = data.find(b"\n", start)
            if nl < 0:
                return
            raw = data[start:nl]
            if self.crlf and raw.endswith(b"\r"):
                raw = raw[:-1]
            yield raw.decode("utf-8", "surrogateescape"), nl + 1
            start = nl + 1

    def expect_line(self, want: Want, timeout: Optional[float] = None,
                    hint: Optional[str] = None) -> str:
        """Wait for a line holding want (matching a pattern); earlier lines are skipped."""
        def find(data: bytes):
            for line, end in self._lines(data):
                if _matches(want, line, self.line_search):
                    return line, end
            return None
        return self._wait(find, f"a line {describe(want)}", timeout, hint)

    def expect(self, want: Want, timeout: Optional[float] = None,
               hint: Optional[str] = None) -> "Match":
        """Wait for text anywhere in the output (not only whole lines); returns the Match.

        Consumes the output up to the end of the match: what follows it stays for the next wait.
        """
        def find(data: bytes):
            text = data.decode("utf-8", "surrogateescape")
            if self.crlf:
                text = text.replace("\r\n", "\n")
            if not isinstance(want, str):
                m = want.search(text)
                hit = (Match(m.group(0), m.groupdict()), m.end()) if m else None
            else:
                i = text.find(want)
                hit = (Match(want), i + len(want)) if i >= 0 else None
            if hit is None:
                return None
            consumed = text[:hit[1]]
            if self.crlf:
                consumed = consumed.replace("\n", "\r\n")
            used = len(consumed.encode("utf-8", "surrogateescape"))
            return hit[0], min(used, len(data))
        return self._wait(find, f"the text {describe(want)}", timeout, hint)

    def allow_stray(self, stray: bytes, warning: str) -> None:
        """Before the next awaited bytes, `stray` may come once: dropped, with a warning.

        For a known debugging-mode artefact (the rest of a typed answer left in stdin's
        buffer), which must cost no points.
        """
        self._stray = (stray, warning)

    def _drop_stray(self, want: bytes) -> None:
        if self._stray is None or not self._buf:
            return
        stray, warning = self._stray
        if self._buf.startswith(stray) and not want.startswith(stray):
            self._stray = None
            self._consume(len(stray))
            self.case.warn(warning)
        elif len(self._buf) >= len(stray) or not stray.startswith(bytes(self._buf)):
            self._stray = None       # what came first is not the stray

    def expect_bytes(self, want: bytes, timeout: Optional[float] = None,
                     hint: Optional[str] = None) -> bytes:
        """The next len(want) bytes must be exactly want."""
        def find(data: bytes):
            if self._stray is not None:
                self._drop_stray(want)
                data = bytes(self._buf)
            common = min(len(data), len(want))
            if data[:common] != want[:common]:
                i = next(k for k in range(common) if data[k] != want[k])
                got = data[:len(want) + 1]
                raise CheckFailure(
                    f"{self.name} expected {len(want)} bytes \"{show(want)}\" and got "
                    f"\"{show(got)}\"{'…' if len(data) > len(got) else ''} (they differ from "
                    f"byte {i} on: \"{show(want[i:i + 20])}\" expected, \"{show(data[i:i + 20])}\" "
                    "came)", hint)
            return (want, len(want)) if len(data) >= len(want) else None
        return self._wait(find, f"{len(want)} bytes \"{show(want, 60)}\"", timeout, hint)

    def expect_lines(self, count: int, timeout: Optional[float] = None,
                     hint: Optional[str] = None) -> list[str]:
        """Wait for `count` more lines, whatever they say (for checks that count, not read)."""
        def find(data: bytes):
            ends = [end for _, end in self._lines(data)]
            if len(ends) < count:
                return None
            return [line for line, _ in self._lines(data[:ends[count - 1]])], ends[count - 1]
        return self._wait(find, f"{count} lines", timeout, hint)

    def expect_any(self, timeout: Optional[float] = None, hint: Optional[str] = None) -> bytes:
        """Wait for some output and return all that has arrived (e.g. one handshake packet).

        On loopback a single send() of this size arrives whole, and the sender now waits for
        our answer, so what is buffered is the whole packet.
        """
        return self._wait(lambda data: (data, len(data)) if data else None, "some data",
                          timeout, hint)

    def expect_wording(self, wording, tolerant: "Optional[Searchable]" = None,
                       hint: Optional[str] = None, timeout: Optional[float] = None):
        """Wait for text the handout fixes, accepting the variants the one rule tolerates.

        wording: a grader.vocabulary.wording.Wording (or a pattern made by one; the old form
        expect_wording(exact, pattern) still works). A variant passes with a warning (a
        failure under --strict) naming both spellings. Returns the WordingMatch.
        """
        target = tolerant if isinstance(wording, str) else wording
        found: Any = getattr(target, "wording", target)      # a Wording's pattern carries it
        if not callable(getattr(found, "expect", None)):
            raise TypeError("expect_wording needs a grader.vocabulary.wording.Wording")
        return found.expect(self, hint=hint, timeout=timeout)

    def _read_more(self, timeout: float) -> bool:
        """Take in output that arrives within timeout; False if none did."""
        return self._fill(timeout)

    def expect_closed(self, timeout: Optional[float] = None, hint: Optional[str] = None,
                      allow_data: bool = True) -> bytes:
        """Wait for the end of the stream; returns what came before it."""
        def find(data: bytes):
            return (data, len(data)) if self._eof else None
        rest = self._wait_eof(find, timeout, hint)
        if rest and not allow_data:
            raise CheckFailure(f"{self.name} received \"{show(rest)}\" before the end", hint)
        return rest

    def _wait_eof(self, find, timeout, hint) -> bytes:
        timeout = self.settings.expect_timeout if timeout is None else timeout
        waiter = Waiter(self.case, timeout, own=self, grace=self.in_flight_grace)
        while not self._eof:
            if waiter.remaining <= 0:
                raise CheckFailure(f"expected {self.name}'s connection to close within "
                                   f"{timeout:g}s; it stayed open (pending: {self._pending()})",
                                   hint)
            why = waiter.obstacle()
            if why is not None:
                self._take_available()
                if not self._eof:
                    raise CheckFailure(f"expected {self.name}'s connection to close, but {why}",
                                       hint)
            elif waiter.pump():
                self._take_available()
        return find(bytes(self._buf))[0] if self._buf else b""

    def expect_silence(self, hint: Optional[str] = None) -> None:
        """Nothing more has arrived for this participant.

        Proved with the barrier: a fresh token is sent along the same path as any data the
        program might still send here; once it arrives, anything sent earlier has arrived too.
        Without a barrier, a quiet period (a named setting) is the last resort.
        """
        if self._barrier is not None:
            token = self._barrier().encode()

            def find(data: bytes):
                i = data.find(token)
                end = data.find(b"\n", i)
                return (data[:i], end + 1) if i >= 0 and end >= 0 else None
            before = self._wait(find, f"the barrier line {token.decode()!r}", None, hint)
            if before:
                raise CheckFailure(f"{self.name} should have received nothing, but got "
                                   f"\"{show(before)}\"", hint)
            return
        start = time.monotonic()
        deadline = start + self.settings.quiet_period
        while time.monotonic() < deadline and not self._eof:
            self._fill(deadline - time.monotonic())
        self.case.waited_s += time.monotonic() - start
        if self._buf:
            raise CheckFailure(f"{self.name} should have received nothing, but got "
                               f"{self._pending()}", hint)

    def _has(self, want: Optional[Want] = None) -> bool:
        """Whether the unread output already holds want (any output at all when None)."""
        text = bytes(self._buf).decode("utf-8", "surrogateescape")
        if want is None:
            return bool(text)
        return want in text if isinstance(want, str) else bool(want.search(text))

    def _take_available(self) -> None:
        """Read what has arrived without waiting, at most output_cap bytes per call.

        A participant that writes without end must not keep the grader here.
        """
        start = self._received
        while not self._eof and self._received - start < self.settings.output_cap and self._fill(0):
            pass

    def unread(self) -> bytes:
        """What has arrived and no wait has matched yet (kept for the next wait)."""
        self._take_available()
        return bytes(self._buf)

    def _drain(self) -> bytes:
        """Everything buffered so far (consumed), without waiting."""
        self._take_available()
        data = bytes(self._buf)
        del self._buf[:]
        return data

    # -- writing -------------------------------------------------------------------------
    def send(self, data: Union[bytes, str]) -> None:
        data = data.encode() if isinstance(data, str) else data
        self.case.transcript.data(self.name, "→", data)
        self.case.step(self.name, "type", data.decode("utf-8", "surrogateescape"))
        self._write(data)

    def say(self, text: str) -> None:
        """Send one line (a newline is added)."""
        self.send(text + "\n")


def first_of(waits: dict[str, tuple[Endpoint, Optional[Want]]], timeout: float,
             hint: Optional[str] = None) -> str:
    """Wait until one of several participants shows what is wanted; return that wait's name.

    For protocols where a program may take one of two allowed paths (ask first, or answer at
    once) and the grader must follow whichever it takes without waiting out a deadline.
    """
    case = next(iter(waits.values()))[0].case
    waiter = Waiter(case, timeout)

    def failure(why: str) -> CheckFailure:
        seen = "; ".join(f"{e.name} sent {e._pending()}" for e, _ in waits.values())
        wanted = " or ".join(f"{describe(w) if w is not None else 'anything'} from {e.name}"
                             for e, w in waits.values())
        return CheckFailure(f"expected {wanted}{why}; {seen}", hint)

    def found() -> Optional[str]:
        return next((key for key, (e, want) in waits.items() if e._has(want)), None)

    while True:
        key = found()
        if key is not None:
            return key
        live = [e for e, _ in waits.values() if not e._eof]
        if not live or waiter.remaining <= 0:
            raise failure(f" within {timeout:g}s")
        why = waiter.obstacle()
        if why is not None:
            for e in live:
                e._take_available()
            key = found()
            if key is not None:
                return key
            raise failure(f", but {why}")
        ready, _, _ = select.select(live, [], [], min(case.settings.stall_poll, waiter.remaining))
        for endpoint in ready:
            endpoint._fill(0)
        waiter.pump(0)
