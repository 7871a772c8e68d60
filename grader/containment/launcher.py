"""The C launcher (launcher.c) that starts every untrusted program, built once and cached.

A Python preexec function runs in a fork of the whole grader, whose copy-on-write pages make
every start cost milliseconds; the launcher is started without Python in the child and does
the whole set-up (contain.py says which) before exec. The same launcher starts programs
in a pty, programs without one (usage checks) and `make`.

The binary lives in the grader's private build cache (buildcache: mode 700, checked
without following symlinks), is built in a directory no one else can predict and renamed into
place, and is never taken from anywhere another user can write. What the grader executes is
not that file: once per process the binary is read, checked against the digest recorded when it
was built, and copied into a sealed in-memory file (no one, not even our own user, can change
it); every later start executes that copy. A program that replaces the cached file, which a
program running as the grader's own user without a private view could, changes nothing the
running grader starts.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Optional

from . import buildcache

CAP_SYS_PTRACE = 19
SOURCE = Path(__file__).resolve().parent / "launcher.c"
DIGEST_FILE = "launcher.sha256"       # beside the binary: its digest when it was built
_built: dict[str, Path] = {}
_loaded: dict[str, tuple[int, int, int]] = {}    # "fd": (pid that loaded it, fd, inode)


def _recipe(work: Path) -> None:
    done = subprocess.run(["gcc", "-O2", "-std=gnu99", "-o", str(work / "launcher"),
                           str(SOURCE)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"building the launcher failed: {done.stderr.strip()}")
    (work / "launcher").chmod(0o700)
    digest = hashlib.sha256((work / "launcher").read_bytes()).hexdigest()
    (work / DIGEST_FILE).write_text(digest + "\n")
    (work / DIGEST_FILE).chmod(0o600)


def ensure() -> Path:
    """The compiled launcher, built on first use into a cache only our user can write."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    if digest not in _built:
        _built[digest] = buildcache.product("launcher", [SOURCE.read_bytes()], _recipe) / "launcher"
    return _built[digest]


def passed_fds(argv: list[str]) -> tuple[int, ...]:
    """The descriptors a launcher command names (`-x FD`, before "--"): its Popen passes them."""
    head = argv[:argv.index("--")] if "--" in argv else argv
    return tuple(int(head[i + 1]) for i in range(len(head) - 1) if head[i] == "-x")


def _verified(built: Path) -> bytes:
    """The cached binary's bytes, if they are what was built: a regular file of ours that no one
    else can write, whose digest is the one recorded at build time."""
    fd = os.open(built, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
            raise RuntimeError(f"{built} is not ours alone; remove {built.parent}")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read()
    finally:
        os.close(fd)
    try:
        recorded = (built.parent / DIGEST_FILE).read_text().strip()
    except OSError:
        recorded = ""
    if hashlib.sha256(data).hexdigest() != recorded:
        raise RuntimeError(f"the cached launcher {built} is not the one that was built")
    return data


def _verified_or_rebuilt() -> tuple[Path, bytes]:
    """A cached launcher that fails the check (changed since it was built, or built by an older
    grader that recorded no digest) is built again, never used."""
    built = ensure()
    try:
        return built, _verified(built)
    except (OSError, RuntimeError):
        shutil.rmtree(built.parent, ignore_errors=True)
        _built.clear()
        built = ensure()
        return built, _verified(built)


def _sealed_copy(data: bytes) -> int:
    """A sealed in-memory file holding data that executes, or -1 where the kernel gives none."""
    try:
        fd = os.memfd_create("socket-grader-launcher", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    except (AttributeError, OSError):
        return -1
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW
                    | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL)
        path, own = f"/proc/{os.getpid()}/fd/{fd}", os.fstat(fd)
        seen = os.stat(path)           # this /proc names us (not a parent namespace's pids)
        if (seen.st_dev, seen.st_ino) != (own.st_dev, own.st_ino):
            raise OSError(0, "this /proc is not our PID namespace's")
        done = subprocess.run([path, "--", "true"],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        if done.returncode == 0:
            return fd
    except (OSError, subprocess.TimeoutExpired):
        pass
    os.close(fd)
    return -1


def children_may_open_our_fds() -> bool:
    """Whether our children can always open /proc/OUR_PID/fd/N. Root without CAP_SYS_PTRACE
    (Docker's default set) cannot once the grader has read a program's /proc as its owner
    (processes.as_owner_of): a change of file-system uid makes the kernel mark this process not
    dumpable, and only CAP_SYS_PTRACE opens the fds of a process that is not. Root's programs
    run as other uids, which cannot write root's private cache: the verified cached binary
    is then as safe as a sealed copy."""
    if os.geteuid() != 0:
        return True
    try:
        with open("/proc/self/status") as f:
            caps = next(int(line.split()[1], 16) for line in f if line.startswith("CapEff:"))
    except (OSError, StopIteration, ValueError):
        return False
    return bool(caps & (1 << CAP_SYS_PTRACE))


def executable() -> str:
    """The path every start of the launcher executes: the sealed copy of the verified binary
    (/proc/PID/fd/N of this process, which its children can open until they exec), made once
    per process and kept by forked workers. Where no sealed copy can be executed, the cached
    binary itself, verified each time this is asked (once per grading)."""
    held = _loaded.get("fd")
    if held is not None:
        pid, fd, inode = held
        try:
            if os.fstat(fd).st_ino == inode:
                if pid != os.getpid():
                    _loaded["fd"] = (os.getpid(), fd, inode)
                return f"/proc/{os.getpid()}/fd/{fd}"
        except OSError:
            pass
        del _loaded["fd"]
    built, data = _verified_or_rebuilt()
    fd = -1 if "unsealed" in _loaded or not children_may_open_our_fds() else _sealed_copy(data)
    if fd < 0:
        _loaded["unsealed"] = (0, -1, 0)
        return str(built)
    _loaded["fd"] = (os.getpid(), fd, os.fstat(fd).st_ino)
    return f"/proc/{os.getpid()}/fd/{fd}"


def held_descriptors() -> set[int]:
    """The descriptors a forked worker must keep open (the sealed launcher)."""
    held = _loaded.get("fd")
    return {held[1]} if held is not None else set()


def failure(fd: int) -> Optional[tuple[int, str]]:
    """(errno, message) the launcher wrote on its own channel (`-e FD`) when it could not
    exec what it was to start; None once that started. Asked after the launcher exited, so
    what it wrote is in the pipe: never blocks."""
    os.set_blocking(fd, False)
    data = b""
    try:
        while chunk := os.read(fd, 4096):
            data += chunk
    except BlockingIOError:
        pass
    text = data.decode("utf-8", "replace").strip()
    if not text:
        return None
    number, _, message = text.partition(" ")
    return (int(number), message or text) if number.isdigit() else (0, text)
