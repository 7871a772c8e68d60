"""What a student's program executes (issue 16, point 4): every execve and execveat of the
program and of everything it starts is seen, recorded and judged by the manifest's
`allow_exec`.

mytalk and the lecture programs have no reason to run another program; one that runs
python3, or /bin/sh to run python3, is running someone else's solution. The launcher
(`-x FD`, launcher.c) installs a seccomp filter whose execs wait for our answer (a user
notification) and sends us its descriptor; a thread here reads each exec's path from the
process's memory, records it, and lets it go on (allowed) or fails it with EPERM (not
allowed: the check then fails, naming what was executed); a path where there is no file gets
ENOENT without a record (execvp trying each directory of PATH). The first exec of each
launcher is the program the grader asked for. One thread per process serves every grading in
it (a grading's PID namespace forbids the process a second).

Where the kernel gives no user notifications (before Linux 5.5, or a container's profile
that refuses them), the thread samples instead: every `exec_sample_interval` it reads which
program each process of the case runs. That sees every program that runs for longer than the
interval (a reference peer must run for the whole chat), not one that exits at once; doctor
and the run's notes say which of the two a grading had.

Limit of the notifications: the path is read before the kernel reads it, so a program with
two threads could change it in between; what then runs is caught by the sampling every check
ends with (`Watch.judge`), if it still runs.
"""
from __future__ import annotations

import array
import ctypes
import errno
import os
import platform
import select
import socket
import struct
import subprocess
import threading
from dataclasses import dataclass
from typing import Any, Optional, Union

from ..containment import members, processes
from .case import CheckFailure
from ..settings import Settings

AllowExec = Union[bool, tuple[str, ...]]
SAMPLED = "GRADER_EXEC_SAMPLED"   # set to 1: sample execs, as where the kernel refuses to notify
PROBE_TIMEOUT = 30                # doctor's trial exec: far above its few milliseconds

_NOTIF_SIZE = 80                  # struct seccomp_notif
_RECV, _SEND, _ID_VALID = 0xC0502100, 0xC0182101, 0x40082102
_CONTINUE = 1
_EXECVEAT = {"x86_64": 322, "aarch64": 281}.get(platform.machine(), -1)
_AT_FDCWD, _AT_EMPTY_PATH = -100, 0x1000
_SYS_OPENAT2 = 437 if platform.machine() in ("x86_64", "aarch64") else None
_RESOLVE_IN_ROOT = 0x10
_libc = ctypes.CDLL(None, use_errno=True)
_libc.ioctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)


@dataclass
class Exec:
    """One program a student process executed."""
    program: str            # who did it, as the student knows it ("mytalk")
    path: str               # what it executed, as it named it
    allowed: bool
    how: str = "seen"       # "seen" (a notification) or "sampled"

    def says(self) -> str:
        ran = self.allowed or self.how == "sampled"      # sampled: it ran, nothing refused it
        return f"{self.program} {'started' if ran else 'tried to start'} {self.path}"


def kernel_refusal() -> Optional[str]:
    """Why execs cannot be seen one by one here (None: they can): forced off, or a kernel
    before 5.5, whose notifications cannot let an exec go on (SECCOMP_USER_NOTIF_FLAG_CONTINUE)."""
    if os.environ.get(SAMPLED):
        return f"disabled by {SAMPLED}"
    try:
        version = tuple(int(x) for x in platform.release().split("-")[0].split(".")[:2])
    except ValueError:
        return None
    if version < (5, 5):
        return f"Linux {platform.release()} cannot let a notified exec go on (5.5 can)"
    return None


def allowed_text(allow: AllowExec) -> str:
    """What a program may run, in the student's words."""
    if allow is True:
        return "any program"
    if not allow:
        return "no program but itself"
    return "no program but itself and " + ", ".join(allow)


def setting_text(allow: AllowExec) -> str:
    """The manifest's setting, for the TA."""
    if isinstance(allow, bool):
        return f"allow_exec = {str(allow).lower()}"
    return "allow_exec = [" + ", ".join(allow) + "]"


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def allowed_files(allow: AllowExec, path: str) -> set[tuple[int, int]]:
    """The (device, inode) of each program allow_exec names: a path as it is, a bare name as
    PATH finds it (`path`: the programs' PATH, whose trees their view shares with ours)."""
    if isinstance(allow, bool):
        return set()
    found = set()
    for name in allow:
        places = [name] if "/" in name else [os.path.join(d, name) for d in path.split(":") if d]
        for place in places:
            try:
                found.add(_identity(os.stat(place)))
            except OSError:
                pass
    return found


