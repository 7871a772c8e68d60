"""The assignments the grader knows: one folder in cases/ each, described by manifest.toml."""
from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional, Protocol, Sequence, TypeVar, Union

if sys.version_info >= (3, 11):
    import tomllib
else:                                 # Python 3.9 and 3.10: the same parser, as a backport
    import tomli as tomllib

CASES_DIR = Path(__file__).resolve().parents[2] / "cases"      # the grader's own
# A course's own assignments, outside the package (read where they are, so an edited or new
# check counts at once, with no reinstall): directories separated by ":", each a folder of
# assignment folders (or one assignment folder). `grade --cases DIR` puts DIR first in it.
CASES_ENV = "GRADER_CASES"


VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
ROLES = ("server", "client", "both")

# Every key a manifest.toml may have, with its type (docs/adding-an-assignment.md documents
# each; tests/test_cli.py holds the two together). Any other key is refused: a misspelt
# key would otherwise be ignored without a word.
KEYS: dict[str, Any] = {
    "title": str, "program": str, "role": str, "args": list, "fixed_port": int,
    "make_target": str, "reference": list, "talk_library": bool, "debug_flag": str,
    "aliases": list, "points": dict, "visibility": dict, "interop": dict,
    "allow_exec": (bool, list),
}
REQUIRED = ("title", "program")
INTEROP_KEYS: dict[str, Any] = {"server": list, "client": list, "asks": (str, list),  # type: ignore[dict-item]
                                 "answer": str}


class UnknownAssignment(LookupError):
    pass


class ManifestError(ValueError):
    """A manifest.toml that does not describe its checks (exit status 2, names the file)."""


class CaseModuleError(Exception):
    """A case module that cannot be imported: the grader's or the instructor's own bug (exit
    status 3), not an interruption. The message names the file, the error and its traceback."""


@dataclass(frozen=True)
class Interop:
    """How `--interop` starts a program as server and as client: the argv after the program,
    with "{port}" and "{host}" filled in. A server that asks anyway (one of `asks`' texts,
    with the grader's tolerance rule) is answered `answer`."""
    server: tuple[str, ...]
    client: tuple[str, ...]
    asks: tuple[str, ...] = ()
    answer: str = ""


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
    # [interop]: how classmates' programs are paired (None: the assignment has no such run).
    interop: Optional[Interop] = None
    # What the program may execute besides itself (grader/harness/execs.py): false (nothing: the
    # default), true (anything, still recorded), or the programs allowed, by path or by a name
    # PATH finds ("cat", "/usr/bin/sort"). Anything else it executes fails the check.
    allow_exec: Union[bool, tuple[str, ...]] = False

    @property
    def manifest(self) -> Path:
        return self.path / "manifest.toml"

    def visibility_of(self, check_id: str) -> str:
        table = dict(self.visibility)
        return table.get(check_id, table.get("default", "visible"))

    @property
    def max_score(self) -> float:
        return sum(self.points.values())

    def reference_in(self, role: str) -> list[str]:
        """The python arguments that run the reference program in `role` (server or client):
        one program takes both roles from its argv (mytalk), the others a role word."""
        ref = list(self.reference)
        if self.role != "both" and ref and ref[-1] in ("server", "client"):
            ref[-1] = role
        return ref


@lru_cache(maxsize=None)
def load(path: Path) -> Assignment:
    try:
        with open(path / "manifest.toml", "rb") as f:
            m = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ManifestError(f"{path / 'manifest.toml'}: not valid TOML: {e}")
    _check_keys(path, m, KEYS, "")
    for key in REQUIRED:
        if key not in m:
            raise ManifestError(f"{path / 'manifest.toml'}: {key} = \"...\" is missing "
                                "(see docs/adding-an-assignment.md)")
    if m.get("role", "server") not in ROLES:
        raise ManifestError(f"{path / 'manifest.toml'}: role is {m['role']!r}; expected one "
                            f"of {', '.join(ROLES)}")
    for cid, value in m.get("points", {}).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ManifestError(f"{path / 'manifest.toml'}: the points of {cid!r} are "
                                f"{value!r}; expected a number, such as {cid} = 2")
    visibility = dict(m.get("visibility", {}))
    for cid, value in visibility.items():
        if value not in VISIBILITIES:
            raise ManifestError(f"{path / 'manifest.toml'}: visibility of {cid!r} is {value!r}; "
                                f"expected one of {', '.join(VISIBILITIES)}")
    return Assignment(
        interop=_interop(path, m.get("interop")),
        id=path.name, title=m["title"], path=path, program=m["program"],
        role=m.get("role", "server"), args=tuple(m.get("args", ())),
        fixed_port=m.get("fixed_port"), make_target=m.get("make_target", ""),
        reference=tuple(m.get("reference", ())), talk_library=m.get("talk_library", False),
        debug_flag=m.get("debug_flag", ""),
        aliases=tuple(m.get("aliases", ())), points=dict(m.get("points", {})),
        visibility=tuple(visibility.items()),
        allow_exec=_allow_exec(path, m.get("allow_exec", False)),
    )


