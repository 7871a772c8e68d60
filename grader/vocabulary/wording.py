"""One tolerance rule for every text the handout or the lecture fixes.

A `Wording` is the handout's exact text, written as a template (or several spellings, each
as good as the handout's, sharing their fields), plus the one rule that says which spellings
of it are accepted:

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
`any_of` combines alternatives (texts into one Wording; byte strings, compared exactly,
into an AnyOf), each describing itself in words ('"ok" or "yes"').

Template syntax: `{name}` is a field (see the Field constructors below), `[text]` is a part of
the handout's text that may be left out, `[+text]` is an extra the handout does not have but
students may add. Everything else is literal text.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Union

from ..harness.case import CheckFailure
from ..harness.expectations import Described, described, describe, spell  # noqa: F401
from ..harness.transcript import show, show_text

if TYPE_CHECKING:      # pragma: no cover
    from ..harness.streams import Endpoint

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


def _regex(parts: list, fields: Dict[str, Field], loose: bool = False, tag: str = "") -> str:
    """tag: appended to the group names of a second template (a pattern may not name one
    group twice, and two spellings of a text share its fields)."""
    out = []
    for n, part in enumerate(parts):
        at_end = n + 1 == len(parts) or isinstance(parts[n + 1], _Opt)
        if isinstance(part, _Lit):
            out.append(_lit_regex(part.text, at_end, loose))
        elif isinstance(part, _Field):
            if part.name not in fields:
                raise ValueError(f"the template has {{{part.name}}} but no field "
                                 f"{part.name}=... says what it is")
            out.append(f"(?P<{part.name}{tag}>{fields[part.name].regex})")
        else:
            out.append("(?:" + _regex(part.parts, fields, loose, tag) + ")?")
    return "".join(out)


_TAG = "__t"          # group name suffix of template k: NAME__tK; template k itself: __tK


def _alternatives(parts_list: List[list], fields: Dict[str, Field], loose: bool = False) -> str:
    """One pattern for several templates: each in a group of its own (so a match tells which
    spelling it is), its fields' groups renamed apart."""
    if len(parts_list) == 1:
        return _regex(parts_list[0], fields, loose)
    return "|".join(f"(?P<{_TAG}{k}>{_regex(p, fields, loose, f'{_TAG}{k}')})"
                    for k, p in enumerate(parts_list))


def _groups(m) -> Dict[str, str]:
    """A match's fields by their template names (NAME__tK is NAME), without the markers."""
    m = getattr(m, "_m", m)
    out = {}
    for key, value in m.groupdict().items():
        if value is None or key.startswith(_TAG):
            continue
        out[key.split(_TAG)[0]] = value
    return out


def _template_of(m) -> int:
    """Which template a match is a spelling of."""
    m = getattr(m, "_m", m)
    for key, value in m.groupdict().items():
        if key.startswith(_TAG) and value is not None:
            return int(key[len(_TAG):])
    return 0


class _Renamed:
    """A match of several templates shown as one: groups by their template names."""

    def __init__(self, m: "re.Match[str]"):
        self._m = m

    def groupdict(self) -> Dict[str, str]:
        return _groups(self._m)

    def group(self, *names):
        if names and isinstance(names[0], str):
            return _groups(self._m).get(names[0])
        return self._m.group(*names)

    def __getitem__(self, key):
        return self.group(key)

    def __getattr__(self, attr):
        return getattr(self._m, attr)


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
        return self._shown(self.compiled.search(text, pos))

    def match(self, text: str, pos: int = 0) -> "Optional[re.Match[str]]":
        return self._shown(self.compiled.match(text, pos))

    def fullmatch(self, text: str, pos: int = 0) -> "Optional[re.Match[str]]":
        return self._shown(self.compiled.fullmatch(text, pos))

    def _shown(self, m):
        """Several spellings: the match names its groups as the templates do."""
        return _Renamed(m) if m is not None and len(self.wording.templates) > 1 else m

    def __repr__(self) -> str:
        return f"WordingPattern({self.wording.templates!r})"


class WordingMatch:
    """What a program printed for a wording: the text, and its fields' normalised values."""

    def __init__(self, wording: "Wording", m: "Union[re.Match[str], _Near]"):
        self.wording = wording
        self.text = m.group(0).rstrip()
        self.differs = getattr(m, "differs", "")
        self.raw = _groups(m)
        self.fields = {k: wording.fields[k].normalize(v) for k, v in self.raw.items()}
        self.template = _template_of(m)      # which of the wording's spellings was printed

    def __getitem__(self, key: str) -> str:
        return self.fields[key]

    def group(self, n: int = 0) -> str:
        return self.text

    @property
    def exact(self) -> str:
        """The spelling this program printed, as declared, with the values it printed: each
        of a wording's templates is as good as the handout's (the first)."""
        return _render(self.wording._parts[self.template], self.fields).rstrip()

    @property
    def is_exact(self) -> bool:
        return self.text == self.exact and not self.differs


