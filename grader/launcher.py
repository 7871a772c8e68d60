"""The C launcher (launcher.c) that starts every untrusted program, built once and cached.

A Python preexec function runs in a fork of the whole grader, whose copy-on-write pages make
every start cost milliseconds; the launcher is started without Python in the child and does
the whole set-up (grader/contain.py says which) before exec. The same launcher starts programs
in a pty, programs without one (usage checks) and `make`.

The binary lives in the grader's private cache (talklib.cache_root: mode 700, checked without
following symlinks), is built under a name no one else can predict and renamed into place, and
is never taken from anywhere another user can write.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import stat
import subprocess
from pathlib import Path
from typing import Optional

from .sandbox import CaseCgroup, Policy
from .talklib import cache_root

SOURCE = Path(__file__).resolve().parent / "launcher.c"
_built: dict[str, Path] = {}


def _trustworthy(path: Path) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid()
            and not st.st_mode & 0o022)


def ensure() -> Path:
    """The compiled launcher, built on first use into a cache only our user can write."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    if digest in _built:
        return _built[digest]
    root = cache_root()
    final = root / f"launcher-{digest}"
    if not _trustworthy(final):
        partial = root / f"launcher-{digest}.{os.getpid()}-{secrets.token_hex(4)}.partial"
        done = subprocess.run(["gcc", "-O2", "-std=gnu99", "-o", str(partial), str(SOURCE)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"building the launcher failed: {done.stderr.strip()}")
        partial.chmod(0o700)
        os.replace(partial, final)
        if not _trustworthy(final):
            raise RuntimeError(f"{final} is not ours alone")
    _built[digest] = final
    return final


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
