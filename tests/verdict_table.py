"""The table of fixture programs and the verdicts the grader must give each (tests/verdicts/).

An entry says "passes every check except ..." (`fails = [the exceptions]`, or outright
`passes = ["*"]` with them in `fails`) or "fails every check except ..." (`fails = ["*"]`,
`passes = [the exceptions]`); names or shell-style patterns ("server_*"), the narrower name
deciding a check named on both sides. The checks come from the assignment's manifest, so a
new check is judged for every entry without one being edited: failed where a pattern names
it, passed elsewhere. Only the entries whose bug the new check is about need a line.
"""
from __future__ import annotations

import fnmatch
import hashlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from grader.harness import assignments, talklib
from grader.containment import buildcache

if sys.version_info >= (3, 11):
    import tomllib
else:                                 # Python 3.9 and 3.10: the same parser, as a backport
    import tomli as tomllib

TABLE_DIR = Path(__file__).resolve().parent / "verdicts"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def compile_fixture(sources: list[str], defines: tuple[str, ...], talk: bool,
                    cache: Optional[Path] = None) -> Path:
    """Compile a fixture program once per source and flags (buildcache); its path."""
    paths = [FIXTURES / s for s in sources]
    inputs = [p.read_bytes() for p in paths] + [repr((defines, talk)).encode()]
    # A name of its own (stem and digest): tests look for its running copies by name.
    name = f"{paths[0].stem}-{hashlib.sha256(b''.join(inputs)).hexdigest()[:12]}"

    def recipe(work: Path) -> None:
        out = work / name
        cmd = ["gcc", "-std=gnu99", "-Wall", "-Wextra", "-o", str(out), *map(str, paths),
               *(f"-D{d}" for d in defines)]
        if talk:
            lib = talklib.ensure()
            cmd += ["-I", str(lib / "include"), "-L", str(lib / "lib64"), "-ltalk", "-lncurses"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"fixture did not compile: {' '.join(cmd)}\n{done.stderr}")
        out.chmod(0o755)
    return buildcache.product("fixture", inputs, recipe, cache) / name


@dataclass(frozen=True)
class Entry:
    name: str
    assignment: str
    sources: tuple[str, ...]
    defines: tuple[str, ...] = ()
    talk: bool = False
    fails: frozenset[str] = frozenset()    # checks it must fail; every other check must pass
    # checks it must not fail, said outright: one bug, one charge (a check that is about
    # something else). Taken out of `fails` where a pattern there names them.
    passes: frozenset[str] = frozenset()
    skips: frozenset[str] = frozenset()    # checks that may be skipped on this machine
    # checks that must pass AND carry at least one warning (a spelling or a mode the handout
    # does not fix: the program is right, the grader says what differs)
    warns: frozenset[str] = frozenset()
    # words the warnings of each check in `warns` must say (warning_says) and must not
    # (warning_lacks): what a warning blames, e.g. -N only for a known -N cause
    warning_says: tuple[str, ...] = ()
    warning_lacks: tuple[str, ...] = ()


# Mistakes found while reading the tables (a pattern that names no check, a check listed
# both as failing and as passing), reported by check_table.
_PROBLEMS: list[str] = []


def expand(patterns: list[str], checks: list[str]) -> set[str]:
    """The checks that the names or shell-style patterns ("*", "client_*") name."""
    return {c for c in checks if any(fnmatch.fnmatchcase(c, p) for p in patterns)}


def entry_from(e: dict, checks: Optional[list[str]] = None,
               problems: Optional[list[str]] = None) -> Entry:
    """An entry as a table writes it. `fails` and `passes` take names or patterns, so that
    "fails every check except ..." is `fails = ["*"]` with the exceptions in `passes`, and
    "passes every check except ..." is `fails = [...]` (or, said outright, `passes = ["*"]`
    with the exceptions in `fails`); a new check then needs no fixture re-judged by hand.
    A check named on both sides goes with the narrower name (an exact name is the narrowest);
    two equally narrow ones are a mistake in the table."""
    if checks is None:
        checks = list(assignments.find(e["assignment"]).points)
    fails, passes = list(e.get("fails", ())), list(e.get("passes", ()))
    for pat in fails + passes:
        if not expand([pat], checks) and problems is not None:
            problems.append(f"{e['name']}: {pat!r} names no check of {e['assignment']}")
    failing, passing = set(), set()
    for cid in checks:
        f = [len(expand([p], checks)) for p in fails if fnmatch.fnmatchcase(cid, p)]
        p = [len(expand([q], checks)) for q in passes if fnmatch.fnmatchcase(cid, q)]
        if f and p and min(f) == min(p):
            if problems is not None:
                problems.append(f"{e['name']}: {cid} is in both fails and passes")
            passing.add(cid)
        elif f and (not p or min(f) < min(p)):
            failing.add(cid)
        elif p:
            passing.add(cid)
    return Entry(name=e["name"], assignment=e["assignment"], sources=tuple(e["sources"]),
                 defines=tuple(e.get("defines", ())), talk=e.get("talk", False),
                 fails=frozenset(failing), passes=frozenset(passing),
                 skips=frozenset(e.get("skips", ())), warns=frozenset(e.get("warns", ())),
                 warning_says=tuple(e.get("warning_says", ())),
                 warning_lacks=tuple(e.get("warning_lacks", ())))


def load() -> list[Entry]:
    entries = []
    _PROBLEMS.clear()
    for path in sorted(TABLE_DIR.glob("*.toml")):
        with open(path, "rb") as f:
            for e in tomllib.load(f).get("fixture", []):
                entries.append(entry_from(e, problems=_PROBLEMS))
    return entries


def check_table(entries: list[Entry]) -> list[str]:
    """Mistakes in the table itself: a check listed as both failing and warning (or passing),
    duplicate names, a pattern that names nothing."""
    problems, seen = list(_PROBLEMS), set()
    for e in entries:
        if e.name in seen:
            problems.append(f"{e.name}: listed twice")
        seen.add(e.name)
        for cid in sorted(e.fails & e.warns):
            problems.append(f"{e.name}: {cid} is in both fails and warns")
    return problems


def wrong_verdicts(entry: Entry, verdicts: dict[str, str]) -> dict[str, tuple[str, str]]:
    """check id -> (expected, got) for every verdict that differs from the table."""
    wrong = {}
    for cid, got in verdicts.items():
        want = "failed" if cid in entry.fails else "passed"
        if got != want and not (cid in entry.skips and got == "skipped"):
            wrong[cid] = (want, got)
    for cid in entry.fails - set(verdicts):
        wrong[cid] = ("failed", "not run")
    return wrong


def missing_warnings(entry: Entry, checks: list[dict]) -> dict[str, str]:
    """check id -> what is wrong, for every check in entry.warns that did not pass with a warning
    (one that says entry.warning_says and not entry.warning_lacks).

    checks is the JSON result's "checks" list (id, status, warnings). A check that did not
    pass is reported by wrong_verdicts already; here only a pass without any warning counts.
    """
    by_id = {c["id"]: c for c in checks}
    wrong = {}
    for cid in sorted(entry.warns):
        c = by_id.get(cid)
        if c is None:
            wrong[cid] = "not run"
        elif c["status"] == "passed" and not c.get("warnings"):
            wrong[cid] = "passed without a warning"
        elif c["status"] == "passed":
            text = "\n".join(c["warnings"])
            said = [w for w in entry.warning_says if w not in text]
            lacked = [w for w in entry.warning_lacks if w in text]
            if said or lacked:
                wrong[cid] = (f"its warnings do not say {said}" if said else
                              f"its warnings say {lacked}") + f": {text}"
    return wrong
