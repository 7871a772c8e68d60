"""One tolerance rule for every text the handout or the lecture fixes.

A `Wording` is the handout's exact text, written as a template, plus the one rule that says
which spellings of it are accepted:

- it is searched for anywhere in the output, never compared with whole lines: a label before
  it ("Reply: Hello, Client") and a missing line end (a last message printed just before the
  program exits, a waiting message flushed without its newline) are fine;
- case does not matter;
- a run of spaces matches one or two spaces; around "->" and before "(" there may be none;
- the "." or "?" that ends a sentence may be left out, and a final "?" may be a ":";
- an IPv4-mapped IPv6 address (::ffff:127.0.0.1) is that IPv4 address;
- parts marked optional may be left out, and marked extras may be added.

Whatever passes the rule but is not the handout's exact text is a deviation: a warning, and a
failure under --strict. Only substance fails: the names, ports, bytes and order the spec fixes
(the fields of a template; the checks compare their values). Every Wording can say all this in
plain words for a student (`describe`): no regular expression ever reaches a message.

Template syntax: `{name}` is a field (see the Field constructors below), `[text]` is a part of
the handout's text that may be left out, `[+text]` is an extra the handout does not have but
students may add. Everything else is literal text.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Union

from .case import CheckFailure
from .transcript import show, show_text

if TYPE_CHECKING:      # pragma: no cover
    from .streams import Endpoint

_MAPPED = re.compile(r"::ffff:", re.IGNORECASE)
_IPV4 = r"\d{1,3}(?:\.\d{1,3}){3}"


def unmap(address: str) -> str:
    """An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is that IPv4 address."""
    m = re.fullmatch(r"(?:0{0,4}:){0,5}:?ffff:(" + _IPV4 + ")", address, re.IGNORECASE)
    return m.group(1) if m else address


@dataclass(frozen=True)
class Field:
    """A variable part of a template: how it is matched, normalised and described."""

    regex: str
    words: str                                   # e.g. 'the port, a number'
    normalize: Callable[[str], str] = lambda s: s


def number(words: str = "a number") -> Field:
    return Field(r"(?<!\d)\d+(?!\d)", words)


def address(words: str = "an IPv4 address such as 127.0.0.1") -> Field:
    return Field(r"(?:::ffff:)?" + _IPV4, words + " (an IPv4-mapped IPv6 address such as "
                 "::ffff:127.0.0.1 counts as that address)", unmap)


def name(words: str = "a name") -> Field:
    """A run of characters without spaces or "@"."""
    return Field(r"[^\s@]*", words)


def host(words: str = "a host name or an address") -> Field:
    """A host name or an address; a sentence's final "." after it is not part of it."""
    return Field(r"(?:::ffff:)?[^\s.]+(?:\.[^\s.]+)*", words, unmap)


def choice(*options: str, words: Optional[str] = None) -> Field:
    """One of the given spellings (in any case); dotted addresses also IPv4-mapped."""
    alts = []
    for opt in options:
        alt = re.escape(opt)
        if re.fullmatch(_IPV4, opt):
            alt = r"(?:::ffff:)?" + alt
        if opt[:1].isalnum():
            alt = r"(?<![\w.])" + alt
        if opt[-1:].isalnum():
            alt = alt + r"(?![\w])"
        alts.append(alt)
    canon = {o.lower(): o for o in options}
    said = " or ".join(f'"{o}"' for o in options)
    return Field("(?:" + "|".join(alts) + ")", words or f"{said}",
                 lambda s: canon.get(unmap(s).lower(), unmap(s)))


# -- templates --------------------------------------------------------------------------------

@dataclass
class _Lit:
    text: str


@dataclass
class _Field:
    name: str


@dataclass
class _Opt:
    parts: list
    extra: bool          # not in the handout's text


def _parse(template: str) -> list:
    """Template -> parts; spaces just before an optional part belong to it."""
    out: list = []
    stack: List[list] = [out]
    i = 0
    while i < len(template):
        c = template[i]
        if c == "{":
            j = template.index("}", i)
            stack[-1].append(_Field(template[i + 1:j]))
            i = j + 1
        elif c == "[":
            extra = template[i + 1:i + 2] == "+"
            opt = _Opt([], extra)
            cur = stack[-1]
            if cur and isinstance(cur[-1], _Lit) and cur[-1].text.endswith(" "):
                stripped = cur[-1].text.rstrip(" ")
                opt.parts.append(_Lit(cur[-1].text[len(stripped):]))
                cur[-1].text = stripped
            cur.append(opt)
            stack.append(opt.parts)
            i += 2 if extra else 1
        elif c == "]":
            stack.pop()
            i += 1
        else:
            cur = stack[-1]
            if cur and isinstance(cur[-1], _Lit):
                cur[-1].text += c
            else:
                cur.append(_Lit(c))
            i += 1
    return out


