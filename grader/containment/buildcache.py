"""One content-hashed build cache: the launcher, the talk library, the test fixtures.

A product is named by what it is built from (a digest of its inputs), built into a fresh
directory beside its final name and renamed into place, so graders sharing the cache never
see half a product; it is used only if it is a real directory of ours that no one else can
change. The cache itself is never at a predictable name in a shared directory:
~/.cache/socket-grader (or under $XDG_CACHE_HOME), mode 700, checked without following links.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import pwd
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Optional

_root: dict[str, Path] = {}


def ours(path: Path, owners: Iterable[int] = ()) -> bool:
    """A real directory (not a link) owned by us (or `owners`) that no one else can change."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (stat.S_ISDIR(st.st_mode) and st.st_uid in {os.geteuid(), *owners}
            and not st.st_mode & 0o022)


def cache_root() -> Path:
    """The grader's cache (products, uid leases, locks): a directory only our user can write.

    Where the home directory cannot hold it, a fresh private directory for this process only
    (no caching then).
    """
    if "root" in _root:
        return _root["root"]
    euid = os.geteuid()
    try:
        home = Path(pwd.getpwuid(euid).pw_dir)
    except KeyError:
        home = Path(os.environ.get("HOME", "/nonexistent"))
    base = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    root = base / "socket-grader"
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        root.mkdir(mode=0o700, exist_ok=True)
        if not (ours(base, (0,)) and ours(root) and os.lstat(root).st_uid == euid):
            raise OSError(0, f"{root} is not ours alone")
        root.chmod(0o700)
    except OSError:
        root = Path(tempfile.mkdtemp(prefix="socket-grader-cache-"))
        atexit.register(shutil.rmtree, root, True)
    _root["root"] = root
    return root


def product(name: str, inputs: Iterable[bytes], recipe: Callable[[Path], None],
            root: Optional[Path] = None) -> Path:
    """The directory `recipe` fills from these inputs, built once per content.

    recipe(work) builds into the empty directory `work`; an exception leaves nothing behind.
    """
    root = cache_root() if root is None else root
    digest = hashlib.sha256()
    for chunk in inputs:
        digest.update(hashlib.sha256(chunk).digest())
    final = root / f"{name}-{digest.hexdigest()[:16]}"
    if ours(final):
        return final
    work = Path(tempfile.mkdtemp(dir=root, prefix=f"{final.name}.", suffix=".partial"))
    try:
        recipe(work)
        work.chmod(0o755)
        try:
            work.rename(final)
        except OSError:          # another grader finished the same product first
            pass
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    if not ours(final):
        raise OSError(0, f"{final} is not ours alone; remove it and try again")
    return final
