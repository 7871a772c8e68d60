"""The table of fixture programs and the verdicts the grader must give each (tests/verdicts/)."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

TABLE_DIR = Path(__file__).resolve().parent / "verdicts"


@dataclass(frozen=True)
class Entry:
    name: str
    assignment: str
    sources: tuple[str, ...]
    defines: tuple[str, ...] = ()
    talk: bool = False
    fails: frozenset[str] = frozenset()    # checks it must fail; every other check must pass
    skips: frozenset[str] = frozenset()    # checks that may be skipped on this machine


def load() -> list[Entry]:
    entries = []
    for path in sorted(TABLE_DIR.glob("*.toml")):
        with open(path, "rb") as f:
            for e in tomllib.load(f).get("fixture", []):
                entries.append(Entry(
                    name=e["name"], assignment=e["assignment"], sources=tuple(e["sources"]),
                    defines=tuple(e.get("defines", ())), talk=e.get("talk", False),
                    fails=frozenset(e.get("fails", ())), skips=frozenset(e.get("skips", ()))))
    return entries


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
