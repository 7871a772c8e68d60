"""Containment of the build and of the grader's own files (issue 11), and the login terminal.

One test (or more) per finding of the red-team pass, each with a hostile fixture: a C program
in tests/fixtures/hostile/ or a handin written in the test. Where it applies, the same test
runs as a normal user: as root, `unshare --user --map-user=1001` gives a process whose uid is
1001 in its own user namespace, so the grader takes its non-root path (the launcher's own user
namespace, no uid switch, no cgroup) while Python and the repository stay readable.
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from grader.harness import build as building
from grader.containment import buildcache, contain
from grader.harness import talklib
from grader.harness.assignments import find as load_assignment
from grader.containment.sandbox import Policy
from grader.settings import Settings

from support import ROOT, descendants_named, run_grade, running_among, scaled, shown
from hostile_reports import (GONE_WITHIN, HOSTILE_NAMES, Report, report_base, runners_of,
                             still_running)

DEFAULTS = Settings()
HOSTILE = ROOT / "tests" / "fixtures" / "hostile"
HANDINS = ROOT / "tests" / "fixtures" / "handins"
MYTALK = ROOT / "tests" / "fixtures" / "asgn5" / "mytalk.c"
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (as in CI)")
NON_ROOT_UID = 1001


def _can_pose_as_user() -> bool:
    if shutil.which("unshare") is None:
        return False
    done = subprocess.run(["unshare", "--user", f"--map-user={NON_ROOT_UID}",
                           f"--map-group={NON_ROOT_UID}", "true"], capture_output=True)
    return done.returncode == 0


USERS = ["root", pytest.param("user", marks=pytest.mark.skipif(
    not _can_pose_as_user(), reason="no unprivileged user namespaces here"))]


def grade_as(who: str, *args: str, env: dict | None = None, timeout: float = 300,
             cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`grade ARGS` as root (the test's own user) or as a normal user (see the docstring)."""
    if who == "root":
        return run_grade(*args, env=env, timeout=timeout, cwd=cwd)
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", GRADER_NO_CGROUP="1",
                    **(env or {}))
    return subprocess.run(["unshare", "--user", f"--map-user={NON_ROOT_UID}",
                           f"--map-group={NON_ROOT_UID}", sys.executable, "-m", "grader", *args],
                          cwd=cwd, env=full_env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


def notes_of(result_file: Path) -> list[str]:
    return json.loads(result_file.read_text())["notes"]


def user_of(notes: list[str]) -> tuple[str, int]:
    """(name, uid) from the note "student programs run as NAME (uid UID)"."""
    (line,) = [n for n in notes if n.startswith("student programs run as ")]
    name, uid = re.fullmatch(r"student programs run as (\S+) \(uid (\d+)\)", line).groups()
    return name, int(uid)


# ---- the view: getlogin (issue 9, point 3), leftovers (11), IPC, /proc --------------------------

@pytest.mark.slow
@pytest.mark.parametrize("who", USERS)
def test_program_view_names_its_user_and_leaves_nothing(who, hostile, report, tmp_path):
    """getlogin() and getpwuid() name the program's user; what it leaves in /tmp, /var/tmp,
    /dev/shm and System V shared memory is gone after grading; its own files are read-only."""
    out = tmp_path / "r.json"
    done = grade_as(who, "minichat-server", str(hostile("view")), "-k", "listens",
                    "--json", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    (seen,) = report.records("uid")
    notes = notes_of(out)
    if who == "root":
        name, uid = user_of(notes)
        assert name == DEFAULTS.sandbox_login
        assert int(seen["uid"]) == uid
        assert int(seen["procs"]) <= 3                 # its PID namespace's /proc
    else:
        assert int(seen["uid"]) == NON_ROOT_UID
        name = seen["pwname"]
        assert name != "none"
    assert seen["login"] == name, "getlogin() must name the user, as on a login terminal"
    assert seen["pwname"] == name
    assert seen["course"].endswith("/pn-cs357")
    assert int(seen["tmp_entries"]) <= 1               # the run's own directory, nothing else
    assert seen["kill_all"] == "No such process"       # kill(-1) reaches nothing outside
    assert seen["write_build"] == "Read-only file system"
    left = report.values("left")
    assert len(left) == 3, report.lines()
    for path in left:
        assert not os.path.exists(path), f"{path} outlived the grading"
    key, _ = report.values("shm")[0].split()
    with open("/proc/sysvipc/shm") as f:
        keys = {line.split()[0] for line in f.readlines()[1:]}
    assert key not in keys, "a System V segment outlived the grading"


@pytest.mark.slow
@as_root
@pytest.mark.skipif(not _can_pose_as_user(), reason="no unprivileged user namespaces here")
def test_doctor_as_a_user_says_what_root_really_does(hostile, report, tmp_path):
    """Issue 19: `grade doctor` as a normal user tells what grading as root would do about
    users; a real grading as root must do just that (the uid range and the name it says)."""
    done = grade_as("user", "doctor")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    said = re.search(r"leased from (\d+)-(\d+) and named (\S+) in their view", text)
    assert said, text
    first, last, name = int(said.group(1)), int(said.group(2)), said.group(3)
    assert f"as {DEFAULTS.sandbox_user} when none is free" in text
    out = tmp_path / "r.json"
    graded = grade_as("root", "minichat-server", str(hostile("view")), "-k", "listens",
                      "--json", str(out))
    assert graded.returncode == 0, graded.stdout + graded.stderr
    really, uid = user_of(notes_of(out))
    assert really == name and first <= uid <= last
    assert int(report.records("uid")[0]["uid"]) == uid


@as_root
def test_a_utmp_record_names_the_user_on_the_programs_terminal(hostile, report, tmp_path):
    """Issue 9, point 3: where the machine has a utmp file, the program's view holds a private
    one with a record of its user on its pty (the machine's is never written). The machine
    here has none, so the grader runs in a mount namespace whose /run is a fresh tmpfs with an
    empty utmp file."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare")
    out = tmp_path / "r.json"
    script = ("mount -t tmpfs tmpfs /run && : > /run/utmp && exec \"$@\"")
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                           "sh", sys.executable, "-m", "grader", "minichat-server",
                           str(hostile("view")), "-k", "listens", "--json", str(out)],
                          cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    (seen,) = report.records("uid")
    assert seen["utmp"] == seen["login"] == seen["pwname"] == DEFAULTS.sandbox_login
    assert int(seen["tmp_entries"]) <= 1          # the private utmp file is not left in /tmp


@pytest.mark.slow
@pytest.mark.parametrize("who", USERS)
def test_a_program_using_getlogin_passes_every_check(who, build_c, tmp_path):
    """Issue 9, point 3: a real handin's pattern, the user name from getlogin(): every check
    passes, as root and as a normal user (in the pty, getlogin() used to fail with ENXIO)."""
    program = build_c(["students/mytalk_getlogin.c"], talk=True)
    out = tmp_path / "r.json"
    done = grade_as(who, "asgn5", str(program), "--json", str(out))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert all(c["status"] == "passed" for c in json.loads(out.read_text())["checks"])


@pytest.mark.slow
@as_root
def test_students_graded_at_once_get_different_uids(hostile, report, tmp_path):
    """Finding 10: a grading never runs as a uid another grading holds. The other grading is
    this test holding a lease (the way a grading holds one for its whole run), so that the two
    overlap for certain; then two gradings one after the other, each given its own."""
    program = str(hostile("view"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    held, why = contain.lease_uid(DEFAULTS, buildcache.cache_root() / "uids")
    assert held is not None, why
    try:
        procs = [subprocess.Popen([sys.executable, "-m", "grader", "minichat-server", program,
                                   "-k", "listens", "--json", str(tmp_path / f"r{i}.json")],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for i in range(2)]
        assert [p.wait(timeout=120) for p in procs] == [0, 0]
    finally:
        held.release()
    uids = {int(u) for u in report.values("uid")}
    assert uids and held.uid not in uids
    first, count = DEFAULTS.sandbox_uid_first, DEFAULTS.sandbox_uid_count
    assert all(first <= u < first + count for u in uids)
    users = {user_of(notes_of(tmp_path / f"r{i}.json")) for i in range(2)}
    assert {name for name, _ in users} == {DEFAULTS.sandbox_login}   # one name: fair verdicts
    assert {uid for _, uid in users} == uids


@pytest.mark.slow
def test_classmates_handins_are_hidden_in_a_batch(tmp_path, report_dir):
    """Finding 10, files: in a batch, a student's program and build see the directory of the
    handins empty (not in their view at all), so they cannot read a classmate's sources."""
    root = Path(tempfile.mkdtemp(prefix="batch-", dir=report_base().parent))
    try:
        defines = f"-DREPORT_DIR='\"{report_dir}\"' -DPEEK_DIR='\"{root}\"'"
        for name in ("alice", "bob"):
            d = root / name
            d.mkdir()
            for f in ("view.c", "common.c", "common.h"):
                shutil.copy(HOSTILE / f, d / f)
            (d / "Makefile").write_text(f"server: view.c common.c\n"
                                        f"\t-ls {root} > seen.txt 2>/dev/null\n"
                                        f"\ttest ! -s seen.txt\n"
                                        f"\tgcc -std=gnu99 {defines} -o server view.c common.c\n")
        done = run_grade("minichat-server", str(root), "-j", "2", "-k", "listens",
                         "--out", str(tmp_path / "out"))
        assert done.returncode == 0, done.stdout + done.stderr
        seen = Report(report_dir)            # both built (the build saw no classmate) and ran
        assert seen.values("peek") == ["0", "0"], seen.lines()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_uid_lease_is_exclusive(tmp_path):
    """A leased uid is not leased again while its lock is held, and is free once released."""
    settings = Settings(sandbox_uid_first=1_900_500_000, sandbox_uid_count=2)
    a, why = contain.lease_uid(settings, tmp_path / "uids")
    assert a is not None, why
    b, _ = contain.lease_uid(settings, tmp_path / "uids")
    c, why_c = contain.lease_uid(settings, tmp_path / "uids")
    assert b is not None and b.uid != a.uid
    assert c is None and "in use" in why_c
    a.release()
    d, _ = contain.lease_uid(settings, tmp_path / "uids")
    assert d is not None and d.uid == a.uid
    for lease in (b, d):
        lease.release()


# ---- the grader's own files (findings 1, 2) ---------------------------------------------

def test_cache_is_private_and_never_a_planted_link(tmp_path, monkeypatch):
    """Finding 1: the cache (launcher, talk library, locks) is ours alone, mode 700, and a
    symlink planted where it would be is not followed."""
    root = buildcache.cache_root()
    assert not str(root).startswith(("/tmp/", "/var/tmp/", "/dev/shm/")) or \
        root.name.startswith("socket-grader-cache-")
    st = os.lstat(root)
    assert stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid()
    assert stat.S_IMODE(st.st_mode) == 0o700

    attacker = tmp_path / "attacker"
    attacker.mkdir(mode=0o777)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "socket-grader").symlink_to(attacker)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(buildcache, "_root", {})
    chosen = buildcache.cache_root()
    assert chosen.resolve() != attacker.resolve()
    assert stat.S_IMODE(os.lstat(chosen).st_mode) == 0o700


@pytest.mark.slow
def test_the_launcher_is_never_taken_from_a_shared_directory(tmp_path, hostile, report):
    """Finding 1, end to end: a "launcher" planted at the old predictable name in /tmp is
    never run; the one that runs lives in the private cache, ours alone."""
    from grader.containment import launcher
    built = launcher.ensure()
    assert built.parent.parent == buildcache.cache_root()
    st = os.lstat(built)
    assert stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077
    # The old predictable place: /tmp/socket-grader-UID/launcher-DIGEST. Planted with this
    # source's digest (an older grader's cache may be there already: then only our file).
    evil_dir = Path(f"/tmp/socket-grader-{os.getuid()}")
    marker = report.path.parent / "fake-launcher-ran"
    made_dir = not os.path.lexists(evil_dir)
    if made_dir:
        evil_dir.mkdir(mode=0o755)
    fake = evil_dir / built.name
    if os.path.lexists(fake):
        pytest.skip(f"{fake} exists on this machine")
    fake.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    fake.chmod(0o755)
    try:
        done = run_grade("minichat-server", str(hostile("view")), "-k", "listens")
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        fake.unlink()
        if made_dir:
            evil_dir.rmdir()
    assert not marker.exists()
    (seen,) = report.records("uid")
    assert seen["login"] != "none"


@pytest.mark.slow
def test_fixed_port_lock_never_truncates_a_planted_link(tmp_path):
    """Finding 2: without network namespaces, the fixed-port lock is in the private cache,
    opened without following links and never truncated; a link at the old name is ignored."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    old = Path("/tmp/socket-grader-port-10000.lock")
    planted = not os.path.lexists(old)
    if planted:
        old.symlink_to(victim)
    try:
        done = run_grade("tcp-server", "--reference", env={"GRADER_NO_NETNS": "1"})
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        if planted:
            old.unlink()
    assert victim.read_text() == "precious\n"
    lock = buildcache.cache_root() / "port-10000.lock"
    assert stat.S_ISREG(os.lstat(lock).st_mode)


# ---- the build (findings 3-6) -------------------------------------------------------------

def _hostile_handin(tmp_path: Path, report_dir: Path, mode: str,
                    fail: bool = False) -> tuple[Path, str]:
    """A minichat-server handin whose Makefile runs the daemon fixture in `mode` first."""
    handin = tmp_path / "handin"
    handin.mkdir()
    for name in ("view.c", "common.c", "common.h", "daemon.c"):
        shutil.copy(HOSTILE / name, handin / name)
    daemon = f"daemon-{os.getpid()}-{mode}"
    HOSTILE_NAMES.add(daemon)
    defines = f"-DREPORT_DIR='\"{report_dir}\"'"
    (handin / "Makefile").write_text(
        f"server: view.c common.c\n"
        f"\tgcc -std=gnu99 {defines} -o {daemon} daemon.c common.c\n"
        f"\t./{daemon} {mode}\n"
        f"\tgcc -std=gnu99 {defines} -o server view.c common.c\n"
        + ("\tfalse\n" if fail else ""))
    return handin, daemon


@pytest.mark.slow
@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("mode, fail", [("detach", False), ("detach", True), ("hop", False),
                                         ("hold", False)])
def test_nothing_the_build_starts_survives_it(who, mode, fail, tmp_path, report_dir):
    """Findings 3 and 5: a detached daemon (environment wiped), a pid hopper, or a child that
    keeps make's output open: gone when the build ends, built or not, and the build's
    deadline is not held up by the open pipe."""
    handin, daemon = _hostile_handin(tmp_path, report_dir, mode, fail)
    started = time.monotonic()
    done = grade_as(who, "minichat-server", str(handin), "-k", "listens")
    took = time.monotonic() - started
    assert done.returncode == (2 if fail else 0), done.stdout + done.stderr
    assert took < 30, f"grading took {took:.1f}s: the open pipe held the build"
    assert Report(report_dir).values("daemon"), "the daemon never started"
    assert still_running(runners_of(Path(daemon)), GONE_WITHIN, reported=False) == []


@pytest.mark.parametrize("who", USERS)
def test_grader_killed_during_the_build_leaves_nothing(who, tmp_path, report_dir):
    """Finding 3, the last path: `grade` killed with SIGKILL while make runs (a daemon already
    detached): make, the daemon and the run's scratch are gone within 2 s."""
    handin, daemon = _hostile_handin(tmp_path, report_dir, "detach")
    makefile = handin / "Makefile"
    makefile.write_text(makefile.read_text().replace(f"\t./{daemon} detach\n",
                                                     f"\t./{daemon} detach\n\tsleep 300\n"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    argv = [sys.executable, "-m", "grader", "minichat-server", str(handin)]
    if who == "user":
        env["GRADER_NO_CGROUP"] = "1"
        argv = ["unshare", "--user", f"--map-user={NON_ROOT_UID}",
                f"--map-group={NON_ROOT_UID}"] + argv
    grader = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        Report(report_dir).wait_for("daemon")
        family = psutil.Process(grader.pid).children(recursive=True)
        grader.kill()
        grader.wait()
        psutil.wait_procs(family, timeout=GONE_WITHIN)
        assert not running_among(family)
        assert still_running(runners_of(Path(daemon)), GONE_WITHIN, reported=False) == []
        assert still_running([p.pid for p in family], GONE_WITHIN, reported=False) == []
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()


@pytest.mark.slow
@as_root
@pytest.mark.parametrize("limit", ["cgroup", "rlimit"])
def test_build_has_a_process_limit_of_its_own(limit, tmp_path):
    """Finding 4: the sandbox user already has many processes on the machine (a classmate's
    program); a correct handin still builds, because builds run as the grading's own uid."""
    nobody = DEFAULTS.sandbox_user
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("no setpriv")
    import pwd
    entry = pwd.getpwnam(nobody)
    crowd = [subprocess.Popen([setpriv, f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                               "--clear-groups", "sleep", "120"]) for _ in range(
        DEFAULTS.max_processes + 6)]
    try:
        handin = tmp_path / "h"
        handin.mkdir()
        shutil.copy(MYTALK, handin / "mytalk.c")
        shutil.copy(HANDINS / "tilde_prereq" / "Makefile", handin / "Makefile")
        env = {"GRADER_NO_CGROUP": "1"} if limit == "rlimit" else {}
        done = run_grade("asgn5", str(handin), "-k", "usage_no_args", env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        for p in crowd:
            p.kill()
        for p in crowd:
            p.wait()


@pytest.mark.slow
def test_build_deadline_holds_for_a_make_that_never_ends(tmp_path):
    """Finding 5: make itself sleeps; the build stops at its deadline and says so."""
    handin = tmp_path / "h"
    handin.mkdir()
    (handin / "Makefile").write_text("server:\n\tsleep 300\n")
    started = time.monotonic()
    done = run_grade("minichat-server", str(handin), "--timeout-scale", "0.05")
    assert time.monotonic() - started < 30
    assert done.returncode == 2
    assert "did not finish within 6s" in done.stderr


@pytest.mark.slow
def test_build_log_is_capped_while_it_is_read(tmp_path):
    """Finding 6: 300 MB of make output; the grader's memory stays small and the log capped."""
    handin = tmp_path / "h"
    handin.mkdir()
    (handin / "Makefile").write_text(
        "server:\n\thead -c 300000000 /dev/zero | tr '\\0' 'x'\n\tfalse\n")
    out = tmp_path / "r.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    grader = subprocess.Popen([sys.executable, "-m", "grader", "minichat-server", str(handin),
                               "--json", str(out)], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    me = psutil.Process(grader.pid)
    while grader.poll() is None:
        try:
            peak = max(peak, me.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.02)
    assert grader.wait() == 2
    assert peak < 200 << 20, f"the grader used {peak >> 20} MiB"
    log = json.loads(out.read_text())["build"]["log"]
    assert len(log) < building.LOG_CAP + 1024
    assert "bytes of output left out" in log


# ---- workers (finding 7) ------------------------------------------------------------------

def test_workers_die_with_a_killed_batch(tmp_path):
    """Finding 7: kill -9 of `grade` on a batch: its workers and everything they started are
    gone within a second."""
    handin = tmp_path / "handin"
    for name in ("a", "b"):
        d = handin / name
        d.mkdir(parents=True)
        shutil.copy(HANDINS / "hang.c", d / "mytalk.c")
        (d / "Makefile").write_text("mytalk: mytalk.c\n\tgcc -o mytalk mytalk.c\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    batch = subprocess.Popen([sys.executable, "-m", "grader", "asgn5", str(handin), "-j", "2",
                              "--out", str(tmp_path / "out")], cwd=ROOT, env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + scaled(60)
        while len(descendants_named(batch.pid, "mytalk")) < 2:   # both students' programs run
            assert time.monotonic() < deadline, "the batch never started its programs"
            time.sleep(0.05)
        family = psutil.Process(batch.pid).children(recursive=True)
        batch.kill()
        batch.wait()
        killed_at = time.monotonic()
        psutil.wait_procs(family, timeout=scaled(5))
        survivors = running_among(family)
        assert not survivors, [shown(p) for p in survivors]
        assert time.monotonic() - killed_at < scaled(1.5)
    finally:
        if batch.poll() is None:
            batch.kill()
            batch.wait()


# ---- the TA's files carry no raw student text (finding 8) -----------------------------------

def test_batch_files_carry_no_raw_student_text(tmp_path):
    """Finding 8: a build log with ESC, OSC 52 and clear-screen bytes, and handin names that
    start like spreadsheet formulas: summary.csv has no control character and no cell a
    spreadsheet would read as a formula; the progress output has no fake line."""
    handin = tmp_path / "handin"
    evil = "\x1b]52;c;cm0gLXJmIH4K\x07\x1b[2J\x1b[1;1H=HYPERLINK(\"http://x\")"
    names = ["=HYPERLINK(\"evil\")", "+1+2", "@SUM(A1)", "-3"]
    for name in names:
        d = handin / name
        d.mkdir(parents=True)
        (d / "Makefile").write_text(          # the reason column quotes the first error
            f"server:\n\tprintf '%s\\n' 'server.c:1:1: error: {evil}' >&2; false\n")
    out = tmp_path / "out"
    done = run_grade("minichat-server", str(handin), "--out", str(out), "-j", "2")
    assert done.returncode in (0, 1), done.stdout + done.stderr
    raw = (out / "summary.csv").read_bytes()
    assert raw.count(b"build-failed") == len(names)
    assert b"HYPERLINK(\"\"http" in raw and b"error:" in raw         # the text is there, escaped
    assert b"\x1b" not in raw and b"\x07" not in raw
    import csv
    import io
    for row in csv.reader(io.StringIO(raw.decode("utf-8"))):
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), row
    assert "\x1b" not in done.stdout and "\x1b" not in done.stderr


# ---- handin files (finding 9) -------------------------------------------------------------

@as_root
def test_a_handin_link_to_a_root_only_file_is_refused(tmp_path):
    """Finding 9: a handin's `mytalk` that is a symlink to a root-only file is refused with a
    clear message and never copied anywhere a program could read it."""
    secret = tmp_path / "secret"
    secret.write_text("#!/bin/sh\necho root-only secret\n")
    secret.chmod(0o700)
    handin = tmp_path / "handin"
    (handin / "mallory").mkdir(parents=True)
    (handin / "mallory" / "mytalk").symlink_to(secret)
    (handin / "alice").mkdir()
    shutil.copy(MYTALK, handin / "alice" / "mytalk.c")
    shutil.copy(HANDINS / "beside" / "Makefile", handin / "alice" / "Makefile")
    out = tmp_path / "out"
    done = run_grade("asgn5", str(handin), "--out", str(out), "-k", "usage_no_args")
    assert done.returncode in (0, 1), done.stdout + done.stderr
    summary = (out / "summary.csv").read_text()
    (row,) = [line for line in summary.splitlines() if line.startswith("mallory")]
    assert "symbolic link" in row
    for f in out.rglob("*"):
        if f.is_file():
            assert b"root-only secret" not in f.read_bytes(), f


@pytest.mark.parametrize("kind", ["link-out", "fifo"])
def test_handin_links_out_and_special_files_are_refused(kind, tmp_path):
    """Finding 9, sources: a link out of the handin or a fifo is refused (the build fails with
    a message naming the file), and the grading does not hang on the fifo."""
    handin = tmp_path / "h"
    handin.mkdir()
    (handin / "Makefile").write_text("server:\n\ttrue\n")
    if kind == "link-out":
        (handin / "notes.txt").symlink_to("/etc/passwd")
    else:
        os.mkfifo(handin / "notes.txt")
    (handin / "inside").symlink_to("Makefile")          # a link within the handin is fine
    done = run_grade("minichat-server", str(handin), timeout=60)
    assert done.returncode == 2
    assert "notes.txt" in done.stderr
    assert ("symbolic link" if kind == "link-out" else "a fifo") in done.stderr


@as_root
def test_a_hard_link_to_a_file_the_student_cannot_read_is_refused(tmp_path):
    """Finding 9, hard links: a handin (owned by a student) holding a hard link to a root-only
    file is refused; the file never reaches the student's program."""
    secret = tmp_path / "secret"
    secret.write_text("root-only secret\n")
    secret.chmod(0o600)
    handin = tmp_path / "h"
    handin.mkdir()
    (handin / "Makefile").write_text("server:\n\ttrue\n")
    os.link(secret, handin / "notes.txt")
    os.chown(handin, 4321, 4321)
    os.chown(handin / "Makefile", 4321, 4321)
    done = run_grade("minichat-server", str(handin), timeout=60)
    assert done.returncode == 2
    assert "notes.txt belongs to another user" in done.stderr


# ---- building like the course machine (issue 10) ----------------------------------------------

def _course_handin(tmp_path: Path, name: str) -> Path:
    handin = tmp_path / name
    handin.mkdir()
    shutil.copy(HANDINS / name / "Makefile", handin / "Makefile")
    text = MYTALK.read_text()
    if name == "include_include":
        text = text.replace('#include "talk.h"', '#include "include/talk.h"')
    if name == "talk_dir":
        text = text.replace('#include "talk.h"', '#include "Talk/talk.h"')
    (handin / "mytalk.c").write_text(text)
    return handin


@pytest.mark.slow
@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("name", ["all_only", "include_include", "tilde_prereq", "beside",
                                  "talk_dir"])
def test_course_style_handins_build(who, name, tmp_path):
    """Makefiles that build on the course machine build here: only `all:` (make's built-in
    rule for `make mytalk` fails, plain make works), #include "include/talk.h" with
    -I ~pn-cs357/Given/Talk/include, prerequisites under ~pn-cs357, libtalk.a beside,
    #include "Talk/talk.h" with -I ~pn-cs357/Given/Talk (issue 17.5)."""
    handin = _course_handin(tmp_path, name)
    out = tmp_path / "r.json"
    done = grade_as(who, "asgn5", str(handin), "-k", "usage_no_args or client_sends_username",
                    "--json", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    warnings = json.loads(out.read_text())["build"]["warnings"]
    if name == "beside":     # a leniency: the course machine has no libtalk.a beside it
        assert len(warnings) == 1 and "libtalk.a beside it" in warnings[0], warnings
        assert "build warning: the Makefile expects libtalk.a" in done.stdout
    else:
        assert warnings == []


@pytest.mark.parametrize("name", ["include_typo", "empty_var"])
def test_handins_that_would_not_build_on_the_course_machine_do_not_build(name, tmp_path):
    """Issue 17.5: no include or library path the course machine lacks, so a typo in -I fails
    here as there; the failure says why: where the course keeps the library or (17.14) the
    Makefile's empty variable, not the course path."""
    handin = _course_handin(tmp_path, name)
    out = tmp_path / "r.json"
    done = run_grade("asgn5", str(handin), "-k", "usage_no_args", "--json", str(out))
    assert done.returncode == 2, done.stdout + done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith("grade: build failed: make failed: ") and "talk.h" in first, first
    if name == "include_typo":
        assert "found only with -I ~pn-cs357/Given/Talk/include" in first, first
    else:
        assert ('the Makefile sets TALKDIR to nothing (line 2: "TALKDIR =") and uses it in '
                '"-I $(TALKDIR)/"') in first, first
        assert "~pn-cs357" not in first
    assert json.loads(out.read_text())["build"]["status"] == "failed"


@pytest.mark.slow
def test_course_library_layout_is_copied_without_looping(tmp_path):
    """--talk-lib with the course layout (include/include -> include, lib -> lib64) builds."""
    lib = tmp_path / "Talk"
    shutil.copytree(talklib.ensure(), lib, symlinks=True)
    assert (lib / "include" / "include").is_symlink()
    handin = _course_handin(tmp_path, "include_include")
    done = run_grade("asgn5", str(handin), "--talk-lib", str(lib), "-k", "usage_no_args")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_failed_build_names_the_handins_first_error(tmp_path):
    handin = tmp_path / "h"
    handin.mkdir()
    shutil.copy(HANDINS / "broken.c", handin / "server.c")
    (handin / "Makefile").write_text("server: server.c\n\tgcc -Wall -o server server.c\n")
    done = run_grade("minichat-server", str(handin))
    assert done.returncode == 2
    first = done.stderr.splitlines()[0]
    assert first.startswith("grade: build failed: make failed: ") and "error:" in first
    assert "undeclared_port" in first


def _policy(tmp_path: Path) -> Policy:
    return Policy(Settings(build_retry_pause=0.0))


def test_eagain_forking_make_is_retried_then_blamed_on_the_machine(tmp_path, monkeypatch):
    """Forking make fails with EAGAIN: tried again; if it persists, a problem of the grading
    machine (exit 2 in `grade`, an error of the grader in a batch), never "fix your build"."""
    handin = tmp_path / "h"
    handin.mkdir()
    (handin / "Makefile").write_text("server:\n\ttrue\n")
    tries = []

    def no_processes(*args, **kwargs):
        tries.append(1)
        raise OSError(errno.EAGAIN, os.strerror(errno.EAGAIN))
    monkeypatch.setattr(building, "_make", no_processes)
    assignment = load_assignment("minichat-server")
    with pytest.raises(building.BuildEnvironmentFailed) as caught:
        building.build(handin, tmp_path / "build", assignment, _policy(tmp_path))
    assert len(tries) == DEFAULTS.build_retries + 1
    assert "not a problem of the handin" in str(caught.value)
    assert "fix" not in str(caught.value)

    outcomes = iter([OSError(errno.EAGAIN, "x"), (0, "made\n")])

    def once_then_fine(*args, **kwargs):
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
    monkeypatch.setattr(building, "_make", once_then_fine)
    (handin / "server").write_text("#!/bin/sh\n")
    (handin / "server").chmod(0o755)
    made, program = building.build(handin, tmp_path / "build2", assignment, _policy(tmp_path))
    assert made.status == "ok" and program.name == "server"


def test_only_the_launchers_own_eagain_is_retried(tmp_path, monkeypatch):
    """Issue 16, point 6: make's output saying "Resource temporarily unavailable" is the
    handin's text (its own processes, in its own cgroup): a failed build, not retried. The
    launcher reporting EAGAIN on its own channel is the machine's: tried again."""
    outputs = iter([(2, "make: vfork: Resource temporarily unavailable\n"), (0, "ok\n")])
    monkeypatch.setattr(building, "_make", lambda *a, **k: next(outputs))
    handin = tmp_path / "h"
    handin.mkdir()
    (handin / "Makefile").write_text("server:\n\ttrue\n")
    (handin / "server").write_text("#!/bin/sh\n")
    (handin / "server").chmod(0o755)
    assignment = load_assignment("minichat-server")
    with pytest.raises(building.BuildFailed) as caught:
        building.build(handin, tmp_path / "b", assignment, _policy(tmp_path))
    assert "Resource temporarily unavailable" in str(caught.value)

    outcomes = iter([building._LauncherFailed(errno.EAGAIN, "user: Resource temporarily "
                                              "unavailable"), (0, "ok\n")])

    def launcher_once_then_fine(*args, **kwargs):
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
    monkeypatch.setattr(building, "_make", launcher_once_then_fine)
    made, _ = building.build(handin, tmp_path / "b2", assignment, _policy(tmp_path))
    assert made.status == "ok"


def test_capped_buffer_keeps_head_and_tail():
    capped = building._Capped(cap=10)
    for chunk in (b"abcdefgh", b"ijklmnop", b"qrstuvwxyz"):
        capped.add(chunk)
    text = capped.text()
    assert text.startswith("abcde") and text.endswith("vwxyz")
    assert "16 bytes of output left out" in text
