"""Building a handin: a safe scratch copy, `make TARGET` (else plain `make`), a deadline, a log.

`make` is as untrusted as the program it builds: it starts through the launcher like every
student process (private view, the grading's uid, its own pids cgroup), its output is read
into a capped buffer as it comes, and its deadline holds even if something it started keeps
the pipe open. Whatever the build started is killed when it ends, whatever the outcome.

The build's view is the course machine's: ~pn-cs357/Given/Talk names our talk library in
the course layout (include/talk.h, include/include -> include, Talk/talk.h, lib64/ and
lib/libtalk.a), for make's own ~user expansion and the shell's alike, and nothing else finds
it: a handin builds here when its -I and -L would find it there. What the course machine would
not do (libtalk.a copied beside a Makefile that expects it, CPATH where ~pn-cs357 cannot be
named) is said in a warning of the build.
"""
from __future__ import annotations

import errno
import os
import re
import select
import shutil
import stat
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional

from ..containment import contain, launcher, processes
from . import talklib
from .assignments import Assignment
from .results import Build
from ..containment.sandbox import CaseCgroup, Policy
from ..settings import Settings
from .targets import BadInput, makefile_in

LOG_CAP = 256 * 1024          # bytes of make's output kept: the first and the last half
COPY_CHUNK = 1 << 16
_ERROR = re.compile(r"^.*\b(error|Error \d+|undefined reference)\b.*$", re.MULTILINE)
_COMPILER_ERROR = re.compile(r"^.*(\berror:|undefined reference|No such file or directory"
                             r"|No rule to make target).*$", re.MULTILINE)

Launch = Callable[[Optional[CaseCgroup], Path], list]


class BuildFailed(Exception):
    """The handin did not build: the message says why, from the handin's own log."""

    def __init__(self, build: Build, summary: str, cause: str = "handin"):
        super().__init__(summary)
        self.build = build
        self.cause = cause            # "handin": the student's to fix


class BuildEnvironmentFailed(BadInput):
    """The build could not run here (our machine's problem, not the handin's): exit 2, with a
    message that says so; a batch records the student as an error of the grader, not a
    failed build."""

    def __init__(self, build: Build, summary: str):
        super().__init__(summary)
        self.build = build
        self.cause = "environment"


def first_error(log: str) -> str:
    m = _COMPILER_ERROR.search(log) or _ERROR.search(log)
    return m.group(0).strip() if m else (log.strip().splitlines() or ["(no output)"])[-1]


def log_tail(log: str, lines: int = 15) -> str:
    return "\n".join(log.rstrip().splitlines()[-lines:])


# -- copying the handin ------------------------------------------------------------------

def _refusal(path: Path, shown: str, st: os.stat_result, root: Optional[Path]) -> Optional[str]:
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(path)
        if root is not None and not os.path.isabs(target):
            inside = os.path.normpath(os.path.join(os.path.dirname(path), target))
            if inside == str(root) or inside.startswith(str(root) + os.sep):
                return None           # a link within the handin is copied as a link
        return (f"{shown} is a symbolic link to {target}: the grader does not follow links "
                "out of a handin; put the file itself in the handin")
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
        return None
    kind = ("a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
            "a fifo" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode)
            else "not a regular file")
    return f"{shown} is {kind}: a handin may hold only regular files and directories"


def _foreign(st: os.stat_result, owner: Optional[int]) -> bool:
    """A file the handin's owner could not read itself (e.g. a hard link to a root-only file):
    copying it as the grader would hand it to the student's program."""
    return owner is not None and st.st_uid != owner and not st.st_mode & stat.S_IROTH


def _size(n: int) -> str:
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.3g} {unit}"
    return f"{n} bytes"


