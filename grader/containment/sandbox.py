"""The sandbox policy of a grading run, and how everything a program started is ended.

Each student process gets its own session, resource limits, an unprivileged user when the
grader is root, no way to gain privileges through exec, a parent-death signal, and (where the
kernel lets us) a pids cgroup per case. The grader is a child subreaper, so even a
double-forked, setsid'd grandchild stays our descendant and is killed when its case ends.
Every untrusted process starts through the C launcher (launcher.c), which applies these
rules and the private view of contain.py: there is no second copy of them in Python.

The decisions (which user, which process limit) are functions of their own so that
`grade doctor` shows exactly what a grading run would do, and why.
"""
from __future__ import annotations

import ctypes
import os
import pwd
import resource
import secrets
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from . import processes
from ..settings import Settings

PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
EMPTY_POLL = 0.001   # cgroup v1 has no event for "empty": how often destroy() looks again
MARKER = "GRADER_SANDBOX"        # environment variable every sandboxed process carries
NO_CGROUP = "GRADER_NO_CGROUP"   # set to 1: limit processes with RLIMIT_NPROC instead
CGROUP_PREFIX = "grader-"        # per-case cgroups are named grader-<grader pid>-<n>

_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent() -> int:
    """This process gets SIGKILL when its parent (thread) dies; 0 on success."""
    return _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def become_subreaper() -> bool:
    """Orphans of our descendants are re-parented to us instead of init."""
    return _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def _pids_hierarchy(own: str = "/proc/self/cgroup",
                    root: str = "/sys/fs/cgroup") -> tuple[Optional[str], str]:
    """Our own cgroup's directory in a hierarchy with the pids controller, or why there is none.

    In a container on cgroup v1 (Docker without a cgroup namespace), /proc/self/cgroup names
    the host's path (/docker/ID) while the mount shows that group as its root."""
    try:
        with open(own) as f:
            entries = [line.rstrip("\n").split(":", 2) for line in f]
    except OSError as e:
        return None, f"cannot read /proc/self/cgroup ({e.strerror})"
    for _, controllers, path in entries:
        if "pids" in controllers.split(","):
            base = os.path.join(root, "pids")
            if not os.path.isdir(base):
                return None, "the pids controller (cgroup v1) is not mounted at " + base
            ours = os.path.normpath(os.path.join(base, path.lstrip("/")))
            if not os.path.isdir(ours) and _holds_us(base):
                ours = base      # a container's mount shows its own group as the root
            return ours, ""
    for _, controllers, path in entries:
        if controllers == "":   # cgroup v2: pids must be enabled for children of our group
            base = os.path.normpath(os.path.join(root, path.lstrip("/")))
            try:
                with open(os.path.join(base, "cgroup.subtree_control")) as f:
                    if "pids" in f.read().split():
                        return base, ""
            except OSError:
                return None, f"cgroup v2 is not mounted at {root}{path}"
            return None, (f"the pids controller is not enabled for sub-groups of {base} "
                          "(cgroup v2 needs `+pids` in its cgroup.subtree_control)")
    return None, "this kernel has no pids cgroup controller"


def _holds_us(group: str) -> bool:
    """Whether this process is a member of the cgroup directory `group`."""
    try:
        with open(os.path.join(group, "cgroup.procs")) as f:
            return str(os.getpid()) in f.read().split()
    except OSError:
        return False


def cgroup_home() -> tuple[Optional[str], str]:
    """Where per-case pids cgroups are made, or None and why not."""
    if os.environ.get(NO_CGROUP):
        return None, f"pids cgroups disabled by {NO_CGROUP}"
    parent, why = _pids_hierarchy()
    if parent is None:
        return None, why
    try:
        read_only = os.statvfs(parent).f_flag & os.ST_RDONLY
    except OSError as e:
        return None, f"{parent} cannot be used ({e.strerror})"
    if read_only:
        return None, (f"{parent} is mounted read-only (as in a container), so no cgroup "
                      "can be made")
    if not os.access(parent, os.W_OK):
        return None, f"{parent} is not writable by this user; run the grader as root"
    return parent, ""


def sandbox_user(settings: Settings,
                 euid: Optional[int] = None) -> tuple[Optional[int], Optional[int], str]:
    """(uid, gid) to drop student programs to, or Nones and why they keep the grader's user."""
    euid = os.geteuid() if euid is None else euid
    if euid != 0:
        return None, None, "the grader is not root, so it cannot switch to another user"
    try:
        entry = pwd.getpwnam(settings.sandbox_user)
    except KeyError:
        return None, None, (f"the grader is root but user {settings.sandbox_user!r} does not "
                            "exist (create it, e.g. `useradd -r -s /usr/sbin/nologin nobody`)")
    if entry.pw_uid == 0:
        return None, None, f"user {settings.sandbox_user!r} is root"
    return entry.pw_uid, entry.pw_gid, ""


def _processes_of(uid: int) -> int:
    """How many processes this real uid has now (the base RLIMIT_NPROC is counted against)."""
    count = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                count += os.stat(f"/proc/{name}").st_uid == uid
            except OSError:
                pass
    return count