def _lit_regex(text: str, at_end: bool, loose: bool) -> str:
    """The rule applied to one piece of literal text."""
    if loose:        # letters and digits only, anything in between: for diagnosis
        return "".join(re.escape(c) + r"[\W_]*" for c in text if c.isalnum())
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == " " or text.startswith("->", i):
            j = i
            while j < len(text) and text[j] == " ":
                j += 1
            if text.startswith("->", j):
                k = j + 2
                while k < len(text) and text[k] == " ":
                    k += 1
                out.append(" {0,2}-> {0,2}")
                i = k
                continue
            nxt = text[j:j + 1]
            out.append(" {0,2}" if nxt == "(" else " {1,2}")
            i = j
            continue
        ends_sentence = c in ".?" and (i + 1 == len(text) and at_end or text[i + 1:i + 2] == " ")
        if ends_sentence:
            out.append(r"\.?" if c == "." else r"[?:]?")
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _regex(parts: list, fields: Dict[str, Field], loose: bool = False) -> str:
    out = []
    for n, part in enumerate(parts):
        at_end = n + 1 == len(parts) or isinstance(parts[n + 1], _Opt)
        if isinstance(part, _Lit):
            out.append(_lit_regex(part.text, at_end, loose))
        elif isinstance(part, _Field):
            out.append(f"(?P<{part.name}>{fields[part.name].regex})")
        else:
            out.append("(?:" + _regex(part.parts, fields, loose) + ")?")
    return "".join(out)


def _render(parts: list, values: Dict[str, str], extras: bool = False) -> str:
    out = []
    for part in parts:
        if isinstance(part, _Lit):
            out.append(part.text)
        elif isinstance(part, _Field):
            out.append(values.get(part.name, part.name.upper()))
        elif not part.extra or extras:
            out.append(_render(part.parts, values, extras))
    return "".join(out)


def _optionals(parts: list, found: list) -> list:
    for part in parts:
        if isinstance(part, _Opt):
            found.append(part)
            _optionals(part.parts, found)
    return found


# -- the rule ---------------------------------------------------------------------------------

class WordingPattern:
    """A Wording's compiled pattern that carries its Wording (talk.ASKS and the like), so that
    waits taking a pattern can still describe it in words. The Wording travels with the object:
    re.compile hands out one shared object for equal patterns, so no table keyed by a compiled
    pattern can tell two Wordings with the same text (and different words) apart."""

    __slots__ = ("compiled", "wording")

    def __init__(self, compiled: "re.Pattern[str]", wording: "Wording"):
        self.compiled = compiled
        self.wording = wording

    @property
    def pattern(self) -> str:
        return self.compiled.pattern

    @property
    def flags(self) -> int:
        return self.compiled.flags

    def search(self, text: str, pos: int = 0) -> "Optional[re.Match[str]]":
        return self.compiled.search(text, pos)

    def match(self, text: str, pos: int = 0) -> "Optional[re.Match[str]]":
        return self.compiled.match(text, pos)

    def fullmatch(self, text: str, pos: int = 0) -> "Optional[re.Match[str]]":
        return self.compiled.fullmatch(text, pos)

    def __repr__(self) -> str:
        return f"WordingPattern({self.wording.templates!r})"


class WordingMatch:
    """What a program printed for a wording: the text, and its fields' normalised values."""

    def __init__(self, wording: "Wording", m: "re.Match[str]"):
        self.wording = wording
        self.text = m.group(0).rstrip()
        self.fields = {k: wording.fields[k].normalize(v) for k, v in m.groupdict().items()
                       if v is not None}
        self.raw = {k: v for k, v in m.groupdict().items() if v is not None}

    def __getitem__(self, key: str) -> str:
        return self.fields[key]

    def group(self, n: int = 0) -> str:
        return self.text

    @property
    def exact(self) -> str:
        """The handout's text with the values this program printed."""
        return self.wording.exact(**self.fields)

    @property
    def is_exact(self) -> bool:
        return self.text == self.exact


