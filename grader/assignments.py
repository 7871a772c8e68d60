"""The assignments the grader knows: one folder in cases/ each, described by manifest.toml."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Optional

CASES_DIR = Path(__file__).resolve().parent.parent / "cases"


class UnknownAssignment(LookupError):
    pass


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
    aliases: tuple[str, ...] = ()
    points: dict[str, float] = field(default_factory=dict)

    @property
    def max_score(self) -> float:
        return sum(self.points.values())


@lru_cache(maxsize=None)
def load(path: Path) -> Assignment:
    with open(path / "manifest.toml", "rb") as f:
        m = tomllib.load(f)
    return Assignment(
        id=path.name, title=m["title"], path=path, program=m["program"],
        role=m.get("role", "server"), args=tuple(m.get("args", ())),
        fixed_port=m.get("fixed_port"), make_target=m.get("make_target", ""),
        reference=tuple(m.get("reference", ())), talk_library=m.get("talk_library", False),
        aliases=tuple(m.get("aliases", ())), points=dict(m.get("points", {})),
    )


def all_assignments() -> list[Assignment]:
    return [load(p) for p in sorted(CASES_DIR.iterdir()) if (p / "manifest.toml").is_file()]


def find(name: str) -> Assignment:
    for a in all_assignments():
        if name == a.id or name in a.aliases:
            return a
    known = ", ".join(a.id for a in all_assignments())
    raise UnknownAssignment(f"unknown assignment {name!r} (known: {known}; see `grade list`)")


def for_case_file(path: Path) -> Assignment:
    """The assignment a case module belongs to: the manifest in its folder."""
    return load(Path(path).resolve().parent)
