"""Tests of the sandbox: hostile C programs graded for real, and what must hold afterwards.

Each fixture in tests/fixtures/hostile/ pretends to be a MiniChat server and misbehaves in one
way (escapes, refuses to stop, forks, floods, prints garbage, looks around). It tells the test
what it did through a report file in a directory fixed at compile time, because the grader
gives student programs a clean environment and a scratch directory of their own.

Whatever a fixture started must be gone when grading ends. The autouse check in conftest.py
covers our descendants; `no_fixture_survives` looks system-wide, by the fixture's own binary.
The decisions for machines unlike this one (not root, no namespaces, no cgroup) are tested
by forcing them, or as units.
"""
from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.dom.minidom
from pathlib import Path

import pytest

from grader.containment import contain, netns, sandbox
from grader.frontend import doctor
from grader.frontend.report import html as html_report
from grader.harness.results import GRADED, Batch, Run, StudentResult
from grader.settings import Settings

from support import ROOT, run_grade
from hostile_reports import (GONE_WITHIN, NOBODY, report_base, reported_running,
                             still_running)

DEFAULTS = Settings()
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (as in CI)")


def check(graded, check_id: str) -> dict:
    return next(c for c in graded.result["checks"] if c["id"] == check_id)


# ---- process containment ------------------------------------------------------------------

@pytest.mark.slow
def test_escaped_grandchild_is_killed_when_its_case_ends(grade, hostile, report):
    """A double-forked, setsid'd grandchild ignoring signals dies with its case, not later."""
    graded = grade("minichat-server", str(hostile("detach")), "-k", "listens or announces")
    assert graded.verdicts == {"listens": "passed", "announces_connections": "passed"}
    sleepers = report.pids("sleeper")
    assert len(sleepers) == 2, report.lines()
    # The second case's program looked for the first case's sleeper: it was already gone.
    assert report.values("survivor") == []
    assert still_running(sleepers, GONE_WITHIN) == []


