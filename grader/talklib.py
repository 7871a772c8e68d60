"""Our own talk library (reference/talk), built on demand and cached, for mytalk handins.

Handin Makefiles often name the course account's paths (-I ~pn-cs357/Given/Talk/include);
gcc ignores a missing -I or -L directory, and CPATH/LIBRARY_PATH supply ours instead.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

SOURCE = Path(__file__).resolve().parent.parent / "reference" / "talk"
COURSE_HOME = "~pn-cs357/Given/Talk"


class TalkLibraryError(RuntimeError):
    pass


def _ours(path: Path, euid: int) -> bool:
    """A real directory (not a symlink) that only we (or root, for a parent) can change."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (stat.S_ISDIR(st.st_mode) and st.st_uid in (euid, 0)
            and not st.st_mode & 0o022)


def cache_root() -> Path:
    """The grader's cache (talk library, launcher, locks): a directory only our user can write.

    Never at a predictable name in a shared directory: ~/.cache/socket-grader (or under
    $XDG_CACHE_HOME), mode 700, checked without following symlinks. Where the home directory
    cannot hold it, a fresh private directory for this process only (no caching then).
    """
    if "root" in _cache:
        return _cache["root"]
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
        if not (_ours(base, euid) and _ours(root, euid) and os.lstat(root).st_uid == euid):
            raise OSError(0, f"{root} is not ours alone")
        root.chmod(0o700)
    except OSError:
        root = Path(tempfile.mkdtemp(prefix="socket-grader-cache-"))
        atexit.register(shutil.rmtree, root, True)
    _cache["root"] = root
    return root


_cache: dict[str, Path] = {}


def course_library() -> Optional[Path]:
    """The course's real library, when this machine has the course account."""
    home = Path(os.path.expanduser(COURSE_HOME))
    return home if (home / "include" / "talk.h").is_file() else None


def ensure() -> Path:
    """A directory with include/talk.h and lib64/libtalk.a (and lib/), built if needed."""
    sources = sorted(SOURCE.glob("*.[ch]"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:16]
    root = cache_root()
    final = root / f"talk-{digest}"
    if (final / "lib64" / "libtalk.a").is_file():
        return final
    work = Path(tempfile.mkdtemp(dir=root, prefix="build-"))
    try:
        (work / "include").mkdir()
        (work / "lib64").mkdir()
        shutil.copy(SOURCE / "talk.h", work / "include" / "talk.h")
        obj = work / "talk.o"
        for cmd in (["gcc", "-O2", "-c", "-I", str(SOURCE), str(SOURCE / "talk.c"), "-o", str(obj)],
                    ["ar", "rcs", str(work / "lib64" / "libtalk.a"), str(obj)]):
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                raise TalkLibraryError(f"building the talk library failed: {done.stderr.strip()}")
        obj.unlink()
        (work / "lib").symlink_to("lib64")
        (work / "include" / "include").symlink_to(".")     # the course layout has this link
        for d in (work, work / "include", work / "lib64"):
            d.chmod(0o755)
        try:
            work.rename(final)
        except OSError:          # another grader finished the same build first
            shutil.rmtree(work, ignore_errors=True)
        return final
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def build_env(talk_lib: Optional[Path], into: Path) -> dict[str, str]:
    """CPATH and LIBRARY_PATH that let an unchanged handin Makefile find talk.h and libtalk.a.

    The library is copied into `into` first, in the course layout (include/, include/include
    -> include, lib64/, lib/ -> lib64): the build may run as a user who cannot read the
    directory it came from, and `into` is what ~pn-cs357/Given/Talk names in the build's view.
    Links are copied as links, so the include/include loop is never followed.
    """
    lib = talk_lib or course_library() or ensure()
    libdir = lib / "lib64" if (lib / "lib64").is_dir() else lib / "lib"
    include, lib64 = into / "include", into / "lib64"
    try:
        into.mkdir(mode=0o755, parents=True, exist_ok=True)
        shutil.copytree(lib / "include", include, symlinks=True)
        shutil.copytree(libdir, lib64, symlinks=True)
        if not (include / "include").exists() and not (include / "include").is_symlink():
            (include / "include").symlink_to(".")
        if not (into / "lib").exists():
            (into / "lib").symlink_to("lib64")
        if not (include / "talk.h").is_file() or not (lib64 / "libtalk.a").is_file():
            raise OSError(0, "it has no include/talk.h or no lib64/libtalk.a")
    except OSError as e:
        raise TalkLibraryError(f"the build failed for a reason of the grading machine: cannot "
                               f"use the talk library in {lib}: {e.strerror or e}")
    for d in (into, include, lib64):
        d.chmod(0o755)
    return {"CPATH": str(include), "LIBRARY_PATH": str(lib64)}
