"""A process that cannot unshare or mount, as in Docker's default profile (Gradescope,
PrairieLearn): `prefix()` goes before a command's argv.

The helper (tests/nonamespace.c) gives what it runs Docker's capability set and a seccomp
filter refusing unshare, setns, mount, umount, pivot_root and clone with namespace flags; with
`readonly_cgroup` it also shows /sys/fs/cgroup read-only, as Docker mounts it. Built once per
test session into a private directory.
"""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "nonamespace.c"
_built: dict[str, Path] = {}


def helper() -> Path:
    if "path" not in _built:
        out = Path(tempfile.mkdtemp(prefix="nonamespace-")) / "nonamespace"
        subprocess.run(["gcc", "-O2", "-std=gnu99", "-o", str(out), str(SOURCE)], check=True)
        _built["path"] = out
    return _built["path"]


def prefix(readonly_cgroup: bool = True, binds: dict[str, Path] | None = None) -> list[str]:
    """binds: target -> file, e.g. {"/etc/passwd": prepared}: an image's own files."""
    extra = [a for target, src in (binds or {}).items() for a in ("-b", f"{src}={target}")]
    return [str(helper())] + (["-r"] if readonly_cgroup else []) + extra + ["--"]


def refuses_namespaces() -> bool:
    """The helper works here: under it, `unshare --mount true` fails (a self-check of tests)."""
    done = subprocess.run(prefix() + ["unshare", "--mount", "true"], capture_output=True)
    return done.returncode != 0 and b"Operation not permitted" in done.stderr
