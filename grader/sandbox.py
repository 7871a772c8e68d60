"""How an untrusted program is started and how everything it started is ended.

Each student process gets its own session, resource limits, an unprivileged user when the
grader is root, a parent-death signal, and (where the kernel lets us) a pids cgroup per case.
The grader is a child subreaper, so even a double-forked, setsid'd grandchild stays our
descendant and is killed when its case ends.
"""
from __future__ import annotations

import ctypes
import os
import pwd
import resource
import secrets
import signal
import time
from dataclasses import dataclass
from typing import Callable, Optional

import psutil

from .settings import Settings

PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
MARKER = "GRADER_SANDBOX"        # environment variable every sandboxed process carries

_libc = ctypes.CDLL(None, use_errno=True)


def become_subreaper() -> bool:
    """Orphans of our descendants are re-parented to us instead of init."""
    return _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def _pids_hierarchy() -> Optional[str]:
    """The directory of our own cgroup in a hierarchy with the pids controller, if any."""
    try:
        with open("/proc/self/cgroup") as f:
            entries = [line.rstrip("\n").split(":", 2) for line in f]
    except OSError:
        return None
    for _, controllers, path in entries:
        if "pids" in controllers.split(","):
            base = "/sys/fs/cgroup/pids"
            return os.path.join(base, path.lstrip("/")) if os.path.isdir(base) else None
    for _, controllers, path in entries:
        if controllers == "":   # cgroup v2: pids must be enabled for children of our group
            base = os.path.join("/sys/fs/cgroup", path.lstrip("/"))
            try:
                with open(os.path.join(base, "cgroup.subtree_control")) as f:
                    return base if "pids" in f.read().split() else None
            except OSError:
                return None
    return None


@dataclass
class Policy:
    """What every student process of one grading run gets."""
    settings: Settings
    uid: Optional[int] = None        # drop to this user (grader running as root)
    gid: Optional[int] = None
    cgroup_parent: Optional[str] = None
    token: str = ""

    @classmethod
    def for_this_machine(cls, settings: Settings) -> "Policy":
        uid = gid = None
        if os.geteuid() == 0:
            try:
                entry = pwd.getpwnam(settings.sandbox_user)
                uid, gid = entry.pw_uid, entry.pw_gid
            except KeyError:
                pass
        parent = _pids_hierarchy()
        if parent and not os.access(parent, os.W_OK):
            parent = None
        return cls(settings, uid, gid, parent, secrets.token_hex(8))

    def describe(self) -> list[str]:
        user = pwd.getpwuid(self.uid).pw_name if self.uid is not None else "the grader's user"
        return [f"student programs run as {user}",
                "process limit: " + ("pids cgroup per case" if self.cgroup_parent
                                     else "RLIMIT_NPROC")]

    def env(self, base: Optional[dict[str, str]] = None) -> dict[str, str]:
        env = dict(base if base is not None else os.environ)
        env[MARKER] = self.token
        return env

    def preexec(self, cgroup: Optional["CaseCgroup"], trusted: bool = False) -> Callable[[], None]:
        """The function a forked child runs just before exec: limits, cgroup, user, death signal."""
        s, parent = self.settings, os.getpid()
        drop = self.uid is not None and not trusted

        def child() -> None:
            if os.getsid(0) != os.getpid():
                os.setsid()
            if cgroup is not None:
                cgroup.join()
            limits = [(resource.RLIMIT_CPU, s.cpu_seconds), (resource.RLIMIT_AS, s.address_space),
                      (resource.RLIMIT_NOFILE, s.open_files), (resource.RLIMIT_FSIZE, s.file_size),
                      (resource.RLIMIT_CORE, 0)]
            if cgroup is None and drop:
                limits.append((resource.RLIMIT_NPROC, s.max_processes))
            for which, value in limits:
                soft, hard = resource.getrlimit(which)
                value = value if hard == resource.RLIM_INFINITY else min(value, hard)
                resource.setrlimit(which, (value, value))
            if drop:
                os.setgroups([])
                os.setgid(self.gid)
                os.setuid(self.uid)
            # Set after the uid change, which would clear it.
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:
                os._exit(127)
        return child

    def give_dir(self, path: str) -> None:
        """Let the sandbox user own a scratch directory (and what is in it)."""
        if self.uid is None:
            return
        for root, dirs, files in os.walk(path):
            for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.lchown(name, self.uid, self.gid)


class CaseCgroup:
    """A pids cgroup for one case: caps forks, and lists every process to kill at the end."""

    _count = 0

    def __init__(self, parent: str, limit: int):
        CaseCgroup._count += 1
        self.path = os.path.join(parent, f"grader-{os.getpid()}-{CaseCgroup._count}")
        os.mkdir(self.path)
        with open(os.path.join(self.path, "pids.max"), "w") as f:
            f.write(str(limit))

    def join(self) -> None:
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    def pids(self) -> list[int]:
        try:
            with open(os.path.join(self.path, "cgroup.procs")) as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def destroy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids()
            for pid in pids:
                _kill(pid)
            reap(pids)
            try:
                os.rmdir(self.path)
                return
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.001)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def reap(pids: list[int]) -> None:
    """Collect the exit status of those of these that are our children, so no zombie stays."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def kill_descendants(keep: frozenset[int] = frozenset(), timeout: float = 2.0) -> list[int]:
    """SIGKILL every descendant of this process except `keep`; wait until they are gone."""
    try:
        victims = [p for p in psutil.Process().children(recursive=True) if p.pid not in keep]
    except psutil.Error:
        return []
    for p in victims:
        _kill(p.pid)
    psutil.wait_procs(victims, timeout=timeout)
    reap([p.pid for p in victims])
    return [p.pid for p in victims]
