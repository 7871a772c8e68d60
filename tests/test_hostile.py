"""Hostile handins against what issue 16 (points 2, 5 and 6) promises, each in the settings it
applies to: root, an ordinary user (`unshare --user`, see test_containment) and a process that
cannot unshare or mount (tests/nonamespace.py, as under Docker's default seccomp profile). The
weakest setting, an ordinary user without namespaces ("user-nonamespace"), is where programs run
as the grader's own user and can change its files: there the grader must not run or import
anything they changed, and must say that its results are not tamper-proof.
"""
from __future__ import annotations

import csv
import ctypes
import io
import json
import os
import platform
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import pytest

import nonamespace
from grader.containment import contain
from grader.settings import Settings
from hostile_reports import GONE_WITHIN, still_running
from support import ROOT, copy_of_the_grader, scaled
from test_containment import NON_ROOT_UID, USERS, _can_pose_as_user, as_root

pytestmark = pytest.mark.slow          # every test here runs whole gradings
no_filter = pytest.mark.skipif(not nonamespace.supported(), reason="no seccomp filter here")
no_userns = pytest.mark.skipif(not _can_pose_as_user(), reason="no user namespaces here")
SETTINGS = USERS + [pytest.param("nonamespace", marks=no_filter)]
WEAKEST = pytest.param("user-nonamespace", marks=[no_filter, no_userns])
DEFAULTS = Settings()
_SYS_KEYCTL, _SYS_ADD_KEY = {"x86_64": (250, 248), "aarch64": (219, 217)}.get(
    platform.machine(), (None, None))
GRADER_KEY = b"socket-grader-test-secret"          # tests/fixtures/hostile/escape.c looks for it


def grader_argv(setting: str, *args: str, python: Optional[list[str]] = None) -> list[str]:
    """`python -m grader ARGS` as root, as an ordinary user, without namespaces, or both."""
    argv = (python or [sys.executable, "-m", "grader"]) + list(args)
    if setting in ("nonamespace", "user-nonamespace"):
        argv = nonamespace.argv(*argv)
    if setting in ("user", "user-nonamespace"):
        argv = ["unshare", "--user", f"--map-user={NON_ROOT_UID}",
                f"--map-group={NON_ROOT_UID}"] + argv
    return argv