@pytest.mark.slow
def test_program_ignoring_signals_fails_with_did_not_exit(grade, hostile, report):
    """It must exit after "bye" and does not: the check fails, then SIGKILL ends it and its
    detached helper."""
    graded = grade("minichat-server", str(hostile("stubborn")), "-k", "bye_ends_server")
    result = check(graded, "bye_ends_server")
    assert result["status"] == "failed"
    assert "did not exit" in result["message"]
    assert "killed by SIGKILL" in result["transcript"]
    assert result["duration_s"] < DEFAULTS.exit_timeout + 2.0    # the grace period, then the kill
    assert still_running(report.pids("pid", "helper"), GONE_WITHIN) == []


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "Ctrl-C"])
def test_nothing_outlives_a_killed_grader(how, hostile, report, tmp_path):
    """Kill the grader mid-check: the program and its detached helper are gone within 2 s.

    The check waits up to 2 s for the program to exit after "bye": the moment to strike.
    """
    program = hostile("stubborn")
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    grader = subprocess.Popen([sys.executable, "-m", "grader", "minichat-server", str(program),
                               "-k", "bye_ends_server", "--json", str(tmp_path / "result.json")],
                              cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        report.wait_for("pid", "helper", "cwd")
        victims = report.pids("pid", "helper")
        assert all(reported_running(pid) for pid in victims)
        if how == "SIGKILL":
            grader.kill()
        elif how == "SIGTERM":
            grader.terminate()
        else:   # a terminal sends ^C to its whole foreground process group
            os.killpg(grader.pid, signal.SIGINT)
        assert still_running(victims, GONE_WITHIN) == [], f"survived the grader's {how}"
        status = grader.wait(timeout=10)
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()
    assert status == (-signal.SIGKILL if how == "SIGKILL" else 130)
    # The run's scratch directory and cgroups go too (by the watchdog, after a SIGKILL).
    run_dir = Path(report.values("cwd")[0]).parent
    parent, _ = sandbox.cgroup_home()
    deadline = time.monotonic() + GONE_WITHIN
    while run_dir.exists() or (parent and list(Path(parent).glob(f"grader-{grader.pid}-*"))):
        assert time.monotonic() < deadline, f"left behind: {run_dir} or cgroups in {parent}"
        time.sleep(0.01)


# ---- limits ------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("limit", ["cgroup", "rlimit"])
def test_fork_bomb_is_contained(limit, hostile, report):
    """300 forks are cut short by the process limit, and every child is gone afterwards."""
    if limit == "cgroup" and sandbox.cgroup_home()[0] is None:
        pytest.skip("no writable pids cgroup here: " + sandbox.cgroup_home()[1])
    options = ("-k", "listens")
    env = {sandbox.NO_CGROUP: "1"} if limit == "rlimit" else {}
    out = Path(report.path.parent) / "result.json"
    done = run_grade("minichat-server", str(hostile("forkbomb")), "--json", str(out), *options,
                     env=env)
    result = json.loads(out.read_text())
    assert done.returncode == 0, done.stdout + done.stderr
    expected = "pids cgroup per case" if limit == "cgroup" else "RLIMIT_NPROC"
    assert any(expected in note for note in result["notes"])
    (forked,) = report.values("forked")
    assert int(forked) < DEFAULTS.max_processes           # the program itself counts too
    assert report.values("refused") == ["Resource temporarily unavailable"]
    children = report.pids("child")
    assert len(children) == int(forked)
    assert still_running(children, GONE_WITHIN) == []


@pytest.mark.slow
def test_resource_limits_are_set_and_hold(grade, hostile, report):
    """CPU, address space, descriptors, file size and core size are limited; a huge file stops."""
    graded = grade("minichat-server", str(hostile("limits")), "-k", "listens")
    assert graded.verdicts == {"listens": "passed"}
    limits = {v.split()[0]: tuple(int(x) for x in v.split()[1:]) for v in report.values("limit")}
    assert limits["cpu"] == (DEFAULTS.cpu_seconds,) * 2
    assert limits["as"] == (DEFAULTS.address_space,) * 2
    assert limits["nofile"] == (DEFAULTS.open_files,) * 2
    assert limits["fsize"] == (DEFAULTS.file_size,) * 2
    assert limits["core"] == (0, 0)
    assert report.values("wrote") == [f"{DEFAULTS.file_size} File too large"]
    assert report.values("malloc") == ["failed"]
    (opened,) = report.values("opened")
    count, error = opened.split(" ", 1)
    assert int(count) < DEFAULTS.open_files and error == "Too many open files"


@pytest.mark.slow
def test_output_flood_is_capped(grade, hostile, report, tmp_path):
    """Endless output: kept up to the cap, reported as truncated, JSON small, grading ends."""
    start = time.monotonic()
    # A longer deadline lets the flood pass the cap even on a loaded machine.
    graded = grade("minichat-server", str(hostile("flood")), "-k", "announces_connections",
                   "--timeout-scale", "5")
    assert time.monotonic() - start < 60
    result = check(graded, "announces_connections")
    assert result["status"] == "failed"
    assert "output truncated" in graded.stdout
    assert "output truncated" in result["message"]
    json_file = next(tmp_path.glob("result-*.json"))
    assert json_file.stat().st_size < 256 * 1024
    assert still_running(report.pids("flooder"), GONE_WITHIN) == []


@pytest.mark.slow
def test_typing_into_a_flooding_program_ends(grade, hostile, report, tmp_path):
    """Typing first takes in pending output, at most a cap of it, so it returns despite a flood."""
    start = time.monotonic()
    graded = grade("minichat-client", str(hostile("flood_client")), "-k", "bye_typed_ends",
                   "-v")
    assert time.monotonic() - start < 60
    # The check typed "bye" and went on to wait for the exit: typing did not hang in the flood.
    assert "did not exit" in check(graded, "bye_typed_ends")["message"]
    assert next(tmp_path.glob("result-*.json")).stat().st_size < 256 * 1024
    assert still_running(report.pids("flooder"), GONE_WITHIN) == []


# ---- reports -----------------------------------------------------------------------------

TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")


@pytest.mark.slow
def test_hostile_bytes_leave_every_report_readable(hostile, tmp_path):
    """NULs, invalid UTF-8 and escape sequences reach no report raw; every format stays valid."""
    program = hostile("garbage")
    json_file, junit_file = tmp_path / "r.json", tmp_path / "r.xml"
    done = subprocess.run([sys.executable, "-m", "grader", "minichat-server", str(program),
                           "-k", "announces_connections", "-v", "--json", str(json_file),
                           "--junit", str(junit_file)],
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1"),
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    assert done.returncode == 1
    terminal = done.stdout.decode("utf-8")                  # valid UTF-8, or this raises
    assert not TERMINAL_CONTROLS.search(terminal), "a control character reached the terminal"
    assert "\\x1b[2J" in terminal and "nul\\x00byte" in terminal   # shown, as escapes

    result = json.loads(json_file.read_text(encoding="utf-8"))
    message = result["checks"][0]["message"]
    assert "[bold red]markup[/bold red]" in message and "<script>" in message

    xml.dom.minidom.parse(str(junit_file))                  # well-formed, or this raises

    run = Run.from_dict(result)
    page = html_report.render(Batch(run.assignment, [StudentResult("s", GRADED, run=run)],
                                    max_score=run.max_score)).decode("utf-8")
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert not TERMINAL_CONTROLS.search(page)


# ---- who, where, which network -----------------------------------------------------------

@pytest.mark.slow
@as_root
def test_programs_run_as_a_leased_uid_in_fresh_scratch_dirs(grade, hostile, report):
    """As root: a uid of the grading's own (from the configured range), own session, a fresh
    directory that uid owns, removed after each case."""
    graded = grade("minichat-server", str(hostile("whoami")), "-k", "listens or announces")
    assert graded.code == 0, graded.stdout
    (user,) = [n[len("student programs run as "):] for n in graded.result["notes"]
               if n.startswith("student programs run as ")]
    name, uid = re.fullmatch(r"(\S+) \(uid (\d+)\)", user).groups()
    uid = int(uid)
    assert name == DEFAULTS.sandbox_login
    assert DEFAULTS.sandbox_uid_first <= uid < DEFAULTS.sandbox_uid_first + \
        DEFAULTS.sandbox_uid_count
    starts = report.records("uid")
    assert len(starts) == 2
    for seen in starts:
        assert int(seen["uid"]) == int(seen["euid"]) == uid
        assert int(seen["gid"]) == uid and seen["groups"] == "0"
        assert seen["pid"] == seen["sid"] == seen["pgid"]         # own session and group
        assert int(seen["cwd_owner"]) == uid
        assert seen["cwd_entries"] == "0" and seen["cwd_write"] == "ok"
        assert not Path(seen["cwd"]).exists()
    assert starts[0]["cwd"] != starts[1]["cwd"]


@pytest.mark.slow
def test_network_is_loopback_only(grade, hostile, report):
    """Another address is unreachable at once; only lo is up; port 10000 is free in every case."""
    if not netns.probe()[0]:
        pytest.skip("no network namespaces here: " + netns.probe()[1])
    graded = grade("minichat-server", str(hostile("whoami")), "-k", "announces_connections",
                   "-v")
    result = check(graded, "announces_connections")
    assert result["status"] == "passed"
    assert "connect to 192.0.2.1:80: Network is unreachable" in result["transcript"]
    (seen,) = report.records("uid")
    assert seen["interfaces"] == "lo"
    reason, millis = seen["connect"].rsplit(" ", 1)
    assert reason == "Network is unreachable" and int(millis) < 500
    assert seen["udp"] == "Network is unreachable"
    assert seen["bind10000"] == "ok"


def _in_private_network(tmp_path: Path, runs: list[list[str]], env: dict[str, str]) -> list[int]:
    """Run `grade` commands at once, all inside one fresh network namespace of their own.

    The namespace keeps this test's port 10000 away from anyone else on the machine, while
    the runs inside it share it exactly as parallel runs on one machine would. `env` is
    added to the runs' environment only, after the namespace exists.
    """
    driver = (
        "import json, os, subprocess, sys\n"
        "from grader.containment import netns\n"
        "ok, why = netns.prepare()\n"
        "assert ok, why\n"
        "runs, env = json.loads(sys.argv[1]), dict(os.environ, **json.loads(sys.argv[2]))\n"
        "procs = [subprocess.Popen([sys.executable, '-m', 'grader', *args], env=env,\n"
        "                          stdout=open(f'{sys.argv[3]}/out-{i}.txt', 'w'),\n"
        "                          stderr=subprocess.STDOUT) for i, args in enumerate(runs)]\n"
        "print(json.dumps([p.wait() for p in procs]))\n")
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    full_env.pop(netns.DISABLE, None)
    done = subprocess.run([sys.executable, "-c", driver, json.dumps(runs), json.dumps(env),
                           str(tmp_path)],
                          cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
def test_fixed_port_runs_in_parallel_do_not_collide(tmp_path, hostile, report):
    """Two runs at once of programs on port 10000: each case has the port to itself."""
    if not netns.probe()[0]:
        pytest.skip("no network namespaces here: " + netns.probe()[1])
    whoami = str(hostile("whoami"))
    codes = _in_private_network(tmp_path, [
        ["tcp-server", "--reference"], ["tcp-server", "--reference"],
        ["minichat-server", whoami, "-k", "listens or announces"],
        ["minichat-server", whoami, "-k", "listens or announces"]], {})
    assert codes == [0, 0, 0, 0], [p.read_text() for p in sorted(tmp_path.glob("out-*"))]
    assert report.values("bind10000") == ["ok"] * 4         # two runs of two cases each


@pytest.mark.slow
def test_without_namespaces_the_grader_says_so_once_and_still_works(tmp_path):
    """GRADER_NO_NETNS: one note says so, and fixed-port runs take turns instead of colliding."""
    codes = _in_private_network(tmp_path, [
        ["tcp-server", "--reference", "-v", "--json", str(tmp_path / f"r{i}.json")]
        for i in range(2)],
        {netns.DISABLE: "1"})
    assert codes == [0, 0], [p.read_text() for p in sorted(tmp_path.glob("out-*"))]
    for i in range(2):
        notes = json.loads((tmp_path / f"r{i}.json").read_text())["notes"]
        assert sum("no network isolation" in note for note in notes) == 1
        assert (tmp_path / f"out-{i}.txt").read_text().count("no network isolation") == 1


@as_root
def test_grading_as_an_ordinary_user(hostile, report, report_dir):
    """Not root: programs run as the grader's user, still in namespaces, limits and scratch.

    Runs where python and the grader are reachable for `nobody` (as in CI); skipped here when
    the interpreter lives in root's home.
    """
    setpriv = shutil.which("setpriv")
    as_nobody = [setpriv or "setpriv", f"--reuid={NOBODY.pw_uid}", f"--regid={NOBODY.pw_gid}",
                 "--clear-groups", sys.executable]
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, PYTHONPATH=path, NO_COLOR="1", HOME=str(report_dir))
    probe = subprocess.run([*as_nobody, "-c", "import grader, pexpect, psutil, pytest, rich"],
                           env=env, cwd=report_dir, capture_output=True)
    if setpriv is None or probe.returncode != 0:
        pytest.skip("python and the grader are not reachable for nobody on this machine")
    # Not beside the report: programs see the directory holding their handin's directory
    # empty (a batch's classmates), and here that would be the reports' directory.
    place = Path(tempfile.mkdtemp(prefix="program-", dir=report_base()))
    place.chmod(0o755)
    (place / "bin").mkdir(mode=0o755)
    program = place / "bin" / "whoami"
    shutil.copy(hostile("whoami"), program)
    program.chmod(0o755)
    out = report_dir / "result.json"
    done = subprocess.run([*as_nobody, "-m", "grader", "minichat-server", str(program),
                           "-k", "listens or announces", "--json", str(out)],
                          env=env, cwd=report_dir, capture_output=True, text=True, timeout=120)
    shutil.rmtree(place, ignore_errors=True)
    assert done.returncode == 0, done.stdout + done.stderr
    notes = json.loads(out.read_text())["notes"]
    assert any(n.startswith("student programs run as the grader's user") for n in notes)
    assert any(n.startswith("process limit: RLIMIT_NPROC") for n in notes)
    for seen in report.records("uid"):
        assert int(seen["uid"]) == NOBODY.pw_uid and seen["pid"] == seen["sid"]
        assert not Path(seen["cwd"]).exists()
        if notes[0] == netns.ISOLATED:
            assert seen["interfaces"] == "lo"
            assert seen["connect"].startswith("Network is unreachable")


# ---- decisions for other machines, as units --------------------------------------------------

def test_policy_when_not_root(monkeypatch):
    """Not root: programs keep the grader's user, and RLIMIT_NPROC counts what it already has."""
    policy = sandbox.Policy.for_this_machine(DEFAULTS, euid=1000)
    assert policy.uid is None and not policy.unsafe_as_root
    assert "not root" in policy.why_no_user
    assert policy.describe()[0].startswith("student programs run as the grader's user")
    monkeypatch.setattr(os, "getuid", lambda: 1000)
    monkeypatch.setattr(sandbox, "_processes_of", lambda uid: 37)
    limits = dict(policy.limits(None, drop=False))
    assert limits[resource.RLIMIT_NPROC] == 37 + DEFAULTS.max_processes
    assert limits[resource.RLIMIT_CORE] == 0


def test_policy_as_root_without_a_sandbox_user_refuses():
    settings = Settings(sandbox_user="no-such-user-for-grading")
    policy = sandbox.Policy.for_this_machine(settings, euid=0)
    assert policy.unsafe_as_root
    assert "does not exist" in policy.why_no_user


def test_policy_without_cgroup_limits_the_sandbox_user(monkeypatch):
    monkeypatch.setenv(sandbox.NO_CGROUP, "1")
    policy = sandbox.Policy.for_this_machine(DEFAULTS)
    assert policy.cgroup_parent is None
    assert policy.describe()[1] == ("process limit: RLIMIT_NPROC "
                                    f"(pids cgroups disabled by {sandbox.NO_CGROUP})")
    assert dict(policy.limits(None, drop=True))[resource.RLIMIT_NPROC] == DEFAULTS.max_processes


def test_netns_fallback_explains_itself(monkeypatch):
    """Disabled, or refused by the kernel: prepare() says why, and nothing is unshared."""
    monkeypatch.setattr(netns, "_state", {})
    monkeypatch.setenv(netns.DISABLE, "1")
    ok, why = netns.prepare()
    assert not ok and why.startswith("no network isolation (disabled by GRADER_NO_NETNS)")
    assert netns.probe() == (False, "disabled by GRADER_NO_NETNS")

    def refuse(flags: int) -> None:
        raise OSError(1, "Operation not permitted")
    monkeypatch.setattr(netns, "_state", {})
    monkeypatch.delenv(netns.DISABLE)
    monkeypatch.setattr(netns, "_unshare", refuse)
    assert netns.prepare() == (False, netns.without("Operation not permitted"))


# ---- grade doctor ------------------------------------------------------------------------

PROTECTIONS = ["process containment", "grader killed", "process limit", "resource limits",
               "output cap", "unprivileged user", "a user per student", "private view",
               "PID namespace", "network isolation", "scratch directories"]


def _status(text: str) -> dict[str, str]:
    found = {}
    for name in PROTECTIONS:
        m = re.search(rf"^  (ok|NO)  {name}\b", text, re.MULTILINE)
        assert m, f"doctor does not mention {name}:\n{text}"
        found[name] = m.group(1)
    return found


@as_root
def test_doctor_reports_every_protection_active_here():
    done = run_grade("doctor")
    assert done.returncode == 0, done.stderr
    assert set(_status(done.stdout).values()) == {"ok"}
    assert "All protections are active." in done.stdout


def test_doctor_says_what_is_off_and_why():
    done = run_grade("doctor", env={netns.DISABLE: "1", sandbox.NO_CGROUP: "1",
                                    contain.NO_VIEW: "1"})
    status = _status(done.stdout)
    assert status["network isolation"] == status["process limit"] == "NO"
    assert status["private view"] == "NO"
    assert "disabled by GRADER_NO_NETNS" in done.stdout
    assert "disabled by GRADER_NO_VIEW" in done.stdout
    assert ("Turned off by the environment: GRADER_NO_NETNS, GRADER_NO_CGROUP, GRADER_NO_VIEW"
            in done.stdout)


@pytest.mark.slow
def test_weaker_mode_without_the_view_still_grades_and_says_so(grade, hostile, report):
    """GRADER_NO_VIEW (as where user namespaces are refused): grading works, the report says
    programs share /tmp, and nothing of the program's processes is left."""
    program = str(hostile("view"))
    done = run_grade("minichat-server", program, "-k", "listens", "-v",
                     env={contain.NO_VIEW: "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("no private file-system view (disabled by GRADER_NO_VIEW)") == 1
    for path in report.values("left"):        # what it left is the machine's: clean it up
        if os.path.exists(path):
            os.unlink(path)
    for value in report.values("shm"):
        if shutil.which("ipcrm"):
            subprocess.run(["ipcrm", "-M", value.split()[0]], capture_output=True)


def test_doctor_changes_nothing_in_the_caller():
    before = os.readlink("/proc/self/ns/net")
    assert "network isolation" in doctor.report()
    assert os.readlink("/proc/self/ns/net") == before


def test_cgroup_v1_in_a_container_is_the_mounts_root(tmp_path):
    """Docker on cgroup v1 mounts the container's own group at /sys/fs/cgroup/pids, while
    /proc/self/cgroup names the host's /docker/ID: the grader's group is the mount's root
    (the grader crashed there with "No such file or directory" before)."""
    own = tmp_path / "cgroup"
    own.write_text("9:name=systemd:/docker/abc\n8:pids:/docker/abc\n0::/\n")
    (tmp_path / "pids").mkdir()
    (tmp_path / "pids" / "cgroup.procs").write_text(f"1\n{os.getpid()}\n")
    assert sandbox._pids_hierarchy(str(own), str(tmp_path)) == (str(tmp_path / "pids"), "")
    (tmp_path / "pids" / "cgroup.procs").write_text("1\n")          # not ours: the path named
    assert sandbox._pids_hierarchy(str(own), str(tmp_path)) == (
        str(tmp_path / "pids" / "docker" / "abc"), "")


# Root with Docker's capabilities (no CAP_SYS_PTRACE) reads a program's system call: a child
# as another uid blocks reading a pipe, and the grader's stall detection must name that call.
_STALL_PROBE = """
import os, sys, time
from grader.harness import stall
uid = int(sys.argv[1])
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.dup2(r, 0)
    os.setgroups([]); os.setgid(uid); os.setuid(uid)
    os.execvp("sh", ["sh", "-c", "read line"])
try:
    seen, deadline = None, time.monotonic() + 30      # until it sleeps in read()
    while not seen and time.monotonic() < deadline:
        seen = stall.waiting_call(pid, pid)
        time.sleep(0.005)
    direct = "readable"
    try:
        open(f"/proc/{pid}/syscall").read()
    except PermissionError:
        direct = "refused"
    print(seen, "|", direct)
finally:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, as in a container")
def test_stall_detection_without_cap_sys_ptrace():
    import nonamespace
    if not nonamespace.supported():
        pytest.skip("no seccomp filter for this machine")
    uid = Settings().sandbox_uid_first + Settings().sandbox_uid_count - 1
    done = subprocess.run(nonamespace.argv(sys.executable, "-c", _STALL_PROBE, str(uid)),
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen, direct = (part.strip() for part in done.stdout.split("|"))
    assert direct == "refused"            # the capability really is missing here
    assert seen == "read() on a pipe"