class _Budget:
    """What is left of a handin's copy: bytes and entries, counted as the copy goes."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.bytes = settings.handin_bytes
        self.entries = settings.handin_files

    def limits(self) -> str:
        s = self.settings
        return (f"a handin may hold files of up to {_size(s.file_size)} each, "
                f"{_size(s.handin_bytes)} and {s.handin_files} files in all")

    def entry(self, shown: str) -> None:
        self.entries -= 1
        if self.entries < 0:
            raise BadInput(f"the handin has more than {self.settings.handin_files} files and "
                           f"directories (at {shown}): {self.limits()}; remove generated "
                           "files from it")

    def check(self, shown: str, st: os.stat_result) -> None:
        """Refuse a file that could not fit, before a byte of it is copied."""
        too_big = st.st_size > self.settings.file_size or st.st_size > self.bytes
        if not too_big:
            return
        sparse = st.st_blocks * 512 < st.st_size // 2
        what = (f"{shown} is {_size(st.st_size)} (a sparse file: it holds almost nothing but "
                "claims that size)" if sparse else f"{shown} is {_size(st.st_size)}")
        raise BadInput(f"{what}: {self.limits()}; remove it from the handin")

    def take(self, shown: str, n: int) -> None:
        """Count bytes as they are copied (a file that grows while it is copied stops here)."""
        self.bytes -= n
        if self.bytes < 0:
            raise BadInput(f"{shown} made the handin larger than {self.limits()}; remove "
                           "large files from it")


def _copy_regular(src: Path, dst: Path, shown: str, owner: Optional[int] = None,
                  budget: Optional[_Budget] = None) -> None:
    """Copy one file without following a link, and only if it is a regular file that the
    handin's owner (`owner`, the uid owning the handin) could read and that fits `budget`."""
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise BadInput(f"{shown} is a symbolic link: the grader does not follow links "
                           "in a handin; give the file itself")
        raise BadInput(f"{shown}: cannot read it ({e.strerror})")
    try:
        _copy_open(fd, src, dst, shown, owner, budget or _Budget(Settings()))
    finally:
        os.close(fd)


def _copy_open(fd: int, src: Path, dst: Path, shown: str, owner: Optional[int],
               budget: _Budget) -> None:
    st = os.fstat(fd)
    why = _refusal(src, shown, st, None)
    if why:
        raise BadInput(why)
    if _foreign(st, owner):
        raise BadInput(f"{shown} belongs to another user and is not readable by the "
                       "handin's owner: the grader copies only the student's own files")
    budget.check(shown, st)
    out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                  0o600)
    try:
        while True:
            chunk = os.read(fd, COPY_CHUNK)
            if not chunk:
                break
            budget.take(shown, len(chunk))
            os.write(out, chunk)
        os.fchmod(out, stat.S_IMODE(st.st_mode) & 0o700 | 0o600)
    finally:
        os.close(out)


def _as_owner(path: Path, owner: int, flags: int) -> int:
    """`path` opened with the credentials of the uid `owner` (its groups included), in a child
    that sends the descriptor back: what a link leads to is what its owner could open, never
    what only the grader (root) could. Raises OSError as that open would."""
    import pwd
    import socket
    try:
        entry = pwd.getpwuid(owner)
        gid, groups = entry.pw_gid, os.getgrouplist(entry.pw_name, entry.pw_gid)
    except KeyError:
        gid, groups = owner, []
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    child = os.fork()
    if child == 0:
        status = 1
        try:
            ours.close()
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(owner)
            try:
                fd = os.open(path, flags | os.O_CLOEXEC)
            except OSError as e:
                theirs.send(str(e.errno).encode())
            else:
                socket.send_fds(theirs, [b"ok"], [fd])
            status = 0
        finally:
            os._exit(status)
    theirs.close()
    try:
        message, fds, _, _ = socket.recv_fds(ours, 64, 1)
    finally:
        ours.close()
        os.waitpid(child, 0)
    if fds:
        return fds[0]
    code = int(message) if message.isdigit() else errno.EACCES
    raise OSError(code, os.strerror(code))


