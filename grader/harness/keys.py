"""What the plugin, the fixtures and the runner share: stash keys and option names, in one place.

Both plugin.py and fixtures.py import from here and from nowhere else of each other, so the
seam between them runs one way. The option names are the `grade` command's where pytest lets
them be (pytest owns -v/--verbose and --strict, so those two keep grader-specific names).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:      # pragma: no cover
    from .case import Case
    from .session import Grading

# -- stash keys -------------------------------------------------------------------------------
# config.stash: the run's set-up, put there by `grade` (runner.py) or by the grading fixture.
GRADING: pytest.StashKey[Grading] = pytest.StashKey()
# item.stash: the check's Case, put there by the case fixture, read by the plugin's hooks.
CASE: pytest.StashKey[Case] = pytest.StashKey()
# item.stash: on a check run again windowed, how it failed under the debugging flag.
WINDOWED = pytest.StashKey[str]()
# item.stash: the plugin's running verdict of a check over its setup, call and teardown.
STATE = pytest.StashKey[dict]()
# item.stash: why a check failed under the debugging flag, when the cause is one of the known
# ones ("" when it is not): the windowed pass's warning names it only then.
DEBUG_CAUSE = pytest.StashKey[str]()

# The user property on a case's teardown report that carries its results-model Check.
USER_PROPERTY = "grader_check"

# The pytest marker `@check(hint=...)` applies.
CHECK_MARKER = "check"

# -- command-line options (plain `pytest cases/ID --student PROG`) ----------------------------
# (flags, keyword arguments of parser.addoption); dest is the name config.getoption takes.
STUDENT = "student"
REFERENCE = "reference"
STRICT = "grader_strict"
TALK_LIB = "talk_lib"
ALL_TRANSCRIPTS = "all_transcripts"

OPTIONS: "list[tuple[tuple[str, ...], dict[str, Any]]]" = [
    (("--student",), dict(dest=STUDENT, metavar="TARGET",
                          help="the program to grade: a binary, a source directory, or a quoted "
                               "command")),
    (("--reference", "--grade-reference"), dict(
        dest=REFERENCE, action="store_true",
        help="grade the assignment's reference program instead (as `grade --reference`)")),
    (("--grader-strict",), dict(
        dest=STRICT, action="store_true",
        help="deviations from the handout's exact text fail their check (`grade --strict`; "
             "pytest has its own --strict)")),
    (("--talk-lib",), dict(dest=TALK_LIB, metavar="DIR",
                           help="talk library to build handins against (as `grade --talk-lib`)")),
    (("--all-transcripts",), dict(
        dest=ALL_TRANSCRIPTS, action="store_true",
        help="keep the transcript of passed checks too (`grade -v`; pytest has its own -v)")),
]
