"""What the user asked to grade: a binary, a command, a source directory, or a batch of handins."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from .assignments import Assignment
from ..containment.contain import PRIVATE_TMP, SYSTEM_VIEW

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAKEFILES = ("GNUmakefile", "makefile", "Makefile")
C_SOURCE = (".c", ".h")


class BadInput(Exception):
    """The user's input cannot be graded; the message says what to do (exit status 2)."""


class NoMakefile(BadInput):
    """A handin directory without a Makefile: the user's to fix (exit 2), yet a grading whose
    reports were asked for still writes them, as a build that failed (a platform reads them)."""


@dataclass
class Target:
    spec: str                       # as the user gave it
    kind: str                       # binary | command | source | batch | reference
    argv: list[str] = field(default_factory=list)
    path: Optional[Path] = None     # the binary or directory
    trusted: bool = False           # runs as the grader's user (the operator's own command)
    env: dict[str, str] = field(default_factory=dict)
    note: str = ""                  # how the target was found, when it is not what was named


def makefile_in(d: Path) -> Optional[Path]:
    return next((d / m for m in MAKEFILES if (d / m).is_file()), None)


def _shown_dir(d: Path) -> str:
    """A directory as the user would type it: "." for the current one."""
    try:
        rel = os.path.relpath(d)
    except ValueError:
        return str(d)
    return rel if not rel.startswith("..") else str(d)


def _looks_like_handin(d: Path, program: str) -> bool:
    return makefile_in(d) is not None or (d / program).is_file() or any(d.glob("*.c"))


def _has_sources(d: Path, program: str) -> bool:
    """Files of one handin right in d (sources or the program), not a folder of handins."""
    return (d / program).is_file() or any(d.glob("*.c")) or any(d.glob("*.h"))


_ELF_MACHINES = {3: "x86 (32-bit)", 8: "MIPS", 20: "PowerPC", 21: "PowerPC 64", 40: "ARM",
                 62: "x86-64", 183: "ARM64 (aarch64)", 243: "RISC-V"}
