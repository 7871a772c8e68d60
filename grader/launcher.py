"""The C launcher (launcher.c) that starts every untrusted program, built once and cached.

A Python preexec function runs in a fork of the whole grader, whose copy-on-write pages make
every start cost milliseconds; the launcher is started without Python in the child and does
the whole set-up (grader/contain.py says which) before exec. The same launcher starts programs
in a pty, programs without one (usage checks) and `make`.

The binary lives in the grader's private build cache (grader.buildcache: mode 700, checked
without following symlinks), is built in a directory no one else can predict and renamed into
place, and is never taken from anywhere another user can write.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from typing import Optional

from . import buildcache
from .sandbox import CaseCgroup, Policy

SOURCE = Path(__file__).resolve().parent / "launcher.c"
_built: dict[str, Path] = {}


def ensure() -> Path:
    """The compiled launcher, built on first use into a cache only our user can write."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    if digest not in _built:
        def recipe(work: Path) -> None:
            done = subprocess.run(["gcc", "-O2", "-std=gnu99", "-o", str(work / "launcher"),
                                   str(SOURCE)], capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"building the launcher failed: {done.stderr.strip()}")
            (work / "launcher").chmod(0o700)
        _built[digest] = buildcache.product("launcher", [SOURCE.read_bytes()], recipe) / "launcher"
    return _built[digest]


def passed_fds(argv: list[str]) -> tuple[int, ...]:
    """The descriptors a launcher command names (`-x FD`, before "--"): its Popen passes them."""
    head = argv[:argv.index("--")] if "--" in argv else argv
    return tuple(int(head[i + 1]) for i in range(len(head) - 1) if head[i] == "-x")


def command(policy: Policy, cgroup: Optional[CaseCgroup], trusted: bool,
            workdir: Optional[Path] = None, writable: tuple = ()) -> list[str]:
    """The launcher's argv, up to and including "--": the program's argv follows it.

    Untrusted programs get the whole containment (policy.rules); the operator's own commands
    (trusted) only the session, limits and death signal.
    """
    drop = policy.uid is not None and not trusted
    limits = policy.limits(cgroup, drop)
    procs = os.path.join(cgroup.path, "cgroup.procs") if cgroup is not None else None
    if policy.rules is None:
        from .contain import Rules
        policy.rules = Rules(str(ensure()), os.getpid())
    return policy.rules.command(limits=limits, uid=policy.uid if drop else None,
                                gid=policy.gid if drop else None, cgroup_procs=procs,
                                workdir=workdir, writable=writable, contained=not trusted)