def _owner_open(src: Path, shown: str) -> tuple[int, os.stat_result]:
    """A handin's program that is a link within its own directory, opened as the link's owner
    would open it. A link out of the directory is refused whoever owns it: a handin unpacked
    by root has root's links."""
    here = os.path.realpath(src.parent)
    if os.path.commonpath([here, os.path.realpath(src)]) != here:
        raise BadInput(f"{shown} is a symbolic link to {os.readlink(src)}: the grader does not "
                       "follow links out of a handin; put the program itself in the handin")
    owner = os.lstat(src).st_uid
    flags = os.O_RDONLY | os.O_NONBLOCK
    try:
        fd = (_as_owner(src, owner, flags) if os.geteuid() == 0 and owner != 0
              else os.open(src, flags | os.O_CLOEXEC))
    except OSError as e:
        raise BadInput(f"{shown} is a symbolic link to {os.readlink(src)}, which its owner "
                       f"cannot read ({e.strerror}): hand in your own program")
    st = os.fstat(fd)
    if _foreign(st, owner):
        os.close(fd)
        raise BadInput(f"{shown} is a symbolic link to another user's file: hand in your own "
                       "program")
    return fd, st


def copy_handin_file(src: Path, dst: Path, shown: str, settings: Optional[Settings] = None) -> None:
    """A handin's program, copied for grading: refused if a device or a fifo, or larger than a
    handin may be. A link is followed only as its owner could follow it."""
    try:
        st = os.lstat(src)
    except OSError as e:
        raise BadInput(f"{shown}: {e.strerror}")
    budget = _Budget(settings or Settings())
    if stat.S_ISLNK(st.st_mode):
        fd, target = _owner_open(src, shown)
        try:
            _copy_open(fd, src, dst, shown, target.st_uid, budget)
        finally:
            os.close(fd)
        return
    why = _refusal(src, shown, st, None)
    if why:
        raise BadInput(why)
    _copy_regular(src, dst, shown, os.lstat(src.parent).st_uid, budget)


def copy_handin(source: Path, workdir: Path, settings: Optional[Settings] = None) -> None:
    """Copy a handin directory without following any link out of it; refuse special files,
    and a handin larger than `settings` allow (a sparse 1 TB file must not fill the disk)."""
    root = Path(os.path.normpath(source))
    owner = os.lstat(root).st_uid
    if root.is_symlink() and os.geteuid() == 0 and owner != 0:
        try:                          # what the link leads to, as the link's owner sees it
            os.close(_as_owner(root, owner, os.O_RDONLY | os.O_DIRECTORY))
        except OSError as e:
            raise BadInput(f"the handin {root.name} is a symbolic link to {os.readlink(root)}, "
                           f"which its owner cannot open ({e.strerror}): hand in your own files")
    budget = _Budget(settings or Settings())
    workdir.mkdir(mode=0o700)
    for here, dirs, files in os.walk(root):
        rel = os.path.relpath(here, root)
        target_dir = workdir if rel == "." else workdir / rel
        for name in sorted(dirs + files):
            path = Path(here) / name
            shown = os.path.normpath(os.path.join(rel, name))
            st = os.lstat(path)
            why = _refusal(path, shown, st, root)
            if why:
                raise BadInput(why)
            budget.entry(shown)
            dst = target_dir / name
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(path), dst)
                if name in dirs:
                    dirs.remove(name)           # walked through the link's target already
            elif stat.S_ISDIR(st.st_mode):
                dst.mkdir(mode=0o755)
            else:
                _copy_regular(path, dst, shown, owner, budget)


# -- running make ------------------------------------------------------------------------

class _Capped:
    """The first and last LOG_CAP/2 bytes of a stream; the middle is counted, not kept."""

    def __init__(self, cap: int = LOG_CAP):
        self.half = cap // 2
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.half:
                cut = len(self.tail) - self.half
                self.dropped += cut
                del self.tail[:cut]

    def text(self) -> str:
        middle = (f"\n[... {self.dropped} bytes of output left out ...]\n".encode()
                  if self.dropped else b"")
        return bytes(self.head + middle + self.tail).decode("utf-8", "replace")


class _LauncherFailed(Exception):
    """The launcher could not start make (it said so on its own channel, not in make's output):
    the grading machine's problem. `code` is the errno it reported."""

    def __init__(self, code: int, text: str):
        super().__init__(text)
        self.code = code


def _launcher_failure(fd: int) -> Optional[_LauncherFailed]:
    """What the launcher wrote on its own channel before exec (nothing once make started)."""
    said = launcher.failure(fd)
    return _LauncherFailed(*said) if said is not None else None


