"""The assignments the grader knows: one folder in cases/ each, described by manifest.toml."""
from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Optional

if sys.version_info >= (3, 11):
    import tomllib
else:                                 # Python 3.9 and 3.10: the same parser, as a backport
    import tomli as tomllib

CASES_DIR = Path(__file__).resolve().parent.parent / "cases"


VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


class UnknownAssignment(LookupError):
    pass


class ManifestError(ValueError):
    """A manifest.toml that does not describe its checks (exit status 2, names the file)."""


@dataclass(frozen=True)
class Assignment:
    id: str
    title: str
    path: Path                        # the folder of its case modules
    program: str                      # the executable a Makefile is expected to build
    role: str = "server"              # server | client | both
    args: tuple[str, ...] = ()        # argv after the program; "{port}" is replaced
    fixed_port: Optional[int] = None  # the port the program uses without being told
    make_target: str = ""
    reference: tuple[str, ...] = ()   # python arguments that run the reference program
    talk_library: bool = False        # handins link against the talk library
    # A flag the handout calls a debugging aid (mytalk's -N: no windows). A check that fails
    # with it is run again without it, as the program is used (see plugin.py).
    debug_flag: str = ""
    aliases: tuple[str, ...] = ()
    points: dict[str, float] = field(default_factory=dict)
    # Gradescope's visibility per check id (visible, hidden, after_due_date, after_published);
    # checks not named are visible. [visibility] default = "..." sets it for every check.
    visibility: tuple[tuple[str, str], ...] = ()

    @property
    def manifest(self) -> Path:
        return self.path / "manifest.toml"

    def visibility_of(self, check_id: str) -> str:
        table = dict(self.visibility)
        return table.get(check_id, table.get("default", "visible"))

    @property
    def max_score(self) -> float:
        return sum(self.points.values())


@lru_cache(maxsize=None)
def load(path: Path) -> Assignment:
    try:
        with open(path / "manifest.toml", "rb") as f:
            m = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ManifestError(f"{path / 'manifest.toml'}: not valid TOML: {e}")
    visibility = dict(m.get("visibility", {}))
    for cid, value in visibility.items():
        if value not in VISIBILITIES:
            raise ManifestError(f"{path / 'manifest.toml'}: visibility of {cid!r} is {value!r}; "
                                f"expected one of {', '.join(VISIBILITIES)}")
    return Assignment(
        id=path.name, title=m["title"], path=path, program=m["program"],
        role=m.get("role", "server"), args=tuple(m.get("args", ())),
        fixed_port=m.get("fixed_port"), make_target=m.get("make_target", ""),
        reference=tuple(m.get("reference", ())), talk_library=m.get("talk_library", False),
        debug_flag=m.get("debug_flag", ""),
        aliases=tuple(m.get("aliases", ())), points=dict(m.get("points", {})),
        visibility=tuple(visibility.items()),
    )


def all_assignments() -> list[Assignment]:
    return [load(p) for p in sorted(CASES_DIR.iterdir()) if (p / "manifest.toml").is_file()]


def find(name: str) -> Assignment:
    """The assignment with this id or alias, whatever its case; else a "did you mean"."""
    for a in all_assignments():
        if name.casefold() in (n.casefold() for n in (a.id, *a.aliases)):
            return a
    names = [n for a in all_assignments() for n in (a.id, *a.aliases)]
    close = difflib.get_close_matches(name.casefold(), names, n=1, cutoff=0.6)
    known = ", ".join(a.id for a in all_assignments())
    guess = f"did you mean {close[0]}? " if close else ""
    raise UnknownAssignment(f"unknown assignment {name!r}: {guess}(known: {known}; "
                            "see `grade list`)")


def for_case_file(path: Path) -> Assignment:
    """The assignment a case module belongs to: the manifest in its folder."""
    return load(Path(path).resolve().parent)
