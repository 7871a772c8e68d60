"""Our own talk library (reference/talk), built on demand and cached, for mytalk handins.

Handin Makefiles name the course account's paths (-I ~pn-cs357/Given/Talk/include); the
build's view has that account, with our library copied in the course layout (install()).
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Optional

from ..containment import buildcache

SOURCE = Path(__file__).resolve().parents[2] / "reference" / "talk"
COURSE_HOME = "~pn-cs357/Given/Talk"


class TalkLibraryError(RuntimeError):
    pass


def course_library() -> Optional[Path]:
    """The course's real library, when this machine has the course account."""
    home = Path(os.path.expanduser(COURSE_HOME))
    return home if (home / "include" / "talk.h").is_file() else None


def ensure() -> Path:
    """A directory with include/talk.h and lib64/libtalk.a (and lib/), built if needed."""
    sources = sorted(SOURCE.glob("*.[ch]"))

    def recipe(work: Path) -> None:
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
        for d in (work / "include", work / "lib64"):
            d.chmod(0o755)
    return buildcache.product("talk", [p.read_bytes() for p in sources], recipe)


def install(talk_lib: Optional[Path], into: Path) -> None:
    """Copy the talk library into `into` in the course layout, which is what
    ~pn-cs357/Given/Talk names in the build's view: include/talk.h, include/include ->
    include, Talk/talk.h beside include/ (students' copies of the course directory show it),
    lib64/libtalk.a and lib -> lib64.

    Copied because the build may run as a user who cannot read the directory the library came
    from. Links are copied as links, so the include/include loop is never followed. Nothing
    else points the compiler there: a handin finds the library as on the course machine, by
    the -I and -L its Makefile gives.
    """
    lib = talk_lib or course_library() or ensure()
    libdir = lib / "lib64" if (lib / "lib64").is_dir() else lib / "lib"
    include, lib64, beside = into / "include", into / "lib64", into / "Talk"
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
        if not beside.exists():
            beside.mkdir(mode=0o755)
            shutil.copy(include / "talk.h", beside / "talk.h")
    except OSError as e:
        raise TalkLibraryError(f"the build failed for a reason of the grading machine: cannot "
                               f"use the talk library in {lib}: {e.strerror or e}")
    for d in (into, include, lib64, beside):
        d.chmod(0o755)


def search_paths(into: Path) -> dict[str, str]:
    """CPATH and LIBRARY_PATH naming the copy in `into`: a leniency the course machine does not
    have, only for a build where ~pn-cs357 cannot name it (no private view)."""
    return {"CPATH": str(into / "include"), "LIBRARY_PATH": str(into / "lib64")}


def write_for_student(dest: Path) -> list[str]:
    """Put the course's talk library in dest (include/talk.h, lib64/libtalk.a) for a student
    building where ~pn-cs357 does not exist; the lines to say what to add to the Makefile.

    The library is the one a grading builds against here (the course account's, else ours).
    """
    lib = course_library() or ensure()
    libdir = lib / "lib64" if (lib / "lib64" / "libtalk.a").is_file() else lib / "lib"
    dest = dest.expanduser().resolve()
    try:
        (dest / "include").mkdir(parents=True, exist_ok=True)
        (dest / "lib64").mkdir(exist_ok=True)
        shutil.copyfile(lib / "include" / "talk.h", dest / "include" / "talk.h")
        shutil.copyfile(libdir / "libtalk.a", dest / "lib64" / "libtalk.a")
    except OSError as e:
        raise TalkLibraryError(f"cannot write the talk library in {dest}: {e.strerror or e}")
    include, lib64 = (shlex.quote(str(d)) for d in (dest / "include", dest / "lib64"))
    return [f"wrote {dest / 'include' / 'talk.h'} and {dest / 'lib64' / 'libtalk.a'}",
            "in your Makefile, build against it with:",
            f"    CFLAGS  += -I{include}",
            f"    LDFLAGS += -L{lib64}",
            "    LDLIBS  += -ltalk -lncurses",
            f"or on gcc's line: -I{include} -L{lib64} -ltalk -lncurses",
            "(grading builds as the course machine does, against the course's directory "
            "only: hand in a Makefile that names it, and give these flags on your own make "
            "command line)"]
