"""The C launcher (launcher.c) that starts student programs in a pty, built once and cached.

A Python preexec function runs in a fork of the whole grader, whose copy-on-write pages make
every start cost milliseconds; the launcher is started without Python in the child and does
the same set-up (the rules of sandbox.Policy.preexec) before exec.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from typing import Optional

from .sandbox import CaseCgroup, Policy
from .talklib import cache_root

SOURCE = Path(__file__).resolve().parent / "launcher.c"


def ensure() -> Path:
    """The compiled launcher, built on first use into a cache only our user can write."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    root = cache_root()
    final = root / f"launcher-{digest}"
    if not final.exists():
        partial = root / f"launcher-{digest}.{os.getpid()}.partial"
        done = subprocess.run(["gcc", "-O2", "-std=gnu99", "-o", str(partial), str(SOURCE)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"building the launcher failed: {done.stderr.strip()}")
        os.replace(partial, final)
    return final


def command(policy: Policy, cgroup: Optional[CaseCgroup], trusted: bool) -> list[str]:
    """The launcher's argv, up to and including "--": the program's argv follows it."""
    drop = policy.uid is not None and not trusted
    limits = [f"{which}={value}" for which, value in policy.limits(cgroup, drop)]
    procs = os.path.join(cgroup.path, "cgroup.procs") if cgroup is not None else "-"
    user = [str(policy.uid), str(policy.gid)] if drop else ["-", "-"]
    return [str(ensure()), str(os.getpid()), procs, *user, *limits, "--"]