def grader_env(setting: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    env.update(extra)
    if setting != "root":
        env["GRADER_NO_CGROUP"] = "1"
    return env


def grade(setting: str, *args: str, cwd: Path = ROOT, env: Optional[dict] = None,
          preexec: Optional[Callable[[], None]] = None,
          python: Optional[list[str]] = None) -> subprocess.CompletedProcess:
    return subprocess.run(grader_argv(setting, *args, python=python), cwd=cwd,
                          env=env or grader_env(setting), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300, preexec_fn=preexec)


def _open_to_all(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        p.chmod(0o777 if p.is_dir() else 0o755)


def _usage_points(result: dict) -> float:
    return sum(c["max_points"] for c in result["checks"] if c["id"].startswith("usage"))


# ---- point 2: what the grader runs is what it installed ---------------------------------------

@pytest.mark.parametrize("kind", ["one", "batch"])
def test_no_module_is_read_after_the_first_untrusted_process_starts(kind, tmp_path):
    """Every module a grading uses (its reports, pytest's plugins, the case modules and their
    conftests, the reference) is imported before make runs, in a batch before the first worker
    starts: one read from disk later is one a program could have changed
    (tests/import_audit.py records them)."""
    batch = tmp_path / "batch"
    for name in ("alice", "bob"):
        (batch / name).mkdir(parents=True)
        (batch / name / "Makefile").write_text(
            "mytalk:\n\tprintf '#!/bin/sh\\nexit 1\\n' > mytalk; chmod 755 mytalk\n")
    _open_to_all(tmp_path)
    record = tmp_path / "late.txt"
    audit = [sys.executable, str(ROOT / "tests" / "import_audit.py"), str(record)]
    if kind == "one":
        outputs = [a for fmt in ("json", "junit", "gradescope", "prairielearn")
                   for a in (f"--{fmt}", str(tmp_path / f"r.{fmt}"))]
        done = grade("root", "asgn5", str(batch / "alice"), *outputs, python=audit)
        assert done.returncode == 1, done.stdout + done.stderr     # graded: checks failed
        assert (tmp_path / "r.junit").exists()
    else:
        done = grade("root", "asgn5", str(batch), "--out", str(tmp_path / "out"), "-j", "2",
                     "--formats", "junit,prairielearn", python=audit)
        assert done.returncode == 0, done.stdout + done.stderr
        assert (tmp_path / "out" / "summary.csv").exists()
    late = record.read_text().splitlines() if record.exists() else []
    assert late == [], "read after the first untrusted process started: " + ", ".join(late)


def _tree_of_our_own(tmp_path: Path) -> Path:
    """A copy of the grader owned by the grading user, as a student's own install is."""
    return copy_of_the_grader(tmp_path)


TAMPER = """mytalk:
\t-@printf '\\n_real = render\\ndef render(run):\\n    for c in run.checks:\\n\
        c.status, c.points = "passed", c.max_points\\n    return _real(run)\\n' \
>> {tree}/grader/frontend/report/json_report.py 2>/dev/null
\t-@printf '\\nimport pytest\\n@pytest.hookimpl(hookwrapper=True)\\n\
def pytest_runtest_makereport(item, call):\\n    outcome = yield\\n\
    outcome.get_result().outcome = "passed"\\n' >> {tree}/cases/asgn5/conftest.py 2>/dev/null
\t-@for l in {cache}/socket-grader/launcher-*/launcher; do [ -f $$l ] && \
printf '#!/bin/sh\\necho swapped >> {marker}\\nexit 1\\n' > $$l && \
sha256sum $$l | cut -d" " -f1 > $$(dirname $$l)/launcher.sha256; done 2>/dev/null
\t@printf '#!/bin/sh\\nexit 1\\n' > mytalk; chmod 755 mytalk
"""


@pytest.mark.parametrize("setting", ["root", pytest.param("user", marks=no_userns),
                                     pytest.param("nonamespace", marks=no_filter), WEAKEST])
def test_a_handin_that_rewrites_the_grader_changes_no_result(setting, tmp_path):
    """The handin's make rewrites the grader's JSON report module and the assignment's conftest
    (both would turn every failure into a pass) and swaps the cached launcher and its recorded
    digest. Where it can reach them (an ordinary user without a view, whose own files they
    are), the grading still reports what the program did, no swapped launcher runs, and the
    notes say the results are not tamper-proof."""
    tree = _tree_of_our_own(tmp_path)
    cache, marker = tmp_path / "cache", tmp_path / "swapped"
    cache.mkdir()
    handin = tmp_path / "handin"
    handin.mkdir()
    (handin / "Makefile").write_text(TAMPER.format(tree=tree, cache=cache, marker=marker))
    _open_to_all(tmp_path)
    out = tmp_path / "r.json"
    env = grader_env(setting, PYTHONPATH=str(tree), XDG_CACHE_HOME=str(cache))
    done = grade(setting, "asgn5", str(handin), "--json", str(out), cwd=tree, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["score"] <= _usage_points(result), done.stdout
    assert not marker.exists(), "a swapped launcher ran"
    report = tree / "grader" / "frontend" / "report" / "json_report.py"
    tampered = "_real = render" in report.read_text()
    assert tampered == (setting == "user-nonamespace")     # only there it could
    if tampered:
        assert any(contain.NOT_TAMPER_PROOF in n for n in result["notes"]), result["notes"]


@pytest.mark.parametrize("setting", ["root", pytest.param("user", marks=no_userns), WEAKEST])
def test_a_batch_without_a_view_says_its_results_are_not_tamper_proof(setting, tmp_path):
    """summary.csv and report.html begin with the warning where a non-root batch ran its
    programs without a private view, and only there."""
    batch = tmp_path / "batch"
    (batch / "alice").mkdir(parents=True)
    (batch / "alice" / "Makefile").write_text("mytalk:\n\t@echo no; exit 1\n")
    out = tmp_path / "out"
    _open_to_all(tmp_path)
    done = grade(setting, "asgn5", str(batch), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    first = (out / "summary.csv").read_text().splitlines()[0]
    warned = setting == "user-nonamespace"
    assert (contain.NOT_TAMPER_PROOF in first) == warned, first
    assert (contain.NOT_TAMPER_PROOF in (out / "report.html").read_text()) == warned
    assert (contain.NOT_TAMPER_PROOF in done.stdout) == warned
    rows = list(csv.reader(io.StringIO((out / "summary.csv").read_text())))
    assert rows[int(warned)][:2] == ["student", "status"]


# ---- escape.c: the ways out of the bounds -----------------------------------------------------

def _with_grader_key() -> None:
    """In the grader's process: a session keyring of its own holding a secret key."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall(ctypes.c_long(_SYS_KEYCTL), ctypes.c_long(1), None)   # JOIN_SESSION_KEYRING
    libc.syscall(ctypes.c_long(_SYS_ADD_KEY), b"user", GRADER_KEY, b"secret", ctypes.c_size_t(6),
                 ctypes.c_long(-3))                                         # KEY_SPEC_SESSION


@pytest.mark.skipif(_SYS_KEYCTL is None, reason="no keyctl numbers for this machine")
@pytest.mark.parametrize("setting", SETTINGS)
def test_no_nested_user_namespace_memfd_or_grader_key(setting, hostile, report, tmp_path):
    """escape.c tries a nested user namespace (unshare and clone), a memfd, and the grader's
    session key before it serves: all refused, in every setting (the launcher's filter does
    not depend on namespaces)."""
    done = grade(setting, "minichat-server", str(hostile("escape")), "-k", "listens",
                 "--json", str(tmp_path / "r.json"), preexec=_with_grader_key)
    assert done.returncode == 0, done.stdout + done.stderr
    assert report.values("unshare_user") == ["Operation not permitted"], report.lines()
    assert report.values("clone_user") == ["Operation not permitted"]
    assert report.values("memfd") == ["Function not implemented"]
    assert report.values("grader_key") == ["none"]


# ---- the watchdog outlives what kills the grader's process group --------------------------------

@pytest.mark.parametrize("how", ["timeout -s KILL", "SIGQUIT"])
@pytest.mark.parametrize("setting", SETTINGS)
def test_killing_the_graders_process_group_leaves_nothing(setting, how, hostile, report,
                                                          tmp_path):
    """`timeout -s KILL` kills its whole process group, and Ctrl-\\ sends SIGQUIT to the
    terminal's: the watchdog lives in a session of its own, so the program and its detached
    helper are still gone within 2 s, and the run's scratch directory with them."""
    program = hostile("stubborn")
    argv = grader_argv(setting, "minichat-server", str(program), "-k", "bye_ends_server")
    if how.startswith("timeout"):
        argv = ["timeout", "-s", "KILL", "3600"] + argv
    grader = subprocess.Popen(argv, cwd=ROOT, env=grader_env(setting), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        report.wait_for("pid", "helper", "cwd")
        victims = report.pids("pid", "helper")
        os.killpg(grader.pid, signal.SIGKILL if how.startswith("timeout") else signal.SIGQUIT)
        assert still_running(victims, GONE_WITHIN) == [], f"survived {how}"
        grader.wait(timeout=scaled(10))
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()
    cwd = Path(report.values("cwd")[0])
    if setting == "root":          # elsewhere the program's paths are its view's
        deadline = time.monotonic() + GONE_WITHIN
        while cwd.parent.exists():
            assert time.monotonic() < deadline, f"left behind: {cwd.parent}"
            time.sleep(0.01)


# ---- point 6 and 5: the copy of a handin, private directories, links -----------------------------

@pytest.mark.parametrize("setting", SETTINGS)
def test_a_sparse_gigabyte_in_a_handin_is_refused_before_it_is_copied(setting, tmp_path):
    """A 1 GiB sparse file (a few KB on disk) must not become 1 GiB of copy: the handin is
    refused with the limits in plain words (exit 2, the student's to fix), quickly."""
    handin = tmp_path / "handin"
    handin.mkdir()
    (handin / "Makefile").write_text("mytalk:\n\tcc -o mytalk mytalk.c\n")
    with open(handin / "core", "wb") as f:
        f.truncate(1 << 30)
    _open_to_all(tmp_path)
    began = time.monotonic()
    done = grade(setting, "asgn5", str(handin))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "a handin may hold files of up to" in done.stderr, done.stderr
    assert "core" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - began < scaled(60)


@pytest.mark.parametrize("setting", SETTINGS)
def test_scratch_and_out_are_not_readable_by_other_users(setting, hostile, report, tmp_path):
    """A case's working directory is its program's alone (0700), the run directory above it
    can be passed but not listed (0711), and a batch's --out is the grader's alone (0700), so
    another user reads no student's results in it."""
    program = hostile("modes")
    done = grade(setting, "minichat-server", str(program), "-k", "listens")
    assert done.returncode == 1, done.stdout + done.stderr
    assert report.values("workdir") == ["700"], report.lines()
    assert report.values("rundir") in (["711"], ["555"]), report.lines()  # 555: the view's root
    batch = tmp_path / "batch"
    (batch / "alice").mkdir(parents=True)
    (batch / "alice" / "Makefile").write_text("mytalk:\n\t@exit 1\n")
    _open_to_all(batch)
    out = tmp_path / "out"
    done = grade(setting, "asgn5", str(batch), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) & 0o077 == 0, oct(os.stat(out).st_mode)
    if os.geteuid() == 0:          # another local user cannot list a student's results
        assert _as_uid(NON_ROOT_UID + 1, lambda libc: _can_list(out / "alice")) == 0


@as_root
def test_a_root_only_program_behind_a_students_link_is_refused(tmp_path):
    """The program to grade is the student's symbolic link to a file only root may read (a
    solution in a TA's private directory): it is opened as the link's owner would open it,
    so it is refused, and nothing of it is copied or graded."""
    secret = tmp_path / "private"
    secret.mkdir(mode=0o700)
    solution = secret / "mytalk"
    shutil.copy("/bin/true", solution)
    solution.chmod(0o700)
    student = tmp_path / "student"
    student.mkdir()
    link = student / "mytalk"
    link.symlink_to(solution)
    os.lchown(link, NON_ROOT_UID, NON_ROOT_UID)
    os.chown(student, NON_ROOT_UID, NON_ROOT_UID)
    tmp_path.chmod(0o755)
    out = tmp_path / "r.json"
    done = grade("root", "asgn5", str(link), "--json", str(out))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "mytalk" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists() or json.loads(out.read_text())["score"] == 0


# ---- uid leases: nothing of an earlier holder is left ---------------------------------------

def _as_uid(uid: int, action: Callable[[ctypes.CDLL], int]) -> int:
    """action(libc)'s result, run in a child process as uid."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            value = action(ctypes.CDLL(None, use_errno=True))
            os.write(w, str(value).encode())
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    with os.fdopen(r) as f:
        return int(f.read() or "-99")


def _can_list(path: Path) -> int:
    try:
        os.listdir(path)
        return 1
    except PermissionError:
        return 0


def _add_user_key(libc: ctypes.CDLL) -> int:
    return libc.syscall(ctypes.c_long(_SYS_ADD_KEY), b"user", b"left-by-earlier-lease", b"x",
                        ctypes.c_size_t(1), ctypes.c_long(-4))          # KEY_SPEC_USER_KEYRING


def _find_user_key(libc: ctypes.CDLL) -> int:
    return libc.syscall(ctypes.c_long(_SYS_KEYCTL), ctypes.c_long(10), ctypes.c_long(-4),
                        b"user", b"left-by-earlier-lease", ctypes.c_long(0))   # KEYCTL_SEARCH


@as_root
@pytest.mark.skipif(_SYS_KEYCTL is None, reason="no keyctl numbers for this machine")
def test_a_leased_uid_starts_with_nothing_of_its_earlier_holder(tmp_path):
    """What an earlier holder of the uid left in /run/lock and the machine's /tmp (files and
    directories it owns) and in its user keyring is gone when the uid is leased again; a link
    it left is removed, not followed, and what others own stays."""
    uid = DEFAULTS.sandbox_uid_first + DEFAULTS.sandbox_uid_count - 1
    settings = Settings(sandbox_uid_first=uid, sandbox_uid_count=1)
    kept = tmp_path / "kept"
    kept.write_text("not the uid's")
    left = []
    for d in (Path("/run/lock"), Path("/tmp")):
        if not d.is_dir():
            continue
        f, sub, link = d / f"left-{uid}.pid", d / f"left-{uid}.d", d / f"left-{uid}.link"
        f.write_text("1")
        sub.mkdir()
        (sub / "inner").write_text("x")
        link.symlink_to(kept)
        for p in (f, sub, sub / "inner", link):
            os.lchown(p, uid, uid)
        left += [f, sub, link]
    assert _as_uid(uid, _add_user_key) > 0
    assert _as_uid(uid, _find_user_key) > 0
    lease, why = contain.lease_uid(settings, tmp_path / "uids")
    try:
        assert lease is not None and lease.uid == uid, why
        assert [str(p) for p in left if os.path.lexists(p)] == []
        assert kept.read_text() == "not the uid's"
        assert _as_uid(uid, _find_user_key) < 0, "the earlier holder's key is still there"
    finally:
        if lease is not None:
            lease.release()
        for p in left:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            elif os.path.lexists(p):
                p.unlink()


# ---- point 6: the build and the cases have a disk of their own ----------------------------------

FILL = """mytalk:
\t-@mkdir many && cd many && seq 1 {files} | xargs touch 2>/dev/null; true
\t@echo "files $$(ls many | wc -l)" >> '{report}'
\t-@i=0; while [ $$i -lt {chunks} ] && fallocate -l 15M big$$i 2>/dev/null; do i=$$((i+1)); done; \\
echo "chunks $$i" >> '{report}'
\t@exit 1
"""


@pytest.mark.parametrize("setting", SETTINGS)
def test_a_build_cannot_fill_the_disk_or_its_inodes(setting, report, tmp_path):
    """make creates more files than a grading's disk holds, then more 15 MiB files (each
    under the file-size limit) than its size: where a mount namespace can be had, the run
    directory is a tmpfs of run_disk_bytes and run_disk_inodes and both stop short."""
    files = DEFAULTS.run_disk_inodes + 5000
    chunks = DEFAULTS.run_disk_bytes // (15 << 20) + 4
    handin = tmp_path / "handin"
    handin.mkdir()
    (handin / "Makefile").write_text(FILL.format(files=files, chunks=chunks, report=report.path))
    _open_to_all(tmp_path)
    out = tmp_path / "r.json"
    done = grade(setting, "asgn5", str(handin), "--json", str(out))
    assert done.returncode == 2, done.stdout + done.stderr          # the build failed
    made, filled = int(report.values("files")[0]), int(report.values("chunks")[0])
    if setting == "nonamespace":          # no cap but the file size: the grading's notes say so
        assert made == files and filled == chunks
        return
    assert made < DEFAULTS.run_disk_inodes, made
    assert filled * (15 << 20) <= DEFAULTS.run_disk_bytes, filled


@pytest.mark.parametrize("setting", SETTINGS)
def test_the_notes_say_where_there_is_no_disk_cap(setting, tmp_path):
    program = tmp_path / "bin" / "server"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\nexit 1\n")
    _open_to_all(program.parent)
    out = tmp_path / "r.json"
    done = grade(setting, "minichat-server", str(program), "-k", "listens", "--json", str(out))
    assert done.returncode == 1, done.stdout + done.stderr
    noted = any(n.startswith("no disk cap") for n in json.loads(out.read_text())["notes"])
    assert noted == (setting == "nonamespace")


def test_a_cached_launcher_that_is_not_the_one_built_is_built_again(tmp_path):
    """A launcher in the cache whose bytes are not those recorded at its build (replaced, and
    its digest left as it was) is never executed: the next grader builds it again."""
    cache, marker = tmp_path / "cache", tmp_path / "planted-ran"
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_CACHE_HOME=str(cache))
    ask = [sys.executable, "-c",
           "from grader.containment import launcher; print(launcher.executable())"]
    first = subprocess.run(ask, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    (built,) = cache.glob("socket-grader/launcher-*/launcher")
    built.write_text(f"#!/bin/sh\ntouch {marker}\nexit 0\n")
    again = subprocess.run(ask, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert not marker.exists(), "the planted launcher ran"
    assert again.stdout.startswith("/proc/")            # a sealed copy of the rebuilt one
    assert built.read_bytes().startswith(b"\x7fELF")