@dataclass
class Policy:
    """What every student process of one grading run gets."""
    settings: Settings
    uid: Optional[int] = None        # drop to this user (grader running as root)
    gid: Optional[int] = None
    cgroup_parent: Optional[str] = None
    token: str = ""
    why_no_user: str = ""            # why student programs keep the grader's user
    why_no_cgroup: str = ""          # why the process limit is RLIMIT_NPROC
    euid: int = field(default_factory=os.geteuid)
    user_name: str = ""              # the sandbox user's name in the programs' view
    rules: Any = None                # contain.Rules: how the launcher contains a program

    @classmethod
    def for_this_machine(cls, settings: Settings, euid: Optional[int] = None) -> "Policy":
        euid = os.geteuid() if euid is None else euid
        uid, gid, why_user = sandbox_user(settings, euid)
        parent, why_cgroup = cgroup_home()
        return cls(settings, uid, gid, parent, secrets.token_hex(8), why_user, why_cgroup, euid)

    @property
    def unsafe_as_root(self) -> bool:
        """Root without a user to drop to: untrusted programs must not run at all."""
        return self.euid == 0 and self.uid is None

    def describe(self, trusted: bool = False) -> list[str]:
        """One line per decision, for the notes at the top of every report."""
        if trusted:
            return ["the program is the operator's own command: it runs as the grader's user"]
        if self.uid is not None:
            name = self.user_name or pwd.getpwuid(self.uid).pw_name
            user = f"student programs run as {name} (uid {self.uid})"
        else:
            user = f"student programs run as the grader's user ({self.why_no_user})"
        if self.cgroup_parent:
            limit = f"process limit: pids cgroup per case ({self.settings.max_processes})"
        else:
            limit = f"process limit: RLIMIT_NPROC ({self.why_no_cgroup})"
        return [user, limit]

    def env(self, base: Optional[dict[str, str]] = None) -> dict[str, str]:
        env = dict(base if base is not None else os.environ)
        env[MARKER] = self.token
        return env

    def limits(self, cgroup: Optional["CaseCgroup"], drop: bool) -> list[tuple[int, int]]:
        """The rlimits a student process gets: (resource, value) for soft and hard alike."""
        s = self.settings
        memory = container_memory()
        space = s.address_space if memory is None else min(s.address_space, memory)
        limits = [(resource.RLIMIT_CPU, s.cpu_seconds), (resource.RLIMIT_AS, space),
                  (resource.RLIMIT_NOFILE, s.open_files), (resource.RLIMIT_FSIZE, s.file_size),
                  (resource.RLIMIT_CORE, 0)]
        if cgroup is None and (drop or os.getuid() != 0):    # root ignores RLIMIT_NPROC
            # RLIMIT_NPROC counts every process of the real user: the sandbox user's are only
            # ours; the grader's own user already has some, which must not count against us.
            base = 0 if drop else _processes_of(os.getuid())
            limits.append((resource.RLIMIT_NPROC, base + s.max_processes))
        return limits

    def give_dir(self, path: str) -> None:
        """Let the sandbox user own a scratch directory (and what is in it)."""
        if self.uid is None or self.gid is None:
            return
        for root, dirs, files in os.walk(path):
            for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.lchown(name, self.uid, self.gid)


class CaseCgroup:
    """A pids cgroup for one case: caps forks, and lists every process to kill at the end."""

    _count = 0

    def __init__(self, parent: str, limit: int):
        CaseCgroup._count += 1
        self.path = os.path.join(parent, f"{CGROUP_PREFIX}{os.getpid()}-{CaseCgroup._count}")
        os.mkdir(self.path)
        try:
            with open(os.path.join(self.path, "pids.max"), "w") as f:
                f.write(str(limit))
        except OSError:
            os.rmdir(self.path)
            raise

    def join(self) -> None:
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    def pids(self) -> list[int]:
        return processes.cgroup_members(self.path)

    def destroy(self, timeout: float) -> None:
        """Kill every member until the group is empty, then remove it."""
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids()
            for pid in pids:
                processes.kill(pid)
            processes.reap(pids)
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(EMPTY_POLL)


# The memory of the cgroup this grader runs in, as a container sees its own (cgroup v2, v1).
MEMORY_LIMIT_FILES = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
# Its count of OOM kills: "oom_kill N" in memory.events (v2) or memory.oom_control (v1).
OOM_FILES = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")
_UNLIMITED = 1 << 60      # cgroup v1 writes "no limit" as a page-rounded 2**63 - 1


def container_memory(files: Optional[tuple[str, ...]] = None) -> Optional[int]:
    """The bytes the grader's container may use (Docker's --memory), or None: no limit, or
    none this machine shows. A program's address-space limit is kept below it, so that a
    program that allocates too much gets a failed malloc, not the container's OOM killer."""
    for path in files or MEMORY_LIMIT_FILES:
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text == "max" or not text.isdigit() or int(text) >= _UNLIMITED:
            return None
        return int(text)
    return None


def oom_kills(files: Optional[tuple[str, ...]] = None) -> Optional[int]:
    """How many processes the kernel's OOM killer has killed in the grader's cgroup, or None
    where it does not say: a SIGKILL nobody of ours sent is then told apart from ours."""
    for path in files or OOM_FILES:
        try:
            with open(path) as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill" and value.strip().isdigit():
                        return int(value)
        except OSError:
            continue
    return None
