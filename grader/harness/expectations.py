"""What a wait looks for, in the words a student reads: never a regular expression.

The harness's waits (streams.py) take a text, a pattern, or an expectation of the vocabulary
(grader/vocabulary/wording.py: a Wording, the pattern it made, an alternative); each of those
describes itself (`describe()`, or a `wording` that does). This module says everything else
in words: a described pattern, a pattern spelled out where that can be done faithfully.
"""
from __future__ import annotations

import importlib
import re
import sys
from typing import Any, Dict, List, Optional, Protocol, Union

from .transcript import show, show_text


class Searchable(Protocol):
    """What a wait can search a line with besides a text: a compiled pattern, a described
    one, the pattern a Wording made (grader/vocabulary/wording.py)."""

    def search(self, text: str, pos: int = 0) -> "Optional[re.Match[str]]": ...


class Described:
    """A pattern with the words a student reads for it (`described(pattern, words)`): for the
    harness's own detectors, which match more than any handout text (a prompt up to its
    question), so that no regular expression is ever shown."""

    __slots__ = ("compiled", "words")

    def __init__(self, compiled: "re.Pattern[str]", words: str):
        self.compiled, self.words = compiled, words

    @property
    def pattern(self) -> str:
        return self.compiled.pattern

    def search(self, text: str, pos: int = 0) -> "Optional[re.Match[str]]":
        return self.compiled.search(text, pos)

    def __repr__(self) -> str:
        return f"Described({self.words!r})"


def described(pattern: "Union[str, re.Pattern[str]]", words: str) -> Described:
    """A pattern that messages describe as `words` (plain words, no syntax)."""
    return Described(re.compile(pattern) if isinstance(pattern, str) else pattern, words)


def describe(want: Any) -> str:
    """What is expected, in words: anything that describes itself (a Wording, a pattern a
    Wording made, which carries it, an alternative), a described pattern, or (last resort) a
    pattern spelled out; a pattern that cannot be spelled plainly is never shown garbled."""
    own = getattr(want, "wording", want)
    if callable(getattr(own, "describe", None)):
        return own.describe()
    if isinstance(want, Described):
        return want.words
    if isinstance(want, re.Pattern):
        spelled = spell(want)
        return "text like " + spelled if spelled else "text of the form the check expects"
    if isinstance(want, bytes):
        return '"' + show(want) + '"'
    return '"' + show_text(str(want)) + '"'


# -- spelling a raw pattern: only what can be said in plain words ------------------------------

# The standard library's own pattern parser (re._parser since 3.11, sre_parse before).
_sre: Any = importlib.import_module("re._constants" if sys.version_info >= (3, 11)
                                    else "sre_constants")
_sre_parse: Any = importlib.import_module("re._parser" if sys.version_info >= (3, 11)
                                          else "sre_parse")

_MAX_SPELLINGS = 4


class _Unspellable(Exception):
    pass


def spell(pattern: "Union[str, re.Pattern[str]]") -> Optional[str]:
    """A pattern nobody turned into a Wording, in plain words: its literal text, a named
    group as its NAME, a run of digits as NUMBER, alternatives as '"a" or "b"', optional
    parts left out. None when that cannot be done faithfully (classes, look-arounds, ...):
    the caller then says nothing about the form rather than show syntax."""
    source = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    try:
        parsed = _sre_parse.parse(source)
        names = {v: k for k, v in parsed.state.groupdict.items()}
        texts = [t.strip("\n") for t in _spell_seq(list(parsed), names)]
    except (_Unspellable, re.error, RecursionError):
        return None
    texts = list(dict.fromkeys(t for t in texts if t.strip()))
    if not texts:
        return None
    return " or ".join(f'"{show_text(t)}"' for t in texts)


def _spell_seq(items: list, names: Dict[int, str]) -> List[str]:
    """Every plain spelling of a sequence of parsed items (at most _MAX_SPELLINGS)."""
    out = [""]
    for op, arg in items:
        alts = _spell_item(op, arg, names)
        out = [o + a for o in out for a in alts]
        if len(out) > _MAX_SPELLINGS:
            raise _Unspellable
    return out


def _spell_item(op, arg, names: Dict[int, str]) -> List[str]:
    if op is _sre.LITERAL:
        return [chr(arg)]
    if op is _sre.AT:
        return [""]
    if op is _sre.SUBPATTERN:
        group, sub = arg[0], arg[-1]
        if group is not None and group in names:
            return [names[group].upper()]
        return _spell_seq(list(sub), names)
    if op is _sre.BRANCH:
        return [t for branch in arg[1] for t in _spell_seq(list(branch), names)]
    if op is _sre.IN and len(arg) == 1 and arg[0][0] is _sre.LITERAL:
        return [chr(arg[0][1])]
    if op is _sre.IN and arg and all(o is _sre.LITERAL for o, _ in arg) \
            and len({chr(c).lower() for _, c in arg}) == 1:
        return [chr(arg[0][1])]                          # [Oo]: one letter in either case
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
        low, _high, sub = arg
        sub = list(sub)
        if low == 0:
            return [""]                                  # an optional part: left out
        if len(sub) == 1 and sub[0][0] is _sre.IN and sub[0][1] == [(_sre.CATEGORY,
                                                                   _sre.CATEGORY_DIGIT)]:
            return ["NUMBER"]
        if len(sub) == 1 and (sub[0][0] is _sre.LITERAL and chr(sub[0][1]) == " " or
                              sub[0][0] is _sre.IN and sub[0][1] == [(_sre.CATEGORY,
                                                                    _sre.CATEGORY_SPACE)]):
            return [" "]                                 # spaces: one space
        return _spell_seq(sub, names) if low == 1 else _raise()
    raise _Unspellable


def _raise() -> List[str]:
    raise _Unspellable