class Wording:
    """Text the handout fixes, with the variants the one rule tolerates.

    templates: the handout's text, or several spellings that are all as good as the
    handout's (the first is the one messages quote; a detector such as "the program asks
    y/n" lists its words); the templates share their fields; fields: the Field of each
    {name}; open_end: the program may stop right after this text and wait (a prompt, a
    waiting message), so a match at the end of the output so far counts at once; what: a
    description replacing the quoted text in messages.
    """

    def __init__(self, template: Union[str, Sequence[str]], open_end: bool = False,
                 what: Optional[str] = None, near: bool = False,
                 follows: Optional["Wording"] = None, **fields: Field):
        self.templates = [template] if isinstance(template, str) else list(template)
        self.fields = fields
        self.open_end = open_end
        self.what = what
        self.near = near            # a typo or one word more or less: a deviation (_near)
        self.follows = follows      # a text this one may directly follow on the same line
        if not self.templates:
            raise ValueError("a Wording needs at least one template")
        self._parts = [_parse(t.rstrip()) for t in self.templates]
        self.regex = WordingPattern(re.compile(_alternatives(self._parts, fields),
                                               re.IGNORECASE), self)
        self.loose = re.compile(_alternatives(self._parts, fields, loose=True), re.IGNORECASE)
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
        joined = "\n".join(self.templates)
        if " " in joined.replace(" (", "").replace(" ->", "").replace("-> ", ""):
            rules.append("one or two spaces between words")
        if "->" in joined:
            rules.append('spaces around "->" or none')
        if " (" in joined:
            rules.append('a space before "(" or none')
        if re.search(r"\.( |\]|$)", joined, re.MULTILINE):
            rules.append('a "." ending a sentence may be left out')
        if re.search(r"\?( |\]|$)", joined, re.MULTILINE):
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
        m = self.regex.search(self._masked(text))
        return WordingMatch(self, m) if m else None

    def _masked(self, text: str) -> str:
        """The text with what this one may follow on its line blanked out (as line ends, of
        the same length): "Waiting for response from HOST.HOST declined connection." holds
        the decline line although no line end comes before it."""
        if self.follows is None:
            return text
        return self.follows.regex.compiled.sub(lambda m: "\n" * len(m.group(0)), text)

    def _settled(self, m: "re.Match[str]", text: str, ended: bool) -> bool:
        """Nothing arriving later can change this match."""
        return self.open_end or ended or m.end() < len(text) or self._fixed_end

    def expect(self, endpoint: "Endpoint", hint: Optional[str] = None,
               timeout: Optional[float] = None, deviation: bool = True) -> WordingMatch:
        """Wait for this wording in endpoint's output; a variant is reported as a deviation."""
        def find(data: bytes):
            text, raw_end = _decoded(endpoint, data)
            text = self._masked(text)
            m = self.regex.search(text)
            if m is None:
                near = self._near(text, whole_lines=not endpoint.output_ended)
                return ((near, True), raw_end(near.end())) if near is not None else None
            settled = self._settled(m, text, endpoint.output_ended)
            return (m, settled), (raw_end(m.end()) if settled else 0)

        try:
            m, settled = endpoint._wait(find, "the text " + self.describe(), timeout, hint)
        except CheckFailure as failure:
            text, raw_end = _decoded(endpoint, bytes(endpoint._buf))
            near = self._near(self._masked(text), whole_lines=False)
            if near is None:
                raise self._failure(endpoint, failure, hint) from None
            endpoint._consume(raw_end(near.end()))
            m, settled = near, True
        if not settled:
            m = self._settle(endpoint)
        seen = WordingMatch(self, m)
        if deviation and not seen.is_exact:
            differs = f" ({seen.differs})" if seen.differs else ""
            endpoint.case.deviation(f"{endpoint.name} printed \"{show_text(seen.text)}\"; "
                                    f"the handout's text is \"{show_text(seen.exact)}\""
                                    f"{differs}")
        return seen

    def _near(self, text: str, whole_lines: bool) -> Optional["_Near"]:
        """The first line holding this text with one word misspelt, added or left out.

        whole_lines: only lines already ended (more output could still complete the last)."""
        if not self.near:
            return None
        start = 0
        for line in text.split("\n"):
            end = start + len(line)
            if whole_lines and end >= len(text):
                return None
            for tokens in self._token_variants():
                found = _align(tokens, line, self.fields)
                if found is not None:
                    a, b, fields, differs = found
                    return _Near(text[start + a:start + b], start + b, fields, differs)
            start = end + 1
        return None

    def _token_variants(self) -> List[List[str]]:
        """The handout's text as words, once per choice of its optional parts."""
        if not hasattr(self, "_tokens"):
            self._tokens = [_render(v, {k: "{" + k + "}" for k in self.fields}).split()
                            for v in _choices(self._parts[0])]
        return self._tokens

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
        from ..harness.peers import SocketEndpoint
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


