"""What the tests of hostile fixtures share: where fixtures report, reading their reports, and
finding any copy of them still running (tests/fixtures/hostile/)."""
from __future__ import annotations

import os
import pwd
import time
from pathlib import Path

import psutil

from grader.containment import contain
from grader.settings import Settings
from support import ROOT, scaled

DEFAULTS = Settings()
GONE_WITHIN = scaled(2.0)    # seconds in which every process must be gone once the grader is
STARTUP = scaled(30.0)       # generous deadline for a grading run to start the program
NOBODY = pwd.getpwnam(DEFAULTS.sandbox_user) if os.geteuid() == 0 else None


def running(pid: int) -> bool:
    """Still running: a zombie has exited and only waits for its parent to collect it."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


HOSTILE_NAMES: set[str] = set()     # file names of the hostile fixtures built so far


def _namespace_pid(pid: int) -> int:
    """The pid a process sees for itself (the last NSpid): programs run in a PID namespace."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return pid


def reported_running(pid: int) -> bool:
    """A pid a fixture reported about itself: its own namespace's number. Running if a copy of
    a hostile fixture anywhere has that pid in its namespace (or on the machine)."""
    for p in psutil.process_iter(["cmdline", "status"]):
        argv = p.info["cmdline"] or []
        if (argv and Path(argv[0]).name in HOSTILE_NAMES
                and p.info["status"] != psutil.STATUS_ZOMBIE
                and (_namespace_pid(p.pid) == pid)):
            return True
    return False


def still_running(pids: list[int], timeout: float, reported: bool = True) -> list[int]:
    """The pids that are still running once `timeout` has passed (returns as soon as none is).

    `reported`: pids as fixtures reported them (see reported_running); else the machine's."""
    deadline = time.monotonic() + timeout
    check = reported_running if reported else running
    while True:
        alive = [pid for pid in pids if check(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.01)


def runners_of(binary: Path) -> list[int]:
    """Every live process anywhere on the machine that runs a copy of this fixture binary."""
    found = []
    for p in psutil.process_iter(["cmdline", "status"]):
        argv = p.info["cmdline"] or []
        if argv and Path(argv[0]).name == binary.name and p.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(p.pid)
    return found


class Report:
    """The "key value" lines hostile fixtures append to REPORT_DIR/report.txt."""

    def __init__(self, directory: Path):
        self.path = directory / "report.txt"

    def lines(self) -> list[tuple[str, str]]:
        if not self.path.exists():
            return []
        return [tuple((line.split(" ", 1) + [""])[:2])
                for line in self.path.read_text().splitlines() if line]

    def values(self, key: str) -> list[str]:
        return [value for k, value in self.lines() if k == key]

    def pids(self, *keys: str) -> list[int]:
        return [int(v) for key in keys for v in self.values(key)]

    def records(self, first: str) -> list[dict[str, str]]:
        """Lines grouped into one dict per program start; `first` is each start's first key."""
        out: list[dict[str, str]] = []
        for key, value in self.lines():
            if key == first:
                out.append({})
            if out:
                out[-1][key] = value
        return out

    def wait_for(self, *keys: str, timeout: float = STARTUP) -> None:
        deadline = time.monotonic() + timeout
        present = {k for k, _ in self.lines()}
        while not set(keys) <= present:
            assert time.monotonic() < deadline, f"the fixture never reported {keys}"
            time.sleep(0.01)
            present = {k for k, _ in self.lines()}


def report_base() -> Path:
    """Where report directories go: not /tmp, /var/tmp or /dev/shm, which student programs see
    as fresh and empty, and reachable by every user (programs run as another uid as root)."""
    base = ROOT / "build" / "hostile-reports"
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o777)
    private = any(str(base).startswith(d + os.sep) for d in contain.PRIVATE_TMP)
    if not private and all(os.stat(p).st_mode & 0o001 for p in [base, *base.parents]):
        return base
    fallback = Path("/var/cache/socket-grader-tests")    # the repository is in a private home
    fallback.mkdir(mode=0o755, exist_ok=True)
    return fallback