class Wording:
    """Text the handout fixes, with the variants the one rule tolerates.

    templates: the handout's text (several alternatives may be given, for a detector such as
    "the program asks y/n"); fields: the Field of each {name}; open_end: the program may stop
    right after this text and wait (a prompt, a waiting message), so a match at the end of the
    output so far counts at once; what: a description replacing the quoted text in messages.
    """

    def __init__(self, template: Union[str, Sequence[str]], open_end: bool = False,
                 what: Optional[str] = None, **fields: Field):
        self.templates = [template] if isinstance(template, str) else list(template)
        self.fields = fields
        self.open_end = open_end
        self.what = what
        self._parts = [_parse(t.rstrip()) for t in self.templates]
        self.regex = WordingPattern(re.compile(
            "|".join(f"(?:{_regex(p, fields)})" for p in self._parts)
            if len(self._parts) > 1 else _regex(self._parts[0], fields), re.IGNORECASE), self)
        self.loose = re.compile("|".join(f"(?:{_regex(p, fields, loose=True)})"
                                         for p in self._parts), re.IGNORECASE)
        last = self._parts[0][-1] if self._parts[0] else None
        self._fixed_end = (len(self._parts) == 1 and isinstance(last, _Lit)
                           and last.text[-1:] not in ".?")

    # -- words for students ---------------------------------------------------------------
    def exact(self, **values: str) -> str:
        """The handout's exact text (the first template), fields filled in where known."""
        return _render(self._parts[0], values).rstrip()

    def describe(self) -> str:
        """The expected text and the tolerated variants, in plain words."""
        if self.what:
            return self.what
        texts = " or ".join(f'"{_render(p, {})}"' for p in self._parts)
        rules = ["any case, anywhere in the output"]
        joined = " ".join(self.templates)
        if " " in joined.replace(" (", "").replace(" ->", "").replace("-> ", ""):
            rules.append("one or two spaces between words")
        if "->" in joined:
            rules.append('spaces around "->" or none')
        if " (" in joined:
            rules.append('a space before "(" or none')
        if re.search(r"\.( |\]|$)", joined):
            rules.append('a "." ending a sentence may be left out')
        if re.search(r"\?( |\]|$)", joined):
            rules.append('"?" may be ":" or left out')
        for opt in (o for p in self._parts for o in _optionals(p, [])):
            piece = _render(opt.parts, {}, extras=True).strip()
            rules.append(f'"{piece}" may be added' if opt.extra else f'"{piece}" may be left out')
        for fname, f in self.fields.items():
            rules.append(f"{fname.upper()} is {f.words}")
        return f"{texts} ({'; '.join(rules)})"

    def hint_for(self, seen: str, hint: Optional[str]) -> Optional[str]:
        """The hint for a failure, chosen by what was printed instead."""
        if not seen.strip():
            return hint
        m = self.loose.search(seen)
        if m:
            return (f"your text has the right words but not the handout's spacing or "
                    f"punctuation: \"{show_text(m.group(0).strip())}\" should read "
                    f"\"{self.exact()}\" (one or two spaces between words are fine)")
        return hint

    # -- matching ---------------------------------------------------------------------------
    def search(self, text: str) -> Optional[WordingMatch]:
        m = self.regex.search(text)
        return WordingMatch(self, m) if m else None

    def _settled(self, m: "re.Match[str]", text: str, ended: bool) -> bool:
        """Nothing arriving later can change this match."""
        return self.open_end or ended or m.end() < len(text) or self._fixed_end

    def expect(self, endpoint: "Endpoint", hint: Optional[str] = None,
               timeout: Optional[float] = None, deviation: bool = True) -> WordingMatch:
        """Wait for this wording in endpoint's output; a variant is reported as a deviation."""
        def find(data: bytes):
            text, raw_end = _decoded(endpoint, data)
            m = self.regex.search(text)
            if m is None:
                return None
            settled = self._settled(m, text, endpoint.output_ended)
            return (m, settled), (raw_end(m.end()) if settled else 0)

        try:
            m, settled = endpoint._wait(find, "the text " + self.describe(), timeout, hint)
        except CheckFailure as failure:
            raise self._failure(endpoint, failure, hint) from None
        if not settled:
            m = self._settle(endpoint)
        seen = WordingMatch(self, m)
        if deviation and not seen.is_exact:
            endpoint.case.deviation(f"{endpoint.name} printed \"{show_text(seen.text)}\"; "
                                    f"the handout's text is \"{show_text(seen.exact)}\"")
        return seen

    def _settle(self, endpoint: "Endpoint") -> "re.Match[str]":
        """A match at the very end of the output so far, which more output could still extend
        (a missing final period, a number): the last-resort quiet period lets the rest come."""
        start = time.monotonic()
        deadline = start + endpoint.settings.quiet_period
        while True:
            data = bytes(endpoint._buf)
            text, raw_end = _decoded(endpoint, data)
            found = self.regex.search(text)   # still there: more output only extends it
            if found is None:
                raise CheckFailure(f"the text {self.describe()} went away")   # cannot happen
            m = found
            if self._settled(m, text, endpoint.output_ended) or time.monotonic() >= deadline:
                break
            endpoint._read_more(deadline - time.monotonic())
        endpoint.case.waited_s += time.monotonic() - start
        endpoint._consume(raw_end(m.end()))
        return m

    def _failure(self, endpoint, failure: CheckFailure, hint) -> CheckFailure:
        """The failure in words, with the hint chosen by what the program printed instead."""
        text, _ = _decoded(endpoint, bytes(endpoint._buf))
        from .peers import SocketEndpoint
        peer = isinstance(endpoint, SocketEndpoint)   # a reference peer: the student's program
        status = None if not hasattr(endpoint, "alive") or endpoint.alive else endpoint.status
        if status is not None:
            ended = (endpoint.ended_text() if hasattr(endpoint, "ended_text")
                     else f"ended ({status})")
            msg = f"{endpoint.name} {ended} without printing {self.describe()}"
        elif endpoint.output_ended:
            msg = (f"your program closed the connection without sending {self.describe()}"
                   if peer else f"{endpoint.name} closed its output without printing "
                   f"{self.describe()}")
        else:       # the deadline, or the wait saw why nothing more can come: its words
            return CheckFailure(str(failure), self.hint_for(text, hint))
        msg += (f"; {'your program sent' if peer else 'it printed'} "
                + (f"\"{show_text(text)}\"" if text else "nothing"))
        return CheckFailure(msg, self.hint_for(text, hint))