_MACH_O = (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
           b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")


def _elf_kind(header: bytes) -> Optional[tuple[int, int, int]]:
    """(class, byte order, machine) of an ELF header, None if it is not one."""
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    machine = header[18:20]
    return header[4], header[5], int.from_bytes(machine, "little" if header[5] == 1 else "big")


def _this_machine() -> Optional[tuple[int, int, int]]:
    try:
        with open(os.path.realpath(sys.executable), "rb") as f:
            return _elf_kind(f.read(64))
    except OSError:
        return None


def not_runnable(path: Path) -> Optional[str]:
    """Why this executable file is not a program this machine can run, or None if it is."""
    try:
        with open(path, "rb") as f:
            header = f.read(64)
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    if header.startswith(b"#!"):
        return None
    if header[:4] in _MACH_O:
        return "a macOS program (Mach-O): build it on Linux, or hand in the source with a Makefile"
    kind, here = _elf_kind(header), _this_machine()
    if kind is None:
        what = "an empty file" if not header else "neither a compiled program nor a script " \
                                                  "starting with #!"
        return f"{what}: give the compiled program, or the source directory with its Makefile"
    if here is not None and kind != here:
        machine = _ELF_MACHINES.get(kind[2], f"machine type {kind[2]}")
        bits = {1: "32-bit", 2: "64-bit"}.get(kind[0], "")
        return (f"a program for another machine ({machine}, {bits}): build it here with "
                "`make`, or give the source directory")
    return None


def _subdirs(d: Path) -> list[Path]:
    try:
        return sorted(e for e in d.iterdir() if e.is_dir() and not e.name.startswith("."))
    except OSError:
        return []


def _a_class(subdirs: list[Path], program: str) -> bool:
    """Whether these folders look like a class: two handins or more, and most of them."""
    handins = sum(_looks_like_handin(d, program) for d in subdirs)
    return handins >= 2 and 2 * handins >= len(subdirs)


def nothing_to_grade(spec: str, p: Path, subdirs: list[Path], assignment: Assignment,
                     handins: Sequence[Path] = ()) -> str:
    """Why a directory that is neither a handin nor a class of handin directories is refused
    (a wrong parent directory must not become a batch of "build-failed" students), and what
    was expected; where the handin directories lie a level further down, which directory to
    give; where a few subdirectories look like handins, that --batch says it is a class."""
    program = assignment.program
    if handins:
        names = ", ".join(d.name for d in handins[:3]) + (", ..." if len(handins) > 3 else "")
        found = (f"only {len(handins)} of its {len(subdirs)} subdirectories ({names}) "
                 f"look{'s' if len(handins) == 1 else ''} like one (give --batch if this is a "
                 "class where most handed in nothing)")
    elif len(subdirs) == 1:
        found = "its one subdirectory holds none of these"
    elif subdirs:
        found = f"none of its {len(subdirs)} subdirectories holds any of these"
    else:
        found = "it has neither these files nor subdirectories"
    said = (f"{spec}: nothing to grade here: expected a compiled program, a source directory "
            f"with a Makefile that builds `{program}`, or a directory of handin directories "
            f"(each with a Makefile, C source or `{program}`), but {found}")
    deeper = [d for d in subdirs if _a_class(_subdirs(d), program)]
    if deeper:
        more = f" (and {len(deeper) - 1} more like it)" if len(deeper) > 1 else ""
        said += f"; {deeper[0]}{more} holds handin directories: give that directory"
    return said


def _c_source(path: Path) -> bool:
    """A C source or header file (not a program that happens to be named so)."""
    if path.suffix not in C_SOURCE:
        return False
    try:
        with open(path, "rb") as f:
            header = f.read(4)
    except OSError:
        return True
    return not header.startswith((b"#!", b"\x7fELF"))


def _private(path: str) -> Optional[str]:
    """The private directory (/tmp, ...) that holds path, if any."""
    return next((d for d in PRIVATE_TMP if path == d or path.startswith(d + "/")), None)


SCRIPT_BYTES = 64 << 10      # of a #! script, read for the paths it names
UNSEEN = ("/home", "/root")  # besides PRIVATE_TMP: places a script names that its view lacks
SEEN = ("/proc",)            # besides SYSTEM_VIEW: mounted in every view


def _in_view(path: str) -> bool:
    """Whether a program being graded sees this path of the machine (contain.SYSTEM_VIEW)."""
    return _private(path) is None and any(
        path == d or path.startswith(d + "/") for d in SYSTEM_VIEW + SEEN)


def script_note(path: Path) -> str:
    """Why a #! script may not work in the programs' view, or "".

    A program being graded sees its own file, the system's directories (/usr, /bin, /etc...)
    and fresh, empty /tmp, /var/tmp and /dev/shm: an interpreter elsewhere (a virtual
    environment made in /tmp or a home) or a file there that the script runs is not found,
    and the script scores 0 saying "not found".
    """
    try:
        with open(path, "rb") as f:
            text = f.read(SCRIPT_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""
    first, _, body = text.partition("\n")
    words = first[2:].split() if first.startswith("#!") else []
    if not words:
        return ""
    interpreter = words[0]
    sees = ("programs being graded see only their own file and the system's directories "
            "(/usr, /bin, /etc, ...), with a fresh, empty /tmp, /var/tmp and /dev/shm")
    if not os.path.exists(interpreter):
        return (f"{path.name} is a script whose interpreter {interpreter} does not exist on "
                "this machine: every check will fail to start it")
    named = next((m.group(0) for m in _PATH_IN_TEXT.finditer(body)), None)
    if _in_view(interpreter) and not named:
        return ""
    from ..containment.contain import probe
    if not probe()[0]:          # no private view: programs see the machine as it is
        return ""
    if not _in_view(interpreter):
        return (f"{path.name} is a script whose interpreter {interpreter} will not be found: "
                f"{sees}; use a system interpreter (e.g. #!/usr/bin/env python3)")
    return (f"{path.name} is a script that names {named}, which it will not find: {sees}; "
            "give the compiled program, or a script that needs nothing else")


_PATH_IN_TEXT = re.compile(r"(?<![\w.~/-])(?:%s)/[^\s'\"`;|&)]+" % "|".join(
    re.escape(d) for d in PRIVATE_TMP + UNSEEN))


def resolve(spec: str, assignment: Assignment, *, reference: bool = False,
            batch: Optional[bool] = None, one_down: bool = True) -> Target:
    """Classify and validate the target; raise BadInput with advice when it cannot be graded.

    one_down=False: a directory whose only handin is a subdirectory is a batch of one, not
    one handin with its Makefile a folder down (batch options were given).
    """
    if reference:
        # A course's reference may be a module of its own, next to its manifest.
        path = os.pathsep.join(dict.fromkeys([str(PROJECT_ROOT), str(assignment.path)]))
        return Target("reference", "reference", [sys.executable, *assignment.reference],
                      trusted=True, env={"PYTHONPATH": path})
    p = Path(spec).expanduser()
    if p.is_dir():
        subdirs = sorted(d for d in p.iterdir() if d.is_dir() and not d.name.startswith("."))
        handins = [d for d in subdirs if _looks_like_handin(d, assignment.program)]
        one_downs = [d for d in subdirs if makefile_in(d) is not None]
        if one_down and not batch and makefile_in(p) is None and len(one_downs) == 1 \
                and len(handins) == 1 and not _has_sources(p, assignment.program):
            # One handin whose Makefile sits one folder down (an unzipped archive): grade it.
            inner = one_downs[0]
            return Target(str(inner), "source", path=inner.resolve(),
                          note=f"the Makefile is in {inner}: grading that directory "
                               "(use --batch if this is a class of one)")
        # Unless --batch says so, a class is mostly handins: a parent directory with a stray
        # one among its folders (a checkout, a home directory) is not a batch.
        mostly = 2 * len(handins) >= len(subdirs)
        if batch or (batch is None and makefile_in(p) is None
                     and not _has_sources(p, assignment.program) and handins and mostly):
            if not handins:
                raise BadInput(nothing_to_grade(spec, p, subdirs, assignment))
            return Target(spec, "batch", path=p.resolve())
        if makefile_in(p) is None and subdirs and not _has_sources(p, assignment.program):
            raise BadInput(nothing_to_grade(spec, p, subdirs, assignment,
                                            handins if batch is None else ()))
        if makefile_in(p) is None:
            raise NoMakefile(f"{spec}: a directory without a Makefile; add one that builds "
                           f"`{assignment.program}`, or give the compiled program instead")
        # As named, links kept: the build copies it as the link's owner could (build.py).
        return Target(spec, "source", path=Path(os.path.abspath(p)))
    if p.exists():
        if not p.is_file():
            raise BadInput(f"{spec}: not a regular file")
        if _c_source(p):
            where = p.resolve().parent
            raise BadInput(f"{spec}: this is C source: give the directory with the Makefile "
                           f"(`grade {assignment.id} {_shown_dir(where)}`), or the compiled "
                           "program")
        if not os.access(p, os.X_OK):
            raise BadInput(f"{spec}: not executable (try `chmod +x {spec}`, or build it first)")
        why = not_runnable(p)
        if why:
            raise BadInput(f"{spec}: not a program this machine can run: {why}")
        return Target(spec, "binary", [str(p.resolve())], path=Path(os.path.abspath(p)),
                      note=script_note(p))
    words = shlex.split(spec)
    if len(words) > 1:
        if shutil.which(words[0]) is None:
            raise BadInput(f"{spec}: command {words[0]!r} not found")
        return Target(spec, "command", words, trusted=True,
                      env={"PYTHONPATH": str(PROJECT_ROOT)})
    raise BadInput(f"{spec}: no such file or directory")
