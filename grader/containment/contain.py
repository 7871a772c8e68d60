"""Containment: the one way every untrusted process is started, and what it may see.

Each check's program (in a pty or not), each usage run, each `make` and everything they start
go through the C launcher (grader/containment/launcher.c) with one set of rules, built here:

- a private mount view: fresh tmpfs on /tmp, /var/tmp and /dev/shm (gone with the process, so
  nothing left there outlives it), the run's files read-only except the one directory the
  process works in, and our own /etc/passwd and /etc/group in which its uid has a name and the
  course account (pn-cs357) has a home holding our talk library, and an /etc/hosts that also
  names the reference peers' own loopback address, and localhost where the machine does not;
- a private IPC namespace (System V shared memory, semaphores and queues die with it);
- a login uid, so that glibc's getlogin() names the user as on a terminal one logs in at, and
  (where the machine has a utmp file) a private one with a record of that user on its pty;
- the grading's PID namespace, where the kernel gives one: `kill(-1, ...)` reaches nothing
  outside this run, and when the grader dies every process in it dies;
- as root, a uid of its own per grading (a configurable range of unused ids, leased with a lock
  while the grading runs), so that students graded in parallel cannot signal, trace or read
  each other; unique across the containers of one host too (see lease_uid); what an earlier
  lease of the uid left in the machine's shared writable directories (/run/lock, ...) and its
  kernel keyrings is removed before it is leased again.

As a normal user the launcher first enters a user namespace of its own (mapping the user to
itself), which gives it the right to make the mount and IPC namespaces. Where the kernel
refuses (no unprivileged user namespaces), programs run without a private view: the weaker
mode that `grade doctor` reports.
"""
from __future__ import annotations

import atexit
import ctypes
import fcntl
import grp
import importlib.util
import os
import platform
import pwd
import resource
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence

from . import buildcache, launcher, processes
from .sandbox import CaseCgroup, Policy
from ..settings import Settings

CLONE_NEWPID, CLONE_NEWNS = 0x20000000, 0x00020000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 0x4000, 0x40000
MNT_DETACH = 2
PRIVATE_TMP = ("/tmp", "/var/tmp", "/dev/shm")
# Directories of the machine any uid may write to, where an earlier lease may have left files.
SHARED_WRITABLE = ("/run/lock", "/tmp", "/var/tmp", "/dev/shm")
_SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(platform.machine())
KEYCTL_CLEAR, KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING = 7, -4, -5
COURSE_ACCOUNT = "pn-cs357"
HOSTS = "/etc/hosts"                                   # the machine's
LOCALHOST = ("127.0.0.1\tlocalhost", "::1\tlocalhost")   # in the view when the machine lacks them
MACHINE_ETC = "/.machine-etc"     # where a view with an /etc of its own shows the machine's
NO_VIEW = "GRADER_NO_VIEW"      # set to 1: run without the private mount view (to test that path)

_libc = ctypes.CDLL(None, use_errno=True)
_state: dict[str, object] = {}


# -- what this machine gives ---------------------------------------------------------------

def probe() -> tuple[bool, str]:
    """Whether the launcher can give programs a private mount view and IPC namespace here.

    Tried for real once per process (a throw-away /bin/true, about 2 ms); the answer is kept.
    """
    if "view" in _state:
        return _state["view"]  # type: ignore[return-value]
    if os.environ.get(NO_VIEW):
        answer = (False, f"disabled by {NO_VIEW}")
    else:
        flags = ["-m", "-i"] + ([] if os.geteuid() == 0 else ["-U"])
        try:
            done = subprocess.run([launcher.executable(), *flags, "-t", "/tmp", "--", "true"],
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=30)
            answer = (True, "") if done.returncode == 0 else (
                False, done.stderr.strip().replace("grader launcher: ", "") or "refused")
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
            answer = (False, str(e))
    _state["view"] = answer
    return answer