class Watch:
    """The execs of one case: what its launchers report, and the verdict at its end."""

    def __init__(self, monitor: "Monitor", case: Any):
        self.monitor, self.case = monitor, case
        self.execs: list[Exec] = []
        self.own: set[tuple[int, int]] = set()     # the programs the grader itself started
        self.expected: set[tuple[int, int]] = set()   # those, and their #! interpreters
        # A script's `#!/usr/bin/env NAME`: env's one exec of NAME (as PATH finds it) is the
        # script starting, not the script running another program.
        self.env: set[tuple[int, int]] = set()
        self.env_names: set[tuple[int, int]] = set()
        # our end's descriptor -> (our end, the launcher's end, the program's name)
        self.sockets: dict[int, tuple[socket.socket, socket.socket, str]] = {}
        self.listeners: dict[int, tuple[str, bool]] = {}   # fd -> (name, its own exec done)
        self.sampled = False
        self.closed = False
        self.program = "the program"          # the name of the last one started
        self._seen_pids: set[tuple[int, tuple[int, int]]] = set()

    def _record(self, e: Exec) -> None:
        if not any(x.path == e.path and x.program == e.program and x.allowed == e.allowed
                   for x in self.execs):
            self.execs.append(e)
            self.monitor.history.append(e)
            self.case.note(("" if e.allowed else "refused: ") + e.says())

    def judge(self) -> None:
        """At the end of a check: CheckFailure naming what was executed against allow_exec."""
        self.monitor.settle(self)
        refused = [e for e in self.execs if not e.allowed]
        if not refused:
            return
        shown = "; ".join(e.says() for e in refused[:3])
        more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
        raise CheckFailure(
            f"{shown}{more}: this assignment lets a program run "
            f"{allowed_text(self.monitor.allow)}, so the check fails",
            "your program must do the work itself: do not exec, system() or popen() another "
            "program (a shell, python3, another solution)")

    def close(self) -> None:
        self.monitor.forget(self)


