"""Processes, as the grader sees them: their state, their trees, their cgroups, their end.

Every helper that kills, reaps or reads a process lives here once, so that the sandbox, the
program under test, the build and the watchdog agree on what "still running" means.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar, Union

import psutil


def state(pid: int) -> str:
    """The kernel's scheduling state: R running, S sleeping, Z exited, ...; "Z" once gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0].decode()
    except (OSError, IndexError):
        return "Z"


def alive(pid: int) -> bool:
    """Still running: a zombie has exited and only waits for its parent to read its status."""
    return state(pid) != "Z"


def tree(pid: int) -> list[int]:
    """The process and every descendant it has now."""
    try:
        root = psutil.Process(pid)
        return [pid] + [p.pid for p in root.children(recursive=True)]
    except psutil.Error:
        return []


def cgroup_members(group: Union[str, Path]) -> list[int]:
    """The processes in a cgroup (none when it is gone)."""
    try:
        with open(os.path.join(group, "cgroup.procs")) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def kill(pid: int) -> None:
    """SIGKILL, where the process still exists and may be signalled."""
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_group(proc: subprocess.Popen) -> None:
    """End a process we started in a session of its own, with its whole group; reap it."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.wait()


def reap(pids: list[int]) -> None:
    """Collect the exit status of those of these that are our children, so no zombie stays."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def reap_orphans() -> None:
    """Collect every child that has already exited (orphans re-parented to us, the subreaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_descendants(keep: frozenset[int] = frozenset(), timeout: float = 2.0) -> list[int]:
    """SIGKILL every descendant of this process except `keep`; wait until they are gone.

    Repeated until none is left, because a descendant may fork while we kill its siblings.
    """
    deadline = time.monotonic() + timeout
    killed: list[int] = []
    while True:
        try:
            procs = [p for p in psutil.Process().children(recursive=True) if p.pid not in keep]
        except psutil.Error:
            procs = []
        reap([p.pid for p in procs])        # the zombies among them that are ours
        victims = [p for p in procs if alive(p.pid)]
        if not victims:
            return killed
        for p in victims:
            kill(p.pid)
        killed += [p.pid for p in victims]
        psutil.wait_procs(victims, timeout=max(deadline - time.monotonic(), 0.01))
        reap([p.pid for p in victims])
        if time.monotonic() > deadline:
            return killed


def try_in_child(attempt: Callable[[], None]) -> tuple[bool, str]:
    """Whether attempt() succeeds, tried in a throw-away child, so that what it changes (its
    namespaces) never reaches the caller; (ok, why not) from the error number it raised."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:      # whatever happens here, the child must never return into the caller
        code = 1
        try:
            attempt()
            code = 0
        except OSError as e:
            code = (e.errno or 1) % 256 or 1
        finally:
            try:
                os.write(w, bytes([code]))
            finally:
                os._exit(0)
    os.close(w)
    try:
        answer = os.read(r, 1)
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    if answer == b"\0":
        return True, ""
    return False, os.strerror(answer[0]) if answer else "the probe died"


_libc = ctypes.CDLL(None, use_errno=True)


@contextmanager
def as_owner_of(pid: int) -> Iterator[None]:
    """This thread's file-system uid and gid are pid's owner's meanwhile (as root only): the
    kernel lets a reader whose ids all match the program's read what a tracer may (its
    syscall, environ, mem, fd and root under /proc), which root without CAP_SYS_PTRACE (a
    container's default capabilities) may not. A per-thread setting, put back at once."""
    owner = os.stat(f"/proc/{pid}")
    _libc.setfsgid(owner.st_gid)
    _libc.setfsuid(owner.st_uid)
    try:
        yield
    finally:
        _libc.setfsuid(0)
        _libc.setfsgid(0)


T = TypeVar("T")


def traced(pid: int, look: Callable[[], T]) -> T:
    """look() at what under /proc/PID only a tracer may read; denied as root, again as the
    program's owner (as_owner_of)."""
    try:
        return look()
    except PermissionError:
        if os.geteuid() != 0:
            raise
        with as_owner_of(pid):
            return look()


def read_traced(pid: int, path: str) -> bytes:
    """The bytes of a file under /proc/PID that only a tracer may read (environ, syscall)."""
    def read() -> bytes:
        with open(path, "rb") as f:
            return f.read()
    return traced(pid, read)


def proc_readlink(pid: int, path: str) -> str:
    """os.readlink of a link under /proc/PID that only a tracer may read (exe, fd/N)."""
    return traced(pid, lambda: os.readlink(path))
