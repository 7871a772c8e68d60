"""The student's program as cases see it: start it in a pty, or run it to completion."""
from __future__ import annotations

from typing import Optional

from ..harness.case import Case
from ..harness.ports import free_port
from ..harness.program import Completed, Program, run_to_exit
from .screen import WindowedProgram
from ..harness.session import Grading


class Student:
    def __init__(self, grading: Grading, case: Case):
        self.grading, self.case = grading, case
        self.port = grading.assignment.fixed_port or free_port()

    def new_port(self) -> int:
        """Another free port, for a case that starts the program more than once."""
        self.port = free_port()
        return self.port

    @property
    def login_name(self) -> str:
        return self.grading.login_name

    @property
    def peer_host(self) -> str:
        """The host name (or address) to give the program for a reference peer."""
        return self.grading.peer_host

    @property
    def peer_address(self) -> str:
        """The reference peers' own loopback address."""
        return self.grading.settings.peer_address

    @property
    def prompt_faults(self) -> list[str]:
        """Server prompts this grading saw with bytes after the user name (talk.py)."""
        return self.grading.prompt_faults

    def argv(self, args: tuple[str, ...]) -> list[str]:
        if not args:
            args = self.grading.assignment.args
        return self.grading.argv + [a.replace("{port}", str(self.port)) for a in args]

    def flag_takes_argument(self, flag: str) -> bool:
        """Whether the program's getopt() wants an argument after the debugging flag (an
        option string such as "vaN:"): run once per grading with that flag alone, getopt then
        says so on stderr ("option requires an argument -- 'N'")."""
        return self.grading.flag_takes_argument(self.case, flag)

    def start(self, *args: str, name: str = "student", term: Optional[str] = None,
              dimensions: tuple[int, int] = (24, 80)) -> Program:
        """Start the program in a pty; with no args, the assignment's usual argv.

        When the check is run again windowed, the debugging flag is left out and what the
        program shows is read off a terminal emulator.
        """
        flag = self.grading.assignment.debug_flag
        kind = Program
        if flag and flag in args:
            if self.case.windowed:
                i = args.index(flag)
                args = args[:i] + args[i + 1:]
                term, dimensions, kind = "xterm", self.grading.settings.windowed_size, \
                    WindowedProgram
            else:
                self.case.used_debug_flag = True
        env = self.grading.env({"TERM": term} if term else None)
        return kind(self.case, name, self.argv(args), cwd=str(self.case.workdir), env=env,
                    launch=self.grading.launch(self.case), dimensions=dimensions)

    def run(self, *args: str, stdin: bytes = b"", name: str = "student") -> Completed:
        """Run without a terminal until it exits (usage errors), stdout and stderr apart."""
        return run_to_exit(self.case, name, self.argv(args) if args else self.grading.argv,
                           cwd=str(self.case.workdir), env=self.grading.env(),
                           preexec=self.grading.preexec(self.case), stdin=stdin)
