"""What the user asked to grade: a binary, a command, a source directory, or a batch of handins."""
from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .assignments import Assignment

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAKEFILES = ("GNUmakefile", "makefile", "Makefile")


class BadInput(Exception):
    """The user's input cannot be graded; the message says what to do (exit status 2)."""


@dataclass
class Target:
    spec: str                       # as the user gave it
    kind: str                       # binary | command | source | batch | reference
    argv: list[str] = field(default_factory=list)
    path: Optional[Path] = None     # the binary or directory
    trusted: bool = False           # runs as the grader's user (the operator's own command)
    env: dict[str, str] = field(default_factory=dict)


def makefile_in(d: Path) -> Optional[Path]:
    return next((d / m for m in MAKEFILES if (d / m).is_file()), None)


def _looks_like_handin(d: Path, program: str) -> bool:
    return makefile_in(d) is not None or (d / program).is_file() or any(d.glob("*.c"))


def resolve(spec: str, assignment: Assignment, *, reference: bool = False,
            batch: Optional[bool] = None) -> Target:
    """Classify and validate the target; raise BadInput with advice when it cannot be graded."""
    if reference:
        return Target("reference", "reference", [sys.executable, *assignment.reference],
                      trusted=True, env={"PYTHONPATH": str(PROJECT_ROOT)})
    p = Path(spec).expanduser()
    if p.is_dir():
        subdirs = [d for d in p.iterdir() if d.is_dir() and not d.name.startswith(".")]
        if batch or (batch is None and makefile_in(p) is None
                     and any(_looks_like_handin(d, assignment.program) for d in subdirs)):
            if not subdirs:
                raise BadInput(f"{spec}: no handin directories in it")
            return Target(spec, "batch", path=p.resolve())
        if makefile_in(p) is None:
            raise BadInput(f"{spec}: a directory without a Makefile; add one that builds "
                           f"`{assignment.program}`, or give the compiled program instead")
        return Target(spec, "source", path=p.resolve())
    if p.exists():
        if not p.is_file():
            raise BadInput(f"{spec}: not a regular file")
        if not os.access(p, os.X_OK):
            raise BadInput(f"{spec}: not executable (try `chmod +x {spec}`, or build it first)")
        return Target(spec, "binary", [str(p.resolve())], path=p.resolve())
    words = shlex.split(spec)
    if len(words) > 1:
        if shutil.which(words[0]) is None:
            raise BadInput(f"{spec}: command {words[0]!r} not found")
        return Target(spec, "command", words, trusted=True,
                      env={"PYTHONPATH": str(PROJECT_ROOT)})
    raise BadInput(f"{spec}: no such file or directory")