def _make(workdir: Path, goal: Optional[str], env: dict[str, str], policy: Policy,
          timeout: float, launch: Optional[Launch]) -> tuple[int, str]:
    """Run make once; (exit status or -1 on timeout, its output). Raises _LauncherFailed when
    the launcher could not start it."""
    argv = ["make", "--no-print-directory"] + ([goal] if goal else [])
    settings = policy.settings
    cgroup = None
    if policy.cgroup_parent:
        try:
            cgroup = CaseCgroup(policy.cgroup_parent, settings.max_processes)
        except OSError:
            cgroup = None
    prefix = launch(cgroup, workdir) if launch is not None else []
    report_r, report_w = os.pipe()
    if prefix:
        prefix = prefix[:1] + ["-e", str(report_w)] + prefix[1:]
    out = _Capped()
    try:
        proc = subprocess.Popen(prefix + argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                pass_fds=(report_w,) if prefix else ())
    except BaseException:
        os.close(report_r)
        if cgroup is not None:
            cgroup.destroy(settings.exit_timeout)
        raise
    finally:
        os.close(report_w)
    pidfd = os.pidfd_open(proc.pid)
    deadline = time.monotonic() + timeout
    drain_until = None
    assert proc.stdout is not None          # stdout=PIPE
    pipe = proc.stdout.fileno()
    os.set_blocking(pipe, False)
    timed_out = False
    try:
        while True:
            now = time.monotonic()
            end = deadline if drain_until is None else min(deadline, drain_until)
            if now >= end:
                timed_out = drain_until is None
                break
            ready, _, _ = select.select([pipe, pidfd], [], [], end - now)
            if pipe in ready:
                try:
                    chunk = os.read(pipe, 65536)
                except BlockingIOError:
                    chunk = None
                if chunk == b"":            # everyone closed the pipe: wait for make alone
                    if drain_until is None:
                        left = deadline - time.monotonic()
                        if not select.select([pidfd], [], [], max(left, 0))[0]:
                            timed_out = True
                    break
                if chunk:
                    out.add(chunk)
            if pidfd in ready and drain_until is None:
                # make has ended; what it started may still hold the pipe: a moment for the
                # last output, then it is cut.
                drain_until = time.monotonic() + settings.build_drain
    finally:
        processes.kill_group(proc)
        code = proc.wait()
        os.close(pidfd)
        proc.stdout.close()
        if cgroup is not None:
            cgroup.destroy(settings.exit_timeout)
        try:
            failure = _launcher_failure(report_r)   # every writer is gone: never blocks
        finally:
            os.close(report_r)
    if failure is not None:
        raise failure
    log = out.text()
    if timed_out:
        return -1, log + f"\n(make stopped after {timeout:g}s)\n"
    return code, log


_NO_PROCESSES = (errno.EAGAIN, errno.ENOMEM)


def _start_make(workdir: Path, goal: Optional[str], env: dict[str, str], policy: Policy,
                deadline: float, launch: Optional[Launch]) -> tuple[int, str, bool]:
    """make, tried again while starting it fails for lack of processes, all before `deadline`
    (one for the whole build); (code, log, gave_up).

    Only what the grader itself saw counts as the machine's problem: the fork of the launcher
    failing, or the launcher's own report on its channel. make's output is the handin's text,
    and whatever it says ("Resource temporarily unavailable", "No space left on device") is
    the handin's failure.
    """
    settings = policy.settings
    log = ""
    for attempt in range(settings.build_retries + 1):
        if attempt:
            pause = min(settings.build_retry_pause, deadline - time.monotonic())
            if pause > 0:
                time.sleep(pause)    # for processes to end; nothing to wait on
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            code, out = _make(workdir, goal, env, policy, left, launch)
        except OSError as e:
            if e.errno not in _NO_PROCESSES:
                raise
            log = f"starting make failed: {e.strerror}\n"
            continue
        except _LauncherFailed as e:
            if e.code not in _NO_PROCESSES:
                raise BuildEnvironmentFailed(
                    Build("failed", log + f"the grader could not start make: {e}\n"),
                    f"the grader could not start the build ({e}); this is not a problem of "
                    "the handin")
            log = f"starting make failed: {e}\n"
            continue
        return code, out, False
    if not log:                                  # the deadline passed between attempts
        return -1, "(no time was left to run make)\n", False
    return -1, log, True


