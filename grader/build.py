"""Building a handin: a scratch copy, `make TARGET` (else plain `make`), a time limit, a log."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Optional

from . import talklib
from .assignments import Assignment
from .results import Build
from .sandbox import Policy
from .targets import makefile_in

LOG_CAP = 256 * 1024
_ERROR = re.compile(r"^.*\b(error|Error \d+|undefined reference)\b.*$", re.MULTILINE)


class BuildFailed(Exception):
    def __init__(self, build: Build, summary: str):
        super().__init__(summary)
        self.build = build


def first_error(log: str) -> str:
    m = _ERROR.search(log)
    return m.group(0).strip() if m else (log.strip().splitlines() or ["(no output)"])[-1]


def log_tail(log: str, lines: int = 15) -> str:
    return "\n".join(log.rstrip().splitlines()[-lines:])


def _make(workdir: Path, goal: Optional[str], env: dict[str, str], policy: Policy,
          timeout: float) -> tuple[int, str]:
    argv = ["make", "--no-print-directory"] + ([goal] if goal else [])
    proc = subprocess.Popen(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=policy.preexec(None))
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return -1, out[-LOG_CAP:].decode("utf-8", "replace") + f"\n(make stopped after {timeout:g}s)\n"
    return proc.returncode, out[-LOG_CAP:].decode("utf-8", "replace")


def build(source: Path, workdir: Path, assignment: Assignment, policy: Policy,
          talk_lib: Optional[Path] = None) -> tuple[Build, Path]:
    """Build a copy of source in workdir; return the log and the program, or raise BuildFailed."""
    shutil.copytree(source, workdir, symlinks=True)
    policy.give_dir(str(workdir))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir),
           "LANG": "C.UTF-8"}
    if assignment.talk_library:
        try:
            env.update(talklib.build_env(talk_lib, workdir.parent / "talk"))
        except talklib.TalkLibraryError as e:
            raise BuildFailed(Build("failed", str(e)), str(e))
    env = policy.env(env)
    timeout = policy.settings.build_timeout
    log = f"$ make {assignment.make_target}\n".replace(" \n", "\n")
    code, out = _make(workdir, assignment.make_target or None, env, policy, timeout)
    log += out
    if code != 0 and assignment.make_target and "No rule to make target" in out:
        log += "$ make\n"
        code, out = _make(workdir, None, env, policy, timeout)
        log += out
    program = workdir / assignment.program
    if code != 0:
        raise BuildFailed(Build("failed", log), f"make failed: {first_error(log)}")
    if not (program.is_file() and os.access(program, os.X_OK)):
        found = [p.name for p in workdir.iterdir()
                 if p.is_file() and os.access(p, os.X_OK) and p.suffix not in (".sh", ".py")
                 and makefile_in(workdir) != p]
        if len(found) != 1:
            msg = (f"make succeeded but did not build `{assignment.program}`"
                   + (f" (found: {', '.join(sorted(found))})" if found else ""))
            raise BuildFailed(Build("failed", log + msg + "\n"), msg)
        program = workdir / found[0]
    return Build("ok", log), program