def pid_namespace() -> tuple[Optional[int], str]:
    """Put every later child of this process in a new PID namespace; returns its init's pid.

    The init is the launcher in its reaper mode: it dies with this process (parent-death
    signal), and the kernel then kills everything in the namespace. One per process, kept for
    the process's lifetime (without it, this process could not fork again): later gradings in
    the same process reuse it. It carries no run's marker, so no watchdog kills it.
    """
    if "init" in _state:
        init = _state["init"]
        if init is not None and _alive(init):  # type: ignore[arg-type]
            return init, ""  # type: ignore[return-value]
        return None, str(_state.get("why_no_pidns", "its init is gone"))
    try:
        path = launcher.executable()           # built before: gcc must not become the init
        same = os.readlink("/proc/self/ns/pid") == os.readlink("/proc/self/ns/pid_for_children")
        if not same:
            raise OSError(0, "this process already made one")
        if _libc.unshare(CLONE_NEWPID) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    except (OSError, RuntimeError) as e:
        why = getattr(e, "strerror", None) or str(e)
        _state.update(init=None, why_no_pidns=why)
        return None, why
    proc_dir = _private_proc_dir() if os.geteuid() != 0 else None
    mount_proc = None
    if proc_dir is not None:
        def mount_proc() -> None:        # in the init, the namespace's first process
            _libc.mount(b"proc", str(proc_dir).encode(), b"proc",
                        MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    init = subprocess.Popen([path, "-I", str(os.getpid())], env={}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True,
                            preexec_fn=mount_proc)
    if proc_dir is not None:
        atexit.register(_forget_dir, proc_dir)
        if (proc_dir / "1").is_dir():          # mounted: its first process is our init
            _state["proc"] = proc_dir
    _state["init"] = init.pid
    _state["init_proc"] = init       # keep the object: its pid must not be reaped by others
    return init.pid, ""


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWPID) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def peer_pid_namespace() -> Optional[int]:
    """A second PID namespace beside the grading's (for the other program of an interop pair,
    so that neither can signal, trace or even name the other); a descriptor of it, or None.

    Made once per process, like pid_namespace(): this process returns to its own namespace,
    makes a new one with its own init, then goes back to the grading's. in_peer_namespace()
    starts a program in it.
    """
    if "peer" in _state:
        return _state["peer"]  # type: ignore[return-value]
    _state["peer"] = None
    if _state.get("init") is None:
        return None
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    grading = os.open("/proc/self/ns/pid_for_children", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(own)
        if _libc.unshare(CLONE_NEWPID) != 0:
            return None
        peer = os.open("/proc/self/ns/pid_for_children", os.O_RDONLY | os.O_CLOEXEC)
        init = subprocess.Popen([launcher.executable(), "-I", str(os.getpid())], env={},
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, close_fds=True)
        _state.update(peer=peer, peer_init=init.pid, peer_init_proc=init, grading_ns=grading)
        return peer
    except OSError:
        return None
    finally:
        _setns(grading)
        os.close(own)
        if _state.get("grading_ns") != grading:
            os.close(grading)


@contextmanager
def in_peer_namespace() -> Iterator[bool]:
    """Programs started in the body are in the peer PID namespace (True), or, where there is
    none, in the grading's (False)."""
    peer = peer_pid_namespace()
    if peer is None:
        yield False
        return
    _setns(peer)
    try:
        yield True
    finally:
        _setns(_state["grading_ns"])  # type: ignore[arg-type]


def helpers() -> set[int]:
    """The pids of this process's namespace inits (which the end of a case must not kill)."""
    return {pid for pid in (_state.get("init"), _state.get("peer_init")) if pid is not None}  # type: ignore[misc]


def namespace_proc() -> Optional[Path]:
    """As a normal user, a /proc of the grading's PID namespace for programs' views (the
    machine's /proc would lead them through /proc/PID/root of the user's other processes to
    every file of the user); None where it could not be made (then they get the machine's)."""
    return _state.get("proc")  # type: ignore[return-value]


def bounded_disk(run_dir: Path, size: int, inodes: int) -> tuple[bool, str]:
    """A tmpfs of `size` bytes and `inodes` files on run_dir (still empty), so that a build or
    a program cannot fill the machine's disk or its inodes: in a mount namespace of this
    process's own, so no one else sees it and it vanishes with the process and its children
    (the watchdog among them). False and why where no mount namespace can be had."""
    if _libc.unshare(CLONE_NEWNS) != 0:
        return False, os.strerror(ctypes.get_errno())
    if _libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return False, os.strerror(ctypes.get_errno())
    options = f"mode=711,size={size},nr_inodes={inodes}".encode()
    if _libc.mount(b"tmpfs", str(run_dir).encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                   options) != 0:
        return False, os.strerror(ctypes.get_errno())
    return True, ""


def release_disk(run_dir: Path) -> None:
    """Detach bounded_disk()'s tmpfs (its files go with it); nothing where there is none."""
    _libc.umount2(str(run_dir).encode(), MNT_DETACH)


def _forget_dir(path: Path) -> None:
    _libc.umount2(str(path).encode(), 2)       # MNT_DETACH
    try:
        path.rmdir()
    except OSError:
        pass


def _private_proc_dir() -> Optional[Path]:
    """An empty directory in a mount namespace of this process's own, for namespace_proc()."""
    if _libc.unshare(CLONE_NEWNS) != 0:
        return None
    return Path(tempfile.mkdtemp(prefix="grader-proc-"))


def probe_pid_namespace() -> tuple[bool, str]:
    """Whether pid_namespace() would work here, tried in a throw-away child (for doctor)."""
    def attempt() -> None:
        if os.geteuid() != 0:
            from . import netns
            netns._enter()
        if _libc.unshare(CLONE_NEWPID) != 0:
            errno_ = ctypes.get_errno() or 1
            raise OSError(errno_, os.strerror(errno_))
        child = os.fork()          # the namespace's first process: it exists, so it works
        if child == 0:
            os._exit(0)
        os.waitpid(child, 0)
    return processes.try_in_child(attempt)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


# -- a uid per grading ---------------------------------------------------------------------

@dataclass
class Lease:
    uid: int
    gid: int
    name: str
    fd: int = -1

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _uids_in_use() -> set[int]:
    used = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                used.add(os.stat(f"/proc/{name}").st_uid)
            except OSError:
                pass
    return used


def lease_uid(settings: Settings, lock_dir: Path,
              named: bool = False) -> tuple[Optional[Lease], str]:
    """A uid from the configured range that no other grading holds and nothing runs as.

    Containers on one host see neither each other's processes nor each other's locks, yet
    RLIMIT_NPROC counts a kernel uid across the host: each starts its search where the inode
    of its PID namespace points (distinct for live namespaces, close together for one host's
    containers), and skips a uid that a probe finds running anywhere. `named`: only uids that
    `grade prepare-image` named (where no private passwd can be shown, a uid needs a name).
    """
    if settings.sandbox_uid_count <= 0:
        return None, "no uid range is configured (sandbox_uid_count = 0)"
    first, count = settings.sandbox_uid_first, settings.sandbox_uid_count
    if not _mapped(first, count):
        return None, f"uids {first}-{first + count - 1} are not mapped in this container"
    lock_dir.mkdir(mode=0o700, exist_ok=True)
    busy = _uids_in_use()
    start = _search_start(count)
    for uid in (first + (start + i) % count for i in range(count)):
        name = _name(uid)
        if uid in busy or (name != settings.sandbox_login if named else
                           name not in (None, settings.sandbox_login)):
            continue
        fd = os.open(lock_dir / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW
                     | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if _running_elsewhere(uid):
            os.close(fd)
            continue
        forget_uid(uid)
        return Lease(uid, uid, settings.sandbox_login, fd), ""
    if named:
        return None, (f"no free uid of {first}-{first + count - 1} is named "
                      f"{settings.sandbox_login} in /etc/passwd (run `grade prepare-image` as "
                      "root where the image is built)")
    return None, f"all {count} uids from {first} are in use"


def forget_uid(uid: int, dirs: Sequence[str] = SHARED_WRITABLE) -> None:
    """Remove what an earlier holder of `uid` left: its files and directories right in the
    machine's shared writable directories (never following a link), and the keys of its user
    keyrings, which the kernel keeps per uid after its last process has ended."""
    for d in dirs:
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass
    if _SYS_KEYCTL is not None and os.geteuid() == 0:
        def clear() -> None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            for ring in (KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING):
                _libc.syscall(ctypes.c_long(_SYS_KEYCTL), ctypes.c_long(KEYCTL_CLEAR),
                              ctypes.c_long(ring))
        processes.try_in_child(clear)


def _search_start(count: int) -> int:
    try:
        return os.stat("/proc/self/ns/pid").st_ino % count
    except OSError:
        return 0


def _running_elsewhere(uid: int) -> bool:
    """Whether uid has a process this /proc cannot show (another container's): a child as that
    uid, allowed two processes of it in all, tries to fork a second (root only)."""
    if os.geteuid() != 0:
        return False

    def attempt() -> None:
        resource.setrlimit(resource.RLIMIT_NPROC, (2, 2))
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    return not processes.try_in_child(attempt)[0]


def _name(uid: int) -> Optional[str]:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def _mapped(first: int, count: int) -> bool:
    try:
        with open("/proc/self/uid_map") as f:
            for line in f:
                inside, _, length = (int(x) for x in line.split())
                if inside <= first and first + count <= inside + length:
                    return True
    except (OSError, ValueError):
        return True
    return False


# -- the files of the view ---------------------------------------------------------------

@dataclass
class View:
    """The run's own passwd, group and login-uid files, and the course account's home."""
    root: Path                   # run_dir/view
    uid: int
    gid: int
    name: str
    course_home: Path            # run_dir/pn-cs357: its Given/Talk is our talk library
    new_root: Path               # run_dir/root: where the launcher builds the program's root
    hosts: bool = False          # our /etc/hosts (the machine's, and the reference peers' name)
    own_etc: bool = False        # the machine has no /etc/hosts: our /etc holds one (see below)

    @classmethod
    def write(cls, run_dir: Path, uid: int, gid: int, name: str,
              peer: Optional[tuple[str, str]] = None, directory: str = "view") -> "View":
        root = run_dir / directory
        root.mkdir(mode=0o755)
        home = run_dir / COURSE_ACCOUNT
        home.mkdir(mode=0o755, exist_ok=True)
        new_root = run_dir / ("root" if directory == "view" else f"root-{directory}")
        new_root.mkdir(mode=0o755)
        view = cls(root, uid, gid, name, home, new_root)
        keep = [line for line in _read("/etc/passwd")
                if line.split(":")[0] not in (name, COURSE_ACCOUNT)
                and _field(line, 2) != str(uid)]
        if not any(_field(line, 2) == str(uid) for line in keep):
            keep.append(f"{name}:x:{uid}:{gid}:student program:/tmp:/bin/sh")
        keep.append(f"{COURSE_ACCOUNT}:x:{_free_id(keep)}:{_free_id(keep)}:course account "
                    f"(the grader's talk library):{home}:/usr/sbin/nologin")
        groups = [line for line in _read("/etc/group")
                  if line.split(":")[0] != name and _field(line, 2) != str(gid)]
        if not _known_group(gid) or os.geteuid() == 0:
            groups.append(f"{name}:x:{gid}:")
        for fname, lines in (("passwd", keep), ("group", groups)):
            (root / fname).write_text("\n".join(lines) + "\n")
            (root / fname).chmod(0o644)
        (root / "loginuid").write_text(str(uid))
        (root / "loginuid").chmod(0o644)
        view.hosts, view.own_etc = _write_hosts(root, peer)
        return view

    def flags(self) -> list[str]:
        if self.own_etc:      # the machine's /etc moves aside; ours links to it, hosts added
            hosts = ["-r", f"/etc={MACHINE_ETC}", "-r", f"{self.root / 'etc'}=/etc"]
        else:
            hosts = ["-r", f"{self.root / 'hosts'}=/etc/hosts"] if self.hosts else []
        return hosts + ["-r", f"{self.root / 'passwd'}=/etc/passwd",
                        "-r", f"{self.root / 'group'}=/etc/group",
                        "-o", str(self.uid), "-O", str(self.root / "loginuid"), "-W", self.name]


def _names_localhost(lines: list[str]) -> bool:
    return any("localhost" in line.split("#")[0].split()[1:] for line in lines)


def _write_hosts(root: Path, peer: Optional[tuple[str, str]]) -> tuple[bool, bool]:
    """The view's /etc/hosts: the machine's, with the reference peers' name, and localhost
    where the machine does not name it (a minimal system without /etc/hosts, where a
    correct program could not resolve the host its checks give it). (hosts, own_etc).

    A file cannot be bound where none exists, and the view's /etc is the machine's, read-only:
    without a machine /etc/hosts, the view's /etc is a directory of our own whose entries
    link to the machine's /etc (bound at MACHINE_ETC), with our hosts file among them.
    """
    machine = os.path.isfile(HOSTS)
    lines = _read(HOSTS) if machine else []
    if peer is not None:
        host, addr = peer
        lines = [line for line in lines if addr not in line.split() and host not in line.split()]
        lines.append(f"{addr}\t{host}")
    if not _names_localhost(lines):
        lines = list(LOCALHOST) + lines
    elif peer is None:
        return False, False                 # the machine's own file is right as it is
    target = root / "hosts"
    if not machine:
        etc = root / "etc"
        etc.mkdir(mode=0o755)
        for name in sorted(os.listdir("/etc")):
            if name != "hosts":
                (etc / name).symlink_to(f"..{MACHINE_ETC}/{name}")
        target = etc / "hosts"
    target.write_text("\n".join(lines) + "\n")
    target.chmod(0o644)
    return True, not machine


def _read(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    except OSError:
        return []


def _field(line: str, n: int) -> str:
    parts = line.split(":")
    return parts[n] if len(parts) > n else ""


def _free_id(lines: list[str]) -> int:
    used = {_field(line, 2) for line in lines}
    return next(i for i in range(35700, 65000) if str(i) not in used)


def _known_group(gid: int) -> bool:
    try:
        grp.getgrgid(gid)
        return True
    except KeyError:
        return False


# -- what a program sees -------------------------------------------------------------------

# The allow-list: the system trees a program or a build sees (read-only), besides its run
# directory and its private tmpfs. Nothing else of the machine is in its view.
SYSTEM_VIEW = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/dev",
               "/sys")
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"   # programs' PATH
VIEW_SHARE = "GRADER_VIEW_SHARE"   # directories (os.pathsep) programs also see, writable: for
                                   # the grader's own tests (the hostile fixtures' reports)


def grader_files() -> list[Path]:
    """The grader's own files: its packages (and the source tree they come from), its
    virtual environment and its cache. Outside the allow-list they are not in a program's
    view at all; inside it (a pip install under /usr/local or /usr/lib/python3, a venv under
    /usr) each is masked with an empty directory."""
    here = Path(__file__).resolve().parents[1]   # grader
    found = [here, buildcache.cache_root()]
    for package in ("reference", "cases"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            found += [Path(p).resolve() for p in spec.submodule_search_locations]
    if (here.parent / "reference").is_dir():          # a source checkout: the whole tree
        found.append(here.parent)
    if sys.prefix != sys.base_prefix:                  # a virtual environment
        found.append(Path(sys.prefix).resolve())
    return sorted(set(found))


def _others_read(path: Path) -> bool:
    """Readable by a user who is neither its owner nor in its group, all the way down."""
    try:
        if not os.stat(path).st_mode & 0o004:
            return False
        return all(os.stat(p).st_mode & 0o001 for p in path.parents)
    except OSError:
        return False


NOT_TAMPER_PROOF = "results are not tamper-proof"


def tamper_warning(notes: Sequence[str] = (), viewed: Optional[bool] = None,
                   euid: Optional[int] = None) -> Optional[str]:
    """What a batch's summaries say first when its results could have been changed by the
    programs it graded: a non-root grader without a private view (seen here, or in one of the
    students' notes), or None."""
    if viewed is not None and euid is not None and euid != 0 and not viewed:
        return TAMPER_WARNING
    return TAMPER_WARNING if any(NOT_TAMPER_PROOF in n for n in notes) else None


TAMPER_WARNING = (f"{NOT_TAMPER_PROOF}: the students' programs ran as the grading user without "
                  "a private view, so they could change the grader, its cache and these files; "
                  "grade as root, or where user namespaces are allowed, for credit")


def grader_exposure(viewed: bool, euid: int) -> tuple[bool, str]:
    """Whether programs are kept from the grader's own files, and how or why not: what
    `grade doctor` and a run's notes say, never more than there is."""
    if viewed:
        return True, ("not in the programs' view: they see only " + ", ".join(SYSTEM_VIEW)
                      + " (read-only), their run and their own tmpfs; the grader's files "
                      "inside those trees are masked")
    if euid != 0:
        return False, ("programs run as your user without a private view: they can read and "
                       "change the grader's package, its cache and its launcher, and signal "
                       "or trace the grader and its watchdog, so the results are not "
                       "tamper-proof")
    readable = [str(p) for p in grader_files() if _others_read(p)]
    if readable:
        return False, ("programs run as another user but see the whole file system, and can "
                       "read " + ", ".join(readable) + " (make them root-only)")
    return True, ("programs run as another user, and none of the grader's files is readable "
                  "by it")


def shared_dirs() -> list[Path]:
    return [Path(p) for p in os.environ.get(VIEW_SHARE, "").split(os.pathsep) if p]


# -- the launcher's command ----------------------------------------------------------------

@dataclass
class Rules:
    """What one grading's untrusted processes get; `command` turns it into launcher options."""
    launcher: str
    parent: int
    view: Optional[View] = None            # None: no private mount view (the weaker mode)
    userns: bool = False                   # not root: the launcher makes a user namespace first
    proc: bool = False                     # a fresh /proc (root, in the run's PID namespace)
    run_dir: Optional[Path] = None
    hidden: tuple = ()                     # masked with an empty directory (grader_files())
    proc_dir: Optional[Path] = None        # as a normal user: namespace_proc(), bound on /proc

    def command(self, *, limits: Sequence[tuple[int, int]], uid: Optional[int],
                gid: Optional[int], cgroup_procs: Optional[str], workdir: Optional[Path],
                writable: Sequence[Path] = (), contained: bool = True) -> list[str]:
        """The launcher's argv up to and including "--"; the program's argv follows."""
        argv = [self.launcher, "-P", str(self.parent)]
        if cgroup_procs:
            argv += ["-c", cgroup_procs]
        if contained and self.view is not None:
            argv += (["-U"] if self.userns else []) + ["-m", "-i", "-R", str(self.view.new_root)]
            for d in SYSTEM_VIEW:
                argv += ["-s", d]
            for d in PRIVATE_TMP:
                argv += ["-t", d]
            if self.proc:
                argv.append("-p")
            elif self.proc_dir is not None:
                argv += ["-q", str(self.proc_dir)]
            for d in self.hidden:
                argv += ["-h", str(d)]
            if self.run_dir is not None:
                argv += ["-r", f"{self.run_dir}={self.run_dir}"]
            for w in [*writable, *shared_dirs()]:
                argv += ["-b", f"{w}={w}"]
            argv += self.view.flags()
            if workdir is not None:
                argv += ["-C", str(workdir)]
        elif contained:      # any process may set its unset login uid once: getlogin() works
            argv += ["-o", str(uid if uid is not None else os.getuid())]
        for which, value in limits:
            argv += ["-l", f"{which}={value}"]
        if uid is not None and gid is not None:
            argv += ["-u", str(uid), "-g", str(gid)]
        return argv + ["--"]


def command(policy: Policy, cgroup: Optional[CaseCgroup], trusted: bool,
            workdir: Optional[Path] = None, writable: tuple = ()) -> list[str]:
    """The launcher's argv, up to and including "--": the program's argv follows it.

    Untrusted programs get the whole containment (policy.rules); the operator's own commands
    (trusted) only the session, limits and death signal.
    """
    drop = policy.uid is not None and not trusted
    limits = policy.limits(cgroup, drop)
    procs = os.path.join(cgroup.path, "cgroup.procs") if cgroup is not None else None
    if policy.rules is None:
        policy.rules = Rules(launcher.executable(), os.getpid())
    return policy.rules.command(limits=limits, uid=policy.uid if drop else None,
                                gid=policy.gid if drop else None, cgroup_procs=procs,
                                workdir=workdir, writable=writable, contained=not trusted)
