"""Which students a batch grades: a class's handin directories, a shard of them, and how each
one is taken (built from its Makefile, or its program run as it is)."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..harness import targets
from ..harness.assignments import Assignment
from .store import SUMMARIES


@dataclass(frozen=True)
class Handin:
    name: str                     # the directory's name is the student
    path: Path


def find_handins(batch_dir: Path, out: Optional[Path] = None) -> list[Handin]:
    """The batch's immediate, non-hidden subdirectories (except --out itself), by name."""
    skip = out.resolve() if out is not None else None
    found = [Handin(d.name, d) for d in batch_dir.iterdir()
             if d.is_dir() and not d.name.startswith(".") and d.resolve() != skip]
    for h in found:
        if h.name in SUMMARIES:
            raise targets.BadInput(f"{h.path}: a student directory named like a summary file; "
                                   "rename it")
    return sorted(found, key=lambda h: h.name)


def in_shard(name: str, k: int, n: int) -> bool:
    """Shard K of N (1-based): a stable hash of the name, the same on every machine and run."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % n == k - 1


def handin_target(handin: Handin, spec: str, assignment: Assignment) -> Optional[targets.Target]:
    """A handin with a Makefile is built; one without, but with the program, is run as is."""
    program = handin.path / assignment.program
    if targets.makefile_in(handin.path) is not None:
        return targets.Target(spec, "source", path=handin.path)
    if program.is_file() and os.access(program, os.X_OK) and not targets.not_runnable(program):
        return targets.Target(spec, "binary", [str(program)], path=program)
    return None
