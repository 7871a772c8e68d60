"""One grading run's set-up and tear-down: isolation, sandbox policy, scratch space, the program.

Shared by the `grade` command and by plain `pytest cases/ID --student PROG`.
"""
from __future__ import annotations

import dataclasses
import fcntl
import os
import pwd
import shutil
import signal
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

from . import build as building
from ..containment import buildcache, contain, launcher, netns, processes, sandbox, watchdog
from . import execs, ports, talklib
from .assignments import Assignment
from .case import Case, CheckFailure
from .program import run_to_exit
from .results import Build
from ..containment.sandbox import CaseCgroup, Policy
from ..settings import Settings
from .targets import BadInput, Target


class Grading:
    def __init__(self, assignment: Assignment, target: Target, settings: Settings, *,
                 strict: bool = False, talk_lib: Optional[Path] = None):
        self.assignment, self.target, self.settings = assignment, target, settings
        self.strict, self.talk_lib = strict, talk_lib
        self.build = Build()
        self.notes: list[str] = []
        self.argv: list[str] = list(target.argv)
        self.isolated = False
        # Complete from here on: what start() adds are the grading's processes and views.
        self.policy: Policy = Policy.for_this_machine(settings)
        self.run_dir: Path = Path(tempfile.mkdtemp(prefix="grade-"))
        self.run_dir.chmod(0o711)
        self._closed = False
        # Server prompts seen with bytes after the user name (talk.py): server_prompt's.
        self.prompt_faults: list[str] = []
        # Debugging flag -> whether the program's getopt() makes it take an argument
        # (flag_takes_argument, asked once a check fails under that flag).
        self.flag_probe: dict[str, bool] = {}
        self._watchdog: Optional[tuple[int, int]] = None
        self._init: Optional[int] = None
        self._lease: Optional[contain.Lease] = None
        self._peer_lease: Optional[contain.Lease] = None
        self._peer: Optional[Policy] = None          # the second program of a pair (interop)
        self._cases = 0
        self._handlers: dict[int, Any] = {}      # signal -> the handler before ours
        self.execs: Optional[execs.Monitor] = None   # what student programs execute


    def flag_takes_argument(self, case: Case, flag: str) -> bool:
        """Whether the program's getopt() wants an argument after the debugging flag (an
        option string such as "vaN:"): run once per grading with that flag alone, getopt then
        says so on stderr ("option requires an argument -- 'N'")."""
        if flag not in self.flag_probe:
            try:
                said = run_to_exit(case, "probe", self.argv + [flag],
                                   cwd=str(case.workdir), env=self.env(),
                                   preexec=self.preexec(case)).stderr.decode("utf-8", "replace")
            except (OSError, CheckFailure):      # it could not run: nothing is known
                said = ""
            self.flag_probe[flag] = ("requires an argument" in said
                                     and f"'{flag.lstrip('-')}'" in said)
        return self.flag_probe[flag]
    def start(self, deadline: Optional[float] = None) -> "Grading":
        """Isolate, prepare the program (copy or build it); raises BuildFailed.

        `deadline` (time.monotonic()) is the grading's budget: the build ends by then too."""
        sandbox.become_subreaper()
        self.isolated, why = netns.prepare()
        self.notes.append(why)
        bounded, why_disk = contain.bounded_disk(self.run_dir, self.settings.run_disk_bytes,
                                                 self.settings.run_disk_inodes)
        if not bounded and not self.trusted:
            self.notes.append(f"no disk cap for the build and the cases ({why_disk}): only "
                              "each file's size and the number of processes are limited")
        self._contain()
        if self.policy.unsafe_as_root and not self.trusted:
            raise BadInput(f"refusing to run a student program as root: {self.policy.why_no_user}")
        self.notes += self.policy.describe(self.trusted)
        self._watchdog = watchdog.start(self.policy.token, self.policy.cgroup_parent,
                                        leftovers=(str(self.run_dir),))
        if self.execs is not None:
            self.execs.start()
        # After the watchdog (which must outlive what the namespace holds), before any program.
        self._init, why_pid = contain.pid_namespace()
        if self.policy.rules is not None:
            self.policy.rules.proc_dir = contain.namespace_proc()
        if self._init is None and not self.trusted:
            self.notes.append(f"no PID namespace ({why_pid}): kill(-1) from a student program "
                              "reaches every process of its user")
        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._handlers[sig] = signal.signal(sig, _terminate)
        path = self.target.path
        if self.target.kind == "source" and path is not None:
            try:
                self.build, program = building.build(
                    path, self.run_dir / "build", self.assignment, self.policy,
                    self.talk_lib, launch=self._build_launch, course_home=self._course_home(),
                    course_account=self._course_account(), deadline=deadline)
            finally:   # make's leftovers, whether it built or not
                processes.kill_descendants(self._keep(), self.settings.exit_timeout)
            self.argv = [str(program)]
        elif self.target.kind == "binary" and path is not None:
            bindir = self.run_dir / "bin"
            bindir.mkdir(mode=0o700)           # the program's user's alone, like the build
            program = bindir / path.name
            building.copy_handin_file(path, program, self.target.spec, self.settings)
            program.chmod(0o700)
            self.policy.give_dir(str(bindir))
            self.argv = [str(program)]
        return self

    def _contain(self) -> None:
        """The private view and, as root, a uid of this grading's own (see contain.py)."""
        if self.trusted:
            return
        policy = self.policy
        viewed, why_view = contain.probe()
        if policy.euid == 0:       # even without sandbox_user or a view: a uid of our own
            lease, why_lease = contain.lease_uid(self.settings, buildcache.cache_root() / "uids",
                                                 named=not viewed)
            if lease is not None:
                self._lease = lease
                policy.uid, policy.gid, policy.user_name = lease.uid, lease.gid, lease.name
            elif policy.uid is not None:
                self.notes.append(f"students share the user {self.settings.sandbox_user} "
                                  f"({why_lease})")
        if policy.uid is not None and policy.gid is not None:
            uid, gid = policy.uid, policy.gid
            name = policy.user_name or pwd.getpwuid(uid).pw_name
        else:
            uid, gid = os.getuid(), os.getgid()
            name = _name_of(uid)
        if viewed:          # one name in every view, whoever runs the grader
            name = self.settings.sandbox_login
        policy.user_name = name
        view = contain.View.write(self.run_dir, uid, gid, name, (
            self.settings.peer_host, self.settings.peer_address)) if viewed else None
        if not viewed:
            self.notes.append(f"no private file-system view ({why_view}): student programs "
                              "share /tmp, /var/tmp, /dev/shm and System V IPC with the machine")
        kept, how = contain.grader_exposure(viewed, policy.euid)
        if not kept:
            self.notes.append(f"the grader's files are within reach of student programs: {how}")
        policy.rules = contain.Rules(launcher.executable(), os.getpid(), view,
                                     userns=os.geteuid() != 0, proc=os.geteuid() == 0,
                                     run_dir=self.run_dir, hidden=tuple(contain.grader_files()))
        self.execs = execs.Monitor(self.assignment.allow_exec, contain.SAFE_PATH, self.settings,
                                   policy.rules.launcher)

    def _course_account(self) -> bool:
        """~pn-cs357 names the course home in the build: in the view, or on a machine that has
        the course's account and library itself."""
        view = self.policy.rules.view if self.policy.rules is not None else None
        return view is not None or talklib.course_library() is not None

    def _course_home(self) -> Path:
        view = self.policy.rules.view if self.policy.rules is not None else None
        if view is not None:
            return view.course_home
        home = self.run_dir / contain.COURSE_ACCOUNT
        home.mkdir(mode=0o755, exist_ok=True)
        return home

    def _build_launch(self, cgroup: Optional[CaseCgroup], workdir: Path) -> list[str]:
        return contain.command(self.policy, cgroup, self.trusted, workdir=workdir,
                                writable=(workdir,))

    @property
    def trusted(self) -> bool:
        return self.target.trusted

    @property
    def login_name(self) -> str:
        """The user name the program sees from getpwuid(getuid())."""
        if not self.trusted and self.policy.user_name:
            return self.policy.user_name
        return _name_of(os.getuid())

    @property
    def peer_host(self) -> str:
        """The host a program is told the reference peers are on: the name the view's hosts
        file gives their own loopback address, or that address where there is no view."""
        view = self.policy.rules.view if self.policy.rules is not None else None
        return self.settings.peer_host if view is not None and view.hosts \
            else self.settings.peer_address

    def env(self, extra: Optional[dict[str, str]] = None) -> dict[str, str]:
        user = self.login_name
        path = os.environ.get("PATH", "/usr/bin:/bin") if self.trusted else contain.SAFE_PATH
        base = {"PATH": path, "HOME": "/tmp",
                "USER": user, "LOGNAME": user, "LANG": "C.UTF-8", "TERM": "dumb"}
        base.update(self.target.env)
        base.update(extra or {})
        return self.policy.env(base)

    # -- cases -------------------------------------------------------------------------------
    def enter_case(self, case: Case) -> Path:
        """A fresh network namespace (or the fixed-port lock), cgroup and working directory."""
        self._cases += 1
        if self.isolated:
            netns.enter_fresh()
        elif self.assignment.fixed_port:
            # In our private cache, never in a shared directory; never truncated or followed.
            name = f"port-{self.assignment.fixed_port}.lock"
            lock = os.open(buildcache.cache_root() / name,
                           os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            fcntl.flock(lock, fcntl.LOCK_EX)
            case.on_cleanup(lambda: os.close(lock))
            self._wait_port_free(case, self.assignment.fixed_port)
        workdir = self.run_dir / f"case-{self._cases}"
        workdir.mkdir(mode=0o700)              # no other uid reads what a program writes
        self.policy.give_dir(str(workdir))
        case.on_cleanup(lambda: shutil.rmtree(workdir, ignore_errors=True))
        if self.policy.cgroup_parent and not self.trusted:
            try:
                case.cgroup = CaseCgroup(self.policy.cgroup_parent, self.settings.max_processes)
            except OSError:
                pass
        if case.cgroup is not None:
            # Everything the program starts is in its cgroup and cannot leave it: emptying the
            # cgroup ends it all, without scanning every process of the machine.
            case.on_cleanup(processes.reap_orphans)
            case.on_cleanup(lambda: case.cgroup.destroy(self.settings.exit_timeout))
        else:
            case.on_cleanup(lambda: processes.kill_descendants(self._keep(),
                                                               self.settings.exit_timeout))
        case.workdir = workdir
        case.helpers = self._keep()
        if self.execs is not None:
            case.exec_watch = self.execs.watch(case)
        return workdir

    def _wait_port_free(self, case: Case, port: int) -> None:
        """An earlier connection of the fixed port in TIME_WAIT (a program that closed first,
        in an earlier run) refuses a bind() without SO_REUSEADDR: wait, and say so."""
        if not ports.in_time_wait(port):
            return
        began = time.monotonic()
        free = ports.wait_until(lambda: not ports.in_time_wait(port),
                                self.settings.time_wait_timeout,
                                self.settings.time_wait_poll)
        case.note(f"port {port} was held in TIME_WAIT by an earlier connection (the side "
                  f"that closes first keeps it for 60 s); waited {time.monotonic() - began:.0f} s"
                  + ("" if free else ", and it is still held"))

    def _keep(self) -> frozenset[int]:
        """Our own helper processes, which the end of a case must not kill."""
        keep = {self._watchdog[0]} if self._watchdog else set()
        if self._init is not None:
            keep |= contain.helpers()
        return frozenset(keep)

    def launch(self, case: Case, own: Optional[str] = None) -> list[str]:
        """The launcher command (up to "--") that starts a program of this case, in a pty or
        not: the one set-up every untrusted process gets. `own`: the program it starts (the
        student's, when None), which its execs may run again."""
        workdir = case.workdir
        argv = contain.command(self.policy, case.cgroup, self.trusted, workdir=workdir,
                                writable=(workdir,) if workdir is not None else ())
        return self._watch_execs(case, argv, own)

    def _watch_execs(self, case: Case, argv: list[str], own: Optional[str]) -> list[str]:
        """argv with `-x FD`: what the program executes is seen (grader/harness/execs.py). The
        descriptor is one the Popen must pass (launcher.passed_fds)."""
        watch = case.exec_watch
        if watch is None or self.execs is None or self.trusted:
            return argv
        fd = self.execs.attach(watch, self.assignment.program,
                               own if own is not None else (self.argv[0] if self.argv else None))
        return argv if fd is None else argv[:-1] + ["-x", str(fd), "--"]

    @contextmanager
    def peer(self, case: Case, own: Optional[str] = None) -> Iterator[tuple[list[str], Path]]:
        """(launcher command, working directory) for a second program of the case that must
        not reach the first, nor it (an interop pair's server: classmates' programs): as root
        another uid of its own, and where the kernel gives one, a PID namespace of its own.
        The program is started in the body."""
        workdir = self.run_dir / f"case-{self._cases}-peer"
        workdir.mkdir(mode=0o700)
        case.on_cleanup(lambda: shutil.rmtree(workdir, ignore_errors=True))
        policy = self._peer_policy()
        policy.give_dir(str(workdir))
        argv = self._watch_execs(case, contain.command(policy, case.cgroup, self.trusted,
                                                        workdir=workdir, writable=(workdir,)),
                                 own)
        if self.trusted:
            yield argv, workdir
            return
        with contain.in_peer_namespace():
            yield argv, workdir

    def _peer_policy(self) -> Policy:
        if self._peer is not None:
            return self._peer
        policy, rules = self.policy, self.policy.rules
        self._peer = policy
        if self.trusted or self._lease is None or rules is None or rules.view is None:
            if not self.trusted and policy.uid is None:
                self.notes.append("the programs of a pair run as the same user (the grader is "
                                  "not root)")
            return policy
        lease, why = contain.lease_uid(self.settings, buildcache.cache_root() / "uids")
        if lease is None:
            self.notes.append(f"the programs of a pair share one uid ({why})")
            return policy
        self._peer_lease = lease
        view = contain.View.write(self.run_dir, lease.uid, lease.gid, policy.user_name,
                                  directory="view-peer")
        self._peer = dataclasses.replace(policy, uid=lease.uid, gid=lease.gid,
                                         rules=dataclasses.replace(rules, view=view))
        return self._peer

    def preexec(self, case: Case) -> list[str]:
        """For programs run without a terminal: the same launcher command as `launch`."""
        return self.launch(case)

    def close(self) -> None:
        for sig, handler in self._handlers.items():     # the caller's own, as it was
            signal.signal(sig, handler)
        self._handlers.clear()
        if self.execs is not None:
            self.execs.close()
            self.notes += self.execs.notes()
            self.execs = None
        if self._watchdog:
            watchdog.stop(*self._watchdog)
            self._watchdog = None
        if not self._closed:
            contain.release_disk(self.run_dir)
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self._closed = True
        for lease in (self._lease, self._peer_lease):   # last: nothing of these uids is left
            if lease is not None:
                lease.release()
        self._lease = self._peer_lease = None


def _name_of(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"user{uid}"


def _terminate(signum, frame) -> None:
    """SIGTERM and SIGHUP end grading like ^C does, so every case's clean-up still runs."""
    raise KeyboardInterrupt