def _explicit_rule(workdir: Path, goal: str) -> bool:
    makefile = makefile_in(workdir)
    if makefile is None:
        return False
    try:
        text = makefile.read_text(errors="replace")
    except OSError:
        return False
    return re.search(rf"^[^#\t=]*(?<![\w.$/-]){re.escape(goal)}(?![\w.-])[^=\n]*::?(?!=)",
                     text, re.MULTILINE) is not None


def _names_beside(workdir: Path, name: str) -> bool:
    """The Makefile names `name` without a directory: a file it expects beside itself."""
    makefile = makefile_in(workdir)
    try:
        text = makefile.read_text(errors="replace") if makefile is not None else ""
    except OSError:
        return False
    return re.search(rf"(?:^|[\s:=])(?:\./)?{re.escape(name)}(?![\w.-])", text,
                     re.MULTILINE) is not None


_EMPTY_ASSIGNMENT = re.compile(r"^[ \t]*(?:override[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*"
                               r"((?:::?|\?)?=)[ \t]*(?:#.*)?$", re.MULTILINE)
_MISSING = ("No such file or directory", "cannot find", "No rule to make target",
            "undefined reference")
_TALK_WORDS = ("talk.h", "-ltalk", "libtalk", "start_windowing", "read_from_input",
               "write_to_output", "fprint_to_output", "update_input_buffer", "has_whole_line",
               "has_hit_eof", "set_verbosity", "stop_windowing")


def _empty_variables(workdir: Path) -> list[str]:
    """Variables the Makefile sets to nothing and then uses as a path or an -I/-L argument:
    `TALK =` then `-I $(TALK)/include` is `-I /include`. Each said as the student wrote it."""
    makefile = makefile_in(workdir)
    try:
        text = makefile.read_text(errors="replace") if makefile is not None else ""
    except OSError:
        return []
    found = []
    for m in _EMPTY_ASSIGNMENT.finditer(text):
        name = m.group(1)
        use = re.compile(rf"(?:-[IL][ \t]*)?\$[({{]{name}[)}}](/?)")
        uses = [u for u in use.finditer(text) if u.group(0)[:2] in ("-I", "-L") or u.group(1)]
        if uses:
            line = text.count("\n", 0, m.start()) + 1
            found.append(f"the Makefile sets {name} to nothing (line {line}: "
                         f"\"{name} {m.group(2)}\") and uses it in \"{uses[0].group(0)}\"")
    return found


def _failure_hint(workdir: Path, error: str) -> str:
    """Why a build that misses a file failed, when the Makefile says it: an empty variable,
    else (for the talk library) where the course keeps it."""
    if not any(w in error for w in _MISSING):
        return ""
    empty = _empty_variables(workdir)
    if empty:
        return "; ".join(empty)
    if any(w in error for w in _TALK_WORDS):
        return (f"on the course machine talk.h is found only with -I {talklib.COURSE_HOME}"
                f"/include and libtalk.a with -L {talklib.COURSE_HOME}/lib64 -ltalk; the "
                "grader builds the same way, with no other include or library path")
    return ""