class _Near:
    """A near match found by _align, shaped like the re.Match a WordingMatch is made from."""

    def __init__(self, text: str, end: int, fields: Dict[str, str], differs: str):
        self._text, self._end, self._fields, self.differs = text, end, fields, differs

    def group(self, n: int = 0) -> str:
        return self._text

    def groupdict(self) -> Dict[str, str]:
        return dict(self._fields)

    def end(self) -> int:
        return self._end


def _choices(parts: list) -> List[list]:
    """Every version of a template's parts: each optional part (or extra) in or out."""
    out: List[list] = [[]]
    for part in parts:
        if isinstance(part, _Opt):
            inner = _choices(part.parts)
            out = [o + i for o in out for i in inner] + out
        else:
            out = [o + [part] for o in out]
    return out


_PUNCT = ".?:"


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (small words only)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _word_cost(want: str, got: str, fields: Dict[str, Field]) -> tuple:
    """(cost, field values) of showing the handout's word `want` as `got`: 0 the same word
    (case and a sentence's final punctuation aside), 1 a typo, None a different word."""
    if "{" in want:
        pattern = re.sub(r"\\\{(\w+)\\\}",
                         lambda m: f"(?P<{m.group(1)}>{fields[m.group(1)].regex})",
                         re.escape(want.rstrip(_PUNCT)))
        m = re.fullmatch(pattern + "[.?:]?", got, re.IGNORECASE)
        return (0, {k: v for k, v in m.groupdict().items() if v is not None}) if m else (None, {})
    w, g = want.lower().rstrip(_PUNCT), got.lower().rstrip(_PUNCT)
    if w == g:
        return 0, {}
    if len(w) >= 4 and _edits(w, g) <= max(1, len(w) // 4):
        return 1, {}
    return None, {}


def _align(tokens: List[str], line: str, fields: Dict[str, Field]):
    """The handout's words found in line at a cost of exactly one word (misspelt, added or
    left out): (start, end, field values, what differs in words), or None. The same words
    at no cost are the exact rule's to judge (spacing, punctuation), not this one's."""
    words = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"\S+", line)]
    for s in range(len(words)):
        found = _align_from(tokens, words, s, fields)
        if found is not None:
            cost, e, values, differs = found
            return (words[s][0], words[e - 1][1], values, differs) if cost == 1 else None
    return None


def _align_from(tokens: List[str], words: list, s: int, fields: Dict[str, Field]):
    """tokens aligned with words from words[s], with at most one edit: the cheapest
    (cost, end word, field values, differences)."""
    results = []

    def go(i: int, j: int, cost: int, values: dict, differs: list) -> None:
        if cost > 1:
            return
        if i == len(tokens):
            if j > s:
                results.append((cost, j, dict(values), "; ".join(differs)))
            return
        if j < len(words):
            c, v = _word_cost(tokens[i], words[j][2], fields)
            if c is not None:
                note = [f'"{words[j][2]}" for "{tokens[i]}"'] if c else []
                go(i + 1, j + 1, cost + c, {**values, **v}, differs + note)
            if j > s and "{" not in tokens[i]:
                go(i, j + 1, cost + 1, values, differs + [f'"{words[j][2]}" added'])
        if "{" not in tokens[i] and i > 0:
            go(i + 1, j, cost + 1, values, differs + [f'"{tokens[i]}" left out'])
    go(0, s, 0, {}, [])
    return min(results, key=lambda r: (r[0], -r[1])) if results else None


def _decoded(endpoint, data: bytes):
    """(text as a reader sees it, a function from a text offset to the raw bytes used).

    A terminal shows nothing for a NUL byte (a string written with its terminator), so NULs
    are not part of the text a reader sees."""
    text = data.decode("utf-8", "surrogateescape")
    crlf = getattr(endpoint, "crlf", False)
    if crlf:
        text = text.replace("\r\n", "\n")
    full = text
    kept: Optional[List[int]] = None
    if "\0" in text:
        kept = [i for i, c in enumerate(full) if c != "\0"]
        text = full.replace("\0", "")

    def raw_end(offset: int) -> int:
        if kept is not None:
            offset = kept[offset - 1] + 1 if offset > 0 else 0
        consumed = full[:offset]
        if crlf:
            consumed = consumed.replace("\n", "\r\n")
        return min(len(consumed.encode("utf-8", "surrogateescape")), len(data))
    return text, raw_end