class Monitor:
    """One grading's exec supervisor: a thread that answers every launcher's notifications."""

    def __init__(self, allow: AllowExec, path: str, settings: Settings, launcher: str):
        self.allow, self.path = allow, path
        self.allowed = allowed_files(allow, path)
        self.interval = settings.exec_sample_interval
        self._skip = set()
        try:
            self._skip.add(_identity(os.stat(launcher)))
        except OSError:
            pass
        self.modes: dict[str, str] = {}       # how execs were seen: "seen" | why sampled
        self.history: list[Exec] = []          # every case's, for the run's notes
        self._watches: list[Watch] = []
        self._lock = threading.RLock()
        self._no_thread = ""

    def start(self) -> None:
        """Served by the process's thread: after the watchdog's fork (no fork should copy a
        process with threads), before the grading's PID namespace (after which this process
        can make no thread; a later grading in the same process reuses it)."""
        try:
            _LOOP.add(self)
        except RuntimeError as e:
            self._no_thread = f"no thread to answer them: {e}"

    # -- the grading's side ------------------------------------------------------------------
    def watch(self, case: Any) -> Watch:
        w = Watch(self, case)
        with self._lock:
            self._watches.append(w)
        case.on_cleanup(w.close)
        return w

    def attach(self, w: Watch, program: str, own: Optional[str]) -> Optional[int]:
        """A socket for one launcher's `-x`: the descriptor the child must inherit (None:
        execs are only sampled). Ours is closed once the launcher has reported (or with the
        case)."""
        w.program = program
        if own is not None:
            words = _interpreter(own)
            w.own |= _files(own)
            w.expected |= _files(own, *words[:1])
            names = [a for a in words[1:] if not a.startswith("-") and "=" not in a]
            if words and os.path.basename(words[0]) == "env" and names:
                found = allowed_files((names[0],), self.path)
                w.env |= allowed_files((words[0],), self.path)
                w.env_names |= found
                w.expected |= found
        why = kernel_refusal() or self._no_thread or None
        if why is not None:
            with self._lock:
                w.sampled = True
                self.modes["refused"] = why
            _LOOP.poke()
            return None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        theirs.set_inheritable(True)
        with self._lock:
            w.sockets[ours.fileno()] = (ours, theirs, program)
        _LOOP.poke()
        return theirs.fileno()

    def forget(self, w: Watch) -> None:
        with self._lock:
            self._handle(w)
            for ours, theirs, _ in w.sockets.values():
                ours.close()
                theirs.close()
            w.sockets.clear()
            for fd in w.listeners:
                os.close(fd)
            w.listeners.clear()
            w.closed = True
            if w in self._watches:
                self._watches.remove(w)

    def settle(self, w: Watch) -> None:
        """Answer what is pending now and sample the case once, before a verdict."""
        with self._lock:
            self._handle(w)
            self._sample(w)

    def close(self) -> None:
        _LOOP.remove(self)
        for w in list(self._watches):
            self.forget(w)

    def notes(self) -> list[str]:
        """For the TA: every program a student program started, and how execs were seen."""
        said: list[str] = []
        for e in self.history:
            verdict = ("allowed: " if e.allowed else "refused: ") + setting_text(self.allow)
            text = f"{e.says()} ({verdict})"
            if text not in said:
                said.append(text)
        if set(self.modes) - {"seen"}:
            why = "; ".join(v for k, v in self.modes.items() if k != "seen")
            said.append(self._sampled_note(why))
        return said

    def _sampled_note(self, why: str) -> str:
        return (f"execs of student programs were sampled, not each seen ({why}): a program "
                f"that runs for less than {self.interval:g}s may go unrecorded")

    # -- the thread's side --------------------------------------------------------------------
    def _descriptors(self) -> tuple[list[int], bool]:
        """What to wait on, and whether some case is sampled."""
        with self._lock:
            return ([fd for w in self._watches for fd in (*w.sockets, *w.listeners) if fd >= 0],
                    any(w.sampled for w in self._watches))

    def _tick(self) -> None:
        with self._lock:
            for w in list(self._watches):
                self._handle(w)
                if w.sampled:
                    self._sample(w)

    def _handle(self, w: Watch) -> None:
        if w.closed:
            return
        fds = [fd for fd in (*w.sockets, *w.listeners) if fd >= 0]
        if not fds:
            return
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        for fd, events in poller.poll(0):
            if fd in w.sockets:
                self._report(w, fd)
            elif fd in w.listeners and events & select.POLLIN:
                self._notification(w, fd)      # pending: the ioctl below cannot block
            elif fd in w.listeners:            # every process of the filter has ended
                os.close(fd)
                del w.listeners[fd]

    def _report(self, w: Watch, fd: int) -> None:
        """A launcher's message: "0" with the notification descriptor, or why there is none."""
        sock, theirs, name = w.sockets.pop(fd)
        theirs.close()
        try:
            data, fds = _recv_fds(sock)
        except OSError:
            data, fds = b"", []
        sock.close()
        if fds:
            w.listeners[fds[0]] = (name, False)
            for extra in fds[1:]:
                os.close(extra)
            self.modes["seen"] = "seen"
        elif data:
            err = int(data or b"0") if data.strip().isdigit() else 0
            w.sampled = True
            self.modes[str(err)] = ("the kernel refused a notification filter: "
                                    + (os.strerror(err) if err else "unknown reason"))
            self._sample(w)

    def _notification(self, w: Watch, fd: int) -> None:
        name, started = w.listeners[fd]
        notif = ctypes.create_string_buffer(_NOTIF_SIZE)
        if _libc.ioctl(fd, _RECV, notif) != 0:
            if ctypes.get_errno() not in (0, 4, 2):      # EINTR, ENOENT: the task died
                os.close(fd)
                del w.listeners[fd]
            return
        nid, pid, _flags, nr = struct.unpack_from("=QIIi", notif.raw)
        args = struct.unpack_from("=6Q", notif.raw, 32)
        path, ident, missing = _exec_target(pid, nr, args)
        valid = _libc.ioctl(fd, _ID_VALID, ctypes.byref(ctypes.c_uint64(nid))) == 0
        if missing and started:
            # Nothing there (execvp trying each directory of PATH): the kernel's own answer,
            # given without letting it look again.
            resp = struct.pack("=QqiI", nid, 0, -missing, 0)
            _libc.ioctl(fd, _SEND, ctypes.c_char_p(resp))
            return
        if not started:             # the launcher's own exec: what the grader asked for
            w.listeners[fd] = (name, True)
            if ident is not None:
                w.own.add(ident)
                w.expected.add(ident)
            allowed = True
        elif ident is not None and ident in w.env_names and _running(pid) in w.env:
            allowed = True                  # env starting the script's interpreter
        else:
            allowed = valid and self._allows(w, ident)
            w._record(Exec(name, path or "(a program it would not let us name)", allowed))
        resp = struct.pack("=QqiI", nid, 0, 0, _CONTINUE) if allowed else \
            struct.pack("=QqiI", nid, 0, -1, 0)            # -EPERM: the exec fails
        _libc.ioctl(fd, _SEND, ctypes.c_char_p(resp))

    def _allows(self, w: Watch, ident: Optional[tuple[int, int]]) -> bool:
        if self.allow is True:
            return True
        return ident is not None and (ident in w.own or ident in self.allowed)

    def _sample(self, w: Watch) -> None:
        """Which program each live process of the case runs (the fallback, and every check's
        last look: see the module's note on its limit)."""
        if w.closed:
            return
        cgroup = w.case.cgroup.pids() if getattr(w.case, "cgroup", None) is not None else None
        try:
            pids = members.Snapshot(cgroup, w.case.helpers).case
        except OSError:
            return
        for pid in pids:
            try:
                ident = _identity(os.stat(f"/proc/{pid}/exe"))
                path = os.readlink(f"/proc/{pid}/exe")
            except OSError:
                continue
            if ident in self._skip or (pid, ident) in w._seen_pids:
                continue
            w._seen_pids.add((pid, ident))
            if ident in w.expected:
                continue
            w._record(Exec(w.program, path, self._allows(w, ident), "sampled"))


