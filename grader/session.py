"""One grading run's set-up and tear-down: isolation, sandbox policy, scratch space, the program.

Shared by the `grade` command and by plain `pytest cases/ID --student PROG`.
"""
from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Optional

from . import build as building
from . import launcher, netns, sandbox, watchdog
from .assignments import Assignment
from .case import Case
from .results import Build
from .sandbox import CaseCgroup, Policy
from .settings import Settings
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
        self.run_dir: Optional[Path] = None
        self.policy: Optional[Policy] = None
        self._watchdog: Optional[tuple[int, int]] = None
        self._cases = 0

    def start(self) -> "Grading":
        """Isolate, prepare the program (copy or build it); raises BuildFailed."""
        sandbox.become_subreaper()
        self.isolated, why = netns.prepare()
        self.notes.append(why)
        self.policy = Policy.for_this_machine(self.settings)
        if self.policy.unsafe_as_root and not self.trusted:
            raise BadInput(f"refusing to run a student program as root: {self.policy.why_no_user}")
        self.notes += self.policy.describe(self.trusted)
        self.run_dir = Path(tempfile.mkdtemp(prefix="grade-"))
        self.run_dir.chmod(0o711)
        self._watchdog = watchdog.start(self.policy.token, self.policy.cgroup_parent,
                                        leftovers=(str(self.run_dir),))
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _terminate)
        if self.target.kind == "source":
            self.build, program = building.build(self.target.path, self.run_dir / "build",
                                                 self.assignment, self.policy, self.talk_lib)
            self.argv = [str(program)]
            sandbox.kill_descendants(self._keep(), self.settings.exit_timeout)  # make's leftovers
        elif self.target.kind == "binary":
            bindir = self.run_dir / "bin"
            bindir.mkdir()
            bindir.chmod(0o755)
            program = bindir / self.target.path.name
            shutil.copy2(self.target.path, program)
            program.chmod(0o755)
            self.argv = [str(program)]
        return self

    @property
    def trusted(self) -> bool:
        return self.target.trusted

    @property
    def login_name(self) -> str:
        """The user name the program sees from getpwuid(getuid())."""
        uid = self.policy.uid if (self.policy.uid is not None and not self.trusted) else os.getuid()
        return pwd.getpwuid(uid).pw_name

    def env(self, extra: Optional[dict[str, str]] = None) -> dict[str, str]:
        user = self.login_name
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp",
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
            name = f"socket-grader-port-{self.assignment.fixed_port}.lock"
            lock = open(Path(tempfile.gettempdir()) / name, "w")
            fcntl.flock(lock, fcntl.LOCK_EX)
            case.on_cleanup(lock.close)
        workdir = self.run_dir / f"case-{self._cases}"
        workdir.mkdir()
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
            case.on_cleanup(sandbox.reap_orphans)
            case.on_cleanup(lambda: case.cgroup.destroy(self.settings.exit_timeout))
        else:
            keep = self._keep()
            case.on_cleanup(lambda: sandbox.kill_descendants(keep, self.settings.exit_timeout))
        case.workdir = workdir
        return workdir

    def _keep(self) -> frozenset[int]:
        """Our own helper processes, which the end of a case must not kill."""
        return frozenset({self._watchdog[0]}) if self._watchdog else frozenset()

    def preexec(self, case: Case):
        """For programs run without a terminal: the sandbox set-up as a preexec function."""
        return self.policy.preexec(case.cgroup, trusted=self.trusted)

    def launch(self, case: Case) -> list[str]:
        """For programs in a pty: the launcher command that does the same set-up before exec."""
        return launcher.command(self.policy, case.cgroup, self.trusted)

    def close(self) -> None:
        if self._watchdog:
            watchdog.stop(*self._watchdog)
            self._watchdog = None
        if self.run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir = None


def _terminate(signum, frame) -> None:
    """SIGTERM and SIGHUP end grading like ^C does, so every case's clean-up still runs."""
    raise KeyboardInterrupt