def lookup(want) -> Optional[Wording]:
    """The Wording a pattern came from (None for any other pattern)."""
    if isinstance(want, Wording):
        return want
    return want.wording if isinstance(want, WordingPattern) else None


# -- one of several: an expectation that says so ---------------------------------------------

class AnyOf:
    """Exactly one of several byte strings, next in the stream (`any_of(b"ok\\n", b"yes\\n")`):
    bytes are substance, so each is compared exactly; its description reads '"ok" or "yes"'.
    For texts, any_of gives a Wording with several spellings instead."""

    def __init__(self, options: Sequence[bytes]):
        if len(options) < 2 or not all(isinstance(o, bytes) and o for o in options):
            raise TypeError("any_of needs two or more non-empty byte strings (or texts)")
        self.options = tuple(options)

    def describe(self) -> str:
        return " or ".join(f'"{show(o, 60)}"' for o in self.options)

    def expect(self, endpoint: "Endpoint", hint: Optional[str] = None,
               timeout: Optional[float] = None, sent: Optional[bytes] = None) -> bytes:
        """Wait until the next bytes are one of the options; return the one that came.

        An option that is the start of a longer one ("ok" and "ok\\0") is taken once no
        longer option can still come (the longer one came, or nothing more did)."""
        def complete(data: bytes) -> Optional[bytes]:
            done = [o for o in self.options if data.startswith(o)]
            return max(done, key=len) if done else None

        def find(data: bytes):
            best = complete(data)
            longer = [o for o in self.options if len(o) > len(data) and o.startswith(data)]
            if best is not None and not longer:
                return best, len(best)
            if best is None and not longer:
                raise self._failure(endpoint, data, hint, sent)
            return None
        try:
            return endpoint._wait(find, self.describe(), timeout, hint)
        except CheckFailure:
            data = bytes(endpoint._buf)
            best = complete(data)
            if best is None:
                if not data:
                    raise
                raise self._failure(endpoint, data, hint, sent) from None
            endpoint._consume(len(best))
            return best

    def _failure(self, endpoint, data: bytes, hint: Optional[str],
                 sent: Optional[bytes]) -> CheckFailure:
        got = endpoint._shown(data[:max(80, *map(len, self.options))])
        closest = max(self.options, key=lambda o: (_common(o, got), -len(o)))
        return CheckFailure(f"{endpoint.name} expected {self.describe()} and got "
                            f"\"{show(got)}\"", bytes_hint(closest, got, sent, hint))


def _common(a: bytes, b: bytes) -> int:
    """The length of the common start of a and b."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def any_of(*options: "Union[bytes, str, Wording]") -> "Union[AnyOf, Wording]":
    """One of several alternatives, described in words: byte strings give an AnyOf (exact
    bytes, '"ok" or "yes"'); texts and Wordings give one Wording whose spellings are all as
    good as the first (fields of the same name must be the same Field)."""
    byte_strings = [o for o in options if isinstance(o, bytes)]
    if options and len(byte_strings) == len(options):
        return AnyOf(byte_strings)
    words = [Wording(o) if isinstance(o, str) else o for o in options
             if isinstance(o, (str, Wording))]
    if not options or len(words) != len(options):
        raise TypeError("any_of takes byte strings, or texts and Wordings, not a mixture")
    fields: Dict[str, Field] = {}
    for w in words:
        for fname, f in w.fields.items():
            if fields.setdefault(fname, f) is not f:
                raise ValueError(f"any_of: the field {fname} means two things in the "
                                 "alternatives; give one of them another name")
    whats = [w.what for w in words if w.what]
    named: Dict[str, Any] = dict(fields)
    return Wording([t for w in words for t in w.templates],
                   open_end=any(w.open_end for w in words),
                   what=" or ".join(w.describe() for w in words) if whats else None, **named)


def expect_one_of(endpoint: "Endpoint", *options: "Union[bytes, str, Wording]",
                  hint: Optional[str] = None, timeout: Optional[float] = None,
                  sent: Optional[bytes] = None):
    """Wait for one of several byte strings (returns the one that came) or texts (returns
    the WordingMatch); see any_of."""
    want = any_of(*options)
    if isinstance(want, AnyOf):
        return want.expect(endpoint, hint=hint, timeout=timeout, sent=sent)
    return want.expect(endpoint, hint=hint, timeout=timeout)


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
        from ..harness.peers import SocketEndpoint
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