def build(source: Path, workdir: Path, assignment: Assignment, policy: Policy,
          talk_lib: Optional[Path] = None, launch: Optional[Launch] = None,
          course_home: Optional[Path] = None, course_account: bool = True,
          deadline: Optional[float] = None) -> tuple[Build, Path]:
    """Build a copy of source in workdir; return the log and the program, or raise BuildFailed
    (the handin's fault) or BuildEnvironmentFailed (ours).

    `course_account`: ~pn-cs357 names `course_home` in the build's view. Without it (no
    private view) the talk library is found through CPATH and LIBRARY_PATH, with a warning.

    The whole build, retries and the fallback to plain `make` included, ends by
    `build_timeout` from now, or by `deadline` (time.monotonic(): the grading's budget) if
    that is sooner."""
    started = time.monotonic()
    try:
        copy_handin(source, workdir, policy.settings)
    except BadInput as e:
        raise BuildFailed(Build("failed", f"{e}\n"), str(e))
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        msg = ("the grading machine's disk is full (the handin's copy, within its limits, "
               "did not fit); this is not a problem of the handin")
        raise BuildEnvironmentFailed(Build("failed", msg + "\n"), msg)
    env = {"PATH": contain.SAFE_PATH, "HOME": str(workdir),
           "LANG": "C.UTF-8"}
    warnings: list[str] = []
    if assignment.talk_library:
        into = (course_home or workdir.parent / "pn-cs357") / "Given" / "Talk"
        try:
            talklib.install(talk_lib, into)
        except talklib.TalkLibraryError as e:
            raise BuildEnvironmentFailed(Build("failed", str(e)), str(e))
        if not course_account:
            env.update(talklib.search_paths(into))
            warnings.append(f"this machine cannot name {talklib.COURSE_HOME} for the build (no "
                            "private view), so the compiler was also pointed at the talk "
                            "library (CPATH, LIBRARY_PATH): a Makefile with a wrong -I or -L "
                            "builds here and not on the course machine")
        beside = workdir / "libtalk.a"
        if _names_beside(workdir, "libtalk.a") and not os.path.lexists(beside):
            shutil.copy(into / "lib64" / "libtalk.a", beside)   # a Makefile expecting it here
            warnings.append("the Makefile expects libtalk.a beside it and the handin has none: "
                            "the grader put a copy there; on the course machine link with "
                            f"-L {talklib.COURSE_HOME}/lib64 -ltalk, or hand in the library")
    policy.give_dir(str(workdir))
    env = policy.env(env)
    timeout = policy.settings.build_timeout
    end = started + timeout
    budget_cut = deadline is not None and deadline < end
    if budget_cut:
        assert deadline is not None
        end = deadline
    goal = assignment.make_target or None
    log = f"$ make {goal or ''}".rstrip() + "\n"
    code, out, gave_up = _start_make(workdir, goal, env, policy, end, launch)
    log += out
    if code > 0 and not gave_up and goal and (
            "No rule to make target" in out or not _explicit_rule(workdir, goal)):
        # `make mytalk` with a Makefile that only has `all:` runs make's built-in rule.
        log += "$ make\n"
        code, out, gave_up = _start_make(workdir, None, env, policy, end, launch)
        log += out
    if gave_up:
        msg = ("the grading machine could not start the build (no processes left: "
               "Resource temporarily unavailable, tried "
               f"{policy.settings.build_retries + 1} times); this is not a problem of the "
               "handin: grade it again later, or ask the course staff")
        raise BuildEnvironmentFailed(Build("failed", log + msg + "\n"), msg)
    program = workdir / assignment.program
    if code != 0:
        # The last attempt says why (after a fallback to plain make, not make's built-in rule).
        if code < 0:
            within = (f"the grading's time budget ({end - started:.3g}s)" if budget_cut
                      else f"{timeout:g}s")
            raise BuildFailed(Build("failed", log), f"make did not finish within {within}")
        error = first_error(out)
        hint = _failure_hint(workdir, error)
        raise BuildFailed(Build("failed", log + (f"grade: {hint}\n" if hint else ""), warnings),
                          f"make failed: {error}" + (f" ({hint})" if hint else ""))
    if not (program.is_file() and os.access(program, os.X_OK)):
        found = [p.name for p in workdir.iterdir()
                 if p.is_file() and os.access(p, os.X_OK) and p.suffix not in (".sh", ".py")
                 and makefile_in(workdir) != p]
        if len(found) != 1:
            msg = (f"make succeeded but did not build `{assignment.program}`"
                   + (f" (found: {', '.join(sorted(found))})" if found else ""))
            raise BuildFailed(Build("failed", log + msg + "\n"), msg)
        program = workdir / found[0]
        warnings.append(f"make built {found[0]}, not {assignment.program}: graded that program; "
                        f"the assignment asks for a program named {assignment.program}")
    return Build("ok", log, warnings), program
