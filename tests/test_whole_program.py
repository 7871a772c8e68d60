"""A check measures the whole program, and sees what it starts (issue 16, points 3 and 4).

Each grading test runs in the three settings courses run: root on a full machine (cgroup, PID
namespace), an ordinary user (`unshare --user`: no cgroup), and a process that can neither
unshare nor mount (tests/nonamespace.py, as under Docker's default seccomp profile; no cgroup).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.containment import members, processes

import nonamespace
from support import ROOT
from test_containment import NON_ROOT_UID, _can_pose_as_user

pytestmark = pytest.mark.slow  # every grading here runs in three settings

SETTINGS = ["root", pytest.param("user", marks=pytest.mark.skipif(
    not _can_pose_as_user(), reason="no unprivileged user namespaces here")),
    pytest.param("no-namespaces", marks=pytest.mark.skipif(
        not nonamespace.supported(), reason="no seccomp filter for this machine"))]
ORPHAN = ["hostile/orphan_worker.c", "asgn5/mytalk.c"]
BUGS = ("main=mytalk_main", "BUG_SPIN_IDLE_CHAT_CLIENT", "BUG_SPIN_IDLE_CHAT_SERVER",
        "BUG_LEAK_FD_CLIENT", "BUG_LEAK_FD_SERVER")
MEASURING = {f"{role}_{cid}" for role in ("client", "server")
             for cid in ("idle_waiting_answer", "idle_chat", "idle_after_close", "fd_stable")}


def grade_in(setting: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`grade ARGS` as root, as an ordinary user, or where namespaces are refused."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    argv = [sys.executable, "-m", "grader", *args]
    if setting == "user":
        env["GRADER_NO_CGROUP"] = "1"
        argv = ["unshare", "--user", f"--map-user={NON_ROOT_UID}",
                f"--map-group={NON_ROOT_UID}"] + argv
    elif setting == "no-namespaces":
        env["GRADER_NO_CGROUP"] = "1"
        argv = nonamespace.argv(*argv)
    return subprocess.run(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def checks_of(out: Path) -> dict[str, dict]:
    return {c["id"]: c for c in json.loads(out.read_text())["checks"]}


# ---- point 3: a check measures the whole program --------------------------------------------

@pytest.mark.parametrize("setting", SETTINGS)
def test_an_orphaned_worker_fails_every_check_that_measures(setting, build_c, tmp_path):
    """A busy-waiting, descriptor-leaking mytalk whose main double-forks (setsid) a worker that
    does the whole chat and waits for it: every idle and descriptor check fails and says in
    plain words what was left running; every other check passes (the chat itself works)."""
    program = build_c(ORPHAN, BUGS, talk=True)
    out = tmp_path / "r.json"
    done = grade_in(setting, "asgn5", str(program), "--json", str(out))
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr
    checks = checks_of(out)
    failed = {cid for cid, c in checks.items() if c["status"] != "passed"}
    assert failed == MEASURING
    for cid in MEASURING:
        message = checks[cid]["message"]
        assert message.startswith("mytalk left a process running outside its own tree: pid "), \
            message
        assert program.name in message.splitlines()[0]


@pytest.mark.parametrize("setting", SETTINGS)
def test_a_correct_program_passes_every_measurement(setting, build_c, tmp_path):
    """The correct program, measured whole, passes every check in every setting."""
    program = build_c(["asgn5/mytalk.c"], talk=True)
    out = tmp_path / "r.json"
    done = grade_in(setting, "asgn5", str(program), "--json", str(out))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert all(c["status"] == "passed" for c in checks_of(out).values())


def test_an_orphan_is_the_case_s_but_outside_its_program_s_tree():
    """This process is a subreaper (as the grader is): a double-forked, setsid'd grandchild is
    re-parented to it, so it is one of our descendants but not in the program's tree."""
    main = subprocess.Popen(["sh", "-c", "(setsid sleep 60 &); exec sleep 60"])
    try:
        deadline = time.monotonic() + 10
        while True:
            snap = members.Snapshot(None, ())
            outside = snap.left_outside(snap.tree(main.pid))
            settled = [p for p in outside if members.describe(p).endswith("/sleep")]
            if (outside and settled == outside) or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert len(outside) == 1, outside
        assert outside[0] not in snap.tree(main.pid) and main.pid in snap.case
        assert members.Snapshot(None, outside).left_outside(snap.tree(main.pid)) == []
    finally:
        main.kill()
        main.wait()
        for pid in members.Snapshot(None, ()).case:
            processes.kill(pid)
        processes.reap_orphans()