class _Loop:
    """The one thread of a process that answers every grading's notifications and samples:
    a daemon, alive as long as the process (a grading's PID namespace forbids a second)."""

    def __init__(self) -> None:
        self._monitors: list[Monitor] = []
        self._lock = threading.Lock()
        self._wake_r = self._wake_w = -1
        self._thread: Optional[threading.Thread] = None

    def add(self, m: Monitor) -> None:
        with self._lock:
            if self._thread is None:
                self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
                thread = threading.Thread(target=self._run, name="exec-monitor", daemon=True)
                thread.start()              # RuntimeError where the kernel refuses a thread
                self._thread = thread
            self._monitors.append(m)
        self.poke()

    def remove(self, m: Monitor) -> None:
        with self._lock:
            if m in self._monitors:
                self._monitors.remove(m)

    def poke(self) -> None:
        if self._wake_w >= 0:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass

    def _run(self) -> None:
        while True:
            with self._lock:
                monitors = list(self._monitors)
            fds: list[int] = []
            timeout: Optional[float] = None
            for m in monitors:
                mine, sampled = m._descriptors()
                fds += mine
                if sampled:
                    timeout = min(timeout or m.interval, m.interval)
            poller = select.poll()
            for fd in [self._wake_r, *fds]:
                poller.register(fd, select.POLLIN)
            ready = poller.poll(None if timeout is None else timeout * 1000)
            if any(fd == self._wake_r for fd, _ in ready):
                try:
                    os.read(self._wake_r, 4096)
                except OSError:
                    pass
            for m in monitors:
                m._tick()


_LOOP = _Loop()