def _allow_exec(path: Path, value: Any) -> Union[bool, tuple[str, ...]]:
    if isinstance(value, bool):
        return value
    if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise ManifestError(f"{path / 'manifest.toml'}: allow_exec is {value!r}; expected false, "
                        "true, or a list of the programs allowed, e.g. [\"cat\", "
                        "\"/usr/bin/sort\"]")


def _check_keys(path: Path, table: dict[str, Any], keys: dict[str, Any], where: str) -> None:
    """Every key known, and of its type; a misspelt one gets a "did you mean"."""
    for key, value in table.items():
        if key not in keys:
            close = difflib.get_close_matches(key, list(keys), n=1, cutoff=0.6)
            guess = f"did you mean {close[0]}? " if close else ""
            raise ManifestError(f"{path / 'manifest.toml'}: unknown key {where}{key!r}: "
                                f"{guess}(known: {', '.join(keys)}; see "
                                "docs/adding-an-assignment.md)")
        want = keys[key]
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            kinds = want if isinstance(want, tuple) else (want,)
            said = " or ".join(_KIND_WORDS[k] for k in kinds)
            raise ManifestError(f"{path / 'manifest.toml'}: {where}{key} should be {said}, "
                                f"not {value!r}")


_KIND_WORDS = {str: 'a string ("...")', list: "a list ([...])", int: "a whole number",
               bool: "true or false", dict: "a table ([name])"}


def _interop(path: Path, table: Optional[dict[str, Any]]) -> Optional[Interop]:
    if table is None:
        return None
    _check_keys(path, table, INTEROP_KEYS, "[interop] ")
    missing = [k for k in ("server", "client") if not isinstance(table.get(k), list)]
    if missing:
        raise ManifestError(f"{path / 'manifest.toml'}: [interop] needs {missing[0]} = [ARGS], "
                            "the argv after the program (\"{port}\", \"{host}\" filled in)")
    asks = table.get("asks", ())
    return Interop(tuple(table["server"]), tuple(table["client"]),
                   (asks,) if isinstance(asks, str) else tuple(asks), table.get("answer", ""))


def course_dirs() -> list[Path]:
    """The directories GRADER_CASES names; ManifestError (exit 2) for one that holds no
    assignment, so that a typo is not a silently missing course."""
    dirs = []
    for entry in os.environ.get(CASES_ENV, "").split(os.pathsep):
        if not entry:
            continue
        d = Path(entry).expanduser().resolve()
        if not d.is_dir():
            raise ManifestError(f"cases directory {entry}: not a directory (from --cases or "
                                f"{CASES_ENV})")
        if not _assignment_folders(d):
            raise ManifestError(f"cases directory {entry}: no assignment in it; each assignment "
                                "is a folder with a manifest.toml and its test_*.py modules "
                                "(see docs/writing-checks.md)")
        dirs.append(d)
    return dirs


def _assignment_folders(d: Path) -> list[Path]:
    if (d / "manifest.toml").is_file():
        return [d]
    try:
        return [p for p in sorted(d.iterdir()) if (p / "manifest.toml").is_file()]
    except OSError:
        return []


def all_assignments() -> list[Assignment]:
    """The course's assignments (GRADER_CASES) and the grader's own, by id; a course's
    assignment of the same id as one of ours replaces it."""
    found: dict[str, Assignment] = {}
    for d in [*course_dirs(), CASES_DIR]:
        for p in _assignment_folders(d):
            found.setdefault(p.name, load(p))
    return sorted(found.values(), key=lambda a: a.id)


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



class CaseItem(Protocol):
    """What checks_in_order needs of a pytest item."""
    @property
    def path(self) -> Path: ...
    @property
    def name(self) -> str: ...
    @property
    def nodeid(self) -> str: ...


Item = TypeVar("Item", bound=CaseItem)


def checks_in_order(items: Sequence[Item]) -> list[tuple[Item, Assignment, str]]:
    """Which checks these collected case items are, in the order they run.

    Each item comes back with its assignment (whose manifest gives its points) and its check
    id, ordered by case folder, then by the manifest's [points]. ManifestError names the first
    check without points. The one place that decides an assignment's checks: the plugin orders
    a run by it, `grade` turns its error into exit status 2, and `grade list`, a failed build's
    report and -k see the checks it gives.
    """
    from .checks import check_id
    found = []
    for item in items:
        assignment = for_case_file(item.path)
        cid = check_id(item.name)
        if cid not in assignment.points:
            raise ManifestError(f"check {cid!r} has no points in its manifest.toml, "
                                f"{assignment.manifest} ({item.nodeid}): add `{cid} = POINTS` "
                                "under [points]")
        found.append((item, assignment, cid))
    return sorted(found, key=lambda f: (str(Path(f[0].path).parent),
                                        list(f[1].points).index(f[2])))
