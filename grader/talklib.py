"""Our own talk library (reference/talk), built on demand and cached, for mytalk handins.

Handin Makefiles often name the course account's paths (-I ~pn-cs357/Given/Talk/include);
gcc ignores a missing -I or -L directory, and CPATH/LIBRARY_PATH supply ours instead.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

SOURCE = Path(__file__).resolve().parent.parent / "reference" / "talk"
COURSE_HOME = "~pn-cs357/Given/Talk"


class TalkLibraryError(RuntimeError):
    pass


def cache_root() -> Path:
    """A cache every sandbox user can read (builds may run as another user), owned by us only."""
    root = Path(tempfile.gettempdir()) / f"socket-grader-{os.getuid()}"
    root.mkdir(mode=0o755, exist_ok=True)
    st = root.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o022:
        raise TalkLibraryError(f"{root} is not ours alone; remove it and try again")
    return root


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

    The library is copied into `into` first: the build may run as a user who cannot read the
    directory it came from.
    """
    lib = talk_lib or course_library() or ensure()
    libdir = lib / "lib64" if (lib / "lib64").is_dir() else lib / "lib"
    include, lib64 = into / "include", into / "lib64"
    try:
        shutil.copytree(lib / "include", include)
        shutil.copytree(libdir, lib64)
    except OSError as e:
        raise TalkLibraryError(f"cannot use the talk library in {lib}: {e}")
    for d in (into, include, lib64):
        d.chmod(0o755)
    return {"CPATH": str(include), "LIBRARY_PATH": str(lib64)}