def _decoded(endpoint, data: bytes):
    """(text as a reader sees it, a function from a text offset to the raw bytes used)."""
    text = data.decode("utf-8", "surrogateescape")
    crlf = getattr(endpoint, "crlf", False)
    if crlf:
        text = text.replace("\r\n", "\n")

    def raw_end(offset: int) -> int:
        consumed = text[:offset]
        if crlf:
            consumed = consumed.replace("\n", "\r\n")
        return min(len(consumed.encode("utf-8", "surrogateescape")), len(data))
    return text, raw_end


def lookup(want) -> Optional[Wording]:
    """The Wording a pattern came from (None for any other pattern)."""
    if isinstance(want, Wording):
        return want
    return want.wording if isinstance(want, WordingPattern) else None


def describe(want) -> str:
    """What is expected, in words: a text, a wording, or (last resort) a pattern spelled out."""
    w = lookup(want)
    if w is not None:
        return w.describe()
    if isinstance(want, re.Pattern):
        return "text like \"" + _spell(want.pattern) + "\""
    if isinstance(want, bytes):
        return '"' + show(want) + '"'
    return '"' + show_text(str(want)) + '"'


def _spell(pattern: str) -> str:
    """A pattern nobody turned into a Wording, spelled without regular-expression syntax."""
    s = re.sub(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)", lambda m: m.group(1).upper(), pattern)
    s = re.sub(r"\\b|\^|\$|\(\?[:=!<]+|[()]|\[[^\]]*\][*+?]?|\{\d*,?\d*\}|[*+?]", "", s)
    s = re.sub(r"\\(.)", r"\1", s)
    return s.strip() or "text of the expected form"


# -- bytes the spec fixes: substance, exact, with a hint chosen by what came instead -----------

def expect_exact(endpoint: "Endpoint", want: bytes, hint: Optional[str] = None,
                 sent: Optional[bytes] = None) -> bytes:
    """The next bytes must be exactly want (bytes are substance: no tolerance). On a failure the
    hint says what went wrong: nothing came, the message it was sent came back (an echo),
    something came before it (a prefix), only part of it came, or it came without its newline.
    sent: what the program was sent just before, to recognise an echo."""
    try:
        return endpoint.expect_bytes(want, hint=hint)
    except CheckFailure as failure:
        got = endpoint._shown(bytes(endpoint._buf))
        message = str(failure)
        from .peers import SocketEndpoint
        if isinstance(endpoint, SocketEndpoint) and endpoint.output_ended:
            message = (f"your program closed the connection before {endpoint.name} received "
                       f"\"{show(want, 60)}\"; it had sent " + (f"\"{show(got)}\"" if got
                                                                else "nothing"))
        raise CheckFailure(message, bytes_hint(want, got, sent, hint)) from None


def bytes_hint(want: bytes, got: bytes, sent: Optional[bytes],
               hint: Optional[str]) -> Optional[str]:
    body = want.rstrip(b"\n")
    if not got:
        return hint
    if sent and sent != want and got.startswith(sent.rstrip(b"\n")):
        return (f"what arrived is the message your program was sent (\"{show(sent)}\"), sent "
                f"back: send \"{show(want)}\" instead")
    at = got.find(body) if body else -1
    if at > 0:
        return (f"\"{show(got[:at])}\" came before the expected bytes: send only "
                f"\"{show(want)}\", with nothing added")
    if at == 0 and want.endswith(b"\n") and got[len(body):len(body) + 1] not in (b"", b"\n"):
        return ("the message arrived without its newline: send the bytes exactly as they "
                "were read, newline included")
    if want.startswith(got):
        return (f"only the first {len(got)} of {len(want)} bytes arrived: send everything "
                "(the whole length read() or recv() returned, until send() has taken it all)")
    if got.lower().startswith(body.lower()):
        return f"the bytes differ in case: send exactly \"{show(want)}\""
    return hint