def _interpreter(path: str) -> list[str]:
    """The words of a script's #! line: its interpreter and what it is given (none: not a
    script)."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return []
    words = head[2:].split(b"\n", 1)[0].split() if head.startswith(b"#!") else []
    return [os.fsdecode(w) for w in words]


def _files(*paths: str) -> set[tuple[int, int]]:
    """The identities of those of `paths` that exist."""
    found = set()
    for p in paths:
        try:
            found.add(_identity(os.stat(p)))
        except OSError:
            pass
    return found


def _running(pid: int) -> Optional[tuple[int, int]]:
    """The file a process runs now."""
    try:
        return _identity(os.stat(f"/proc/{pid}/exe"))
    except OSError:
        return None


def _recv_fds(sock: socket.socket) -> tuple[bytes, list[int]]:
    fds = array.array("i")
    msg, anc, _flags, _addr = sock.recvmsg(64, socket.CMSG_SPACE(4 * fds.itemsize),
                                           socket.MSG_CMSG_CLOEXEC)
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
    return msg, list(fds)


def _read_string(pid: int, address: int, limit: int = 4096) -> Optional[str]:
    try:
        fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        data = b""
        while len(data) < limit:
            chunk = os.pread(fd, 256, address + len(data))
            if not chunk:
                break
            data += chunk
            if b"\0" in chunk:
                break
        return data.split(b"\0", 1)[0].decode("utf-8", "backslashreplace")
    except OSError:
        return None
    finally:
        os.close(fd)


def _open_in_root(pid: int, path: str) -> tuple[int, int]:
    """The file an absolute path names in the process's own view (its root, its links)."""
    root = os.open(f"/proc/{pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if _SYS_OPENAT2 is not None:
            how = struct.pack("=QQQ", os.O_PATH | os.O_CLOEXEC, 0, _RESOLVE_IN_ROOT)
            fd = _libc.syscall(ctypes.c_long(_SYS_OPENAT2), ctypes.c_int(root),
                               ctypes.c_char_p(os.fsencode(path)), ctypes.c_char_p(how),
                               ctypes.c_size_t(len(how)))
            if fd >= 0:
                try:
                    return _identity(os.fstat(fd))
                finally:
                    os.close(fd)
        return _identity(os.stat(path.lstrip("/") or ".", dir_fd=root))
    finally:
        os.close(root)


def _exec_target(pid: int, nr: int, args: tuple[int, ...]) -> tuple[
        Optional[str], Optional[tuple[int, int]], int]:
    """(the path as the process named it, the file's identity, the errno when there is no
    such file) of a waiting exec. Root without CAP_SYS_PTRACE (a container's default) may
    read another uid's memory and root only as that uid: it asks again as the owner."""
    found = path, identity, missing = _exec_target_as_we_are(pid, nr, args)
    known = path is not None and (identity is not None or missing != 0)
    if known or os.geteuid() != 0:
        return found
    try:
        with processes.as_owner_of(pid):
            return _exec_target_as_we_are(pid, nr, args)
    except OSError:
        return found


def _exec_target_as_we_are(pid: int, nr: int, args: tuple[int, ...]) -> tuple[
        Optional[str], Optional[tuple[int, int]], int]:
    if nr == _EXECVEAT:
        dirfd, address, flags = ctypes.c_int(args[0] & 0xFFFFFFFF).value, args[1], args[4]
    else:
        dirfd, address, flags = _AT_FDCWD, args[0], 0
    path = _read_string(pid, address)
    if path is None:
        return None, None, 0
    if path == "" and flags & _AT_EMPTY_PATH:           # fexecve: the file open as dirfd
        try:
            path = os.readlink(f"/proc/{pid}/fd/{dirfd}")
        except OSError:
            path = f"(the file open as its descriptor {dirfd})"
        flags_path = ""
    else:
        flags_path = path
    try:
        return path, _identify(pid, flags_path, dirfd, flags), 0
    except OSError as e:
        missing = e.errno if e.errno in (errno.ENOENT, errno.ENOTDIR) else 0
        return path, None, missing


def _identify(pid: int, path: str, dirfd: int, flags: int) -> tuple[int, int]:
    if path == "" and flags & _AT_EMPTY_PATH:
        return _identity(os.stat(f"/proc/{pid}/fd/{dirfd}"))
    if path.startswith("/"):
        for alias in ("/proc/self/", "/proc/thread-self/"):
            if path.startswith(alias):
                return _identity(os.stat(f"/proc/{pid}/" + path[len(alias):]))
        return _open_in_root(pid, path)
    base = f"/proc/{pid}/cwd" if dirfd == _AT_FDCWD else f"/proc/{pid}/fd/{dirfd}"
    fd = os.open(base, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return _identity(os.stat(path, dir_fd=fd))
    finally:
        os.close(fd)


def probe() -> tuple[bool, str]:
    """Whether execs are each seen here (True) or only sampled, tried with the launcher once
    (for doctor)."""
    from ..containment import launcher
    why = kernel_refusal()
    if why is not None:
        return False, f"sampled only ({why})"
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    proc: Optional[subprocess.Popen] = None
    try:
        proc = subprocess.Popen([str(launcher.ensure()), "-x", str(theirs.fileno()), "--",
                                 "true"], pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        theirs.close()
        data, fds = _recv_fds(ours)
        for fd in fds:
            notif = ctypes.create_string_buffer(_NOTIF_SIZE)
            select.select([fd], [], [], PROBE_TIMEOUT)
            if _libc.ioctl(fd, _RECV, notif) == 0:
                nid = struct.unpack_from("=Q", notif.raw)[0]
                _libc.ioctl(fd, _SEND, ctypes.c_char_p(struct.pack("=QqiI", nid, 0, 0,
                                                                     _CONTINUE)))
            os.close(fd)
        if proc.wait(timeout=PROBE_TIMEOUT) != 0 and fds:
            return False, ("sampled only: the kernel gave a notification filter but would not "
                           "let the notified exec go on")
        if fds:
            return True, "seen as it happens (a seccomp user notification)"
        err = int(data) if data.strip().isdigit() else 0
        return False, (f"sampled only: the kernel refused a notification filter "
                       f"({os.strerror(err) if err else 'unknown reason'}); a program that "
                       "runs briefly may go unrecorded")
    except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
        return False, f"not checked: {e}"
    finally:
        ours.close()
        theirs.close()
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
