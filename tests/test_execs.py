"""See what a program starts (issue 16, point 4): every program a student's program or its
descendants execute is recorded, and what the manifest's `allow_exec` does not allow fails the
check with a message naming it.

The gradings run as root, as an ordinary user (`unshare --user`) and in a process that cannot
unshare or mount (tests/nonamespace.py); the fallback where the kernel gives no exec
notifications (GRADER_EXEC_SAMPLED) is graded too.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.harness import assignments, execs
from grader.containment import contain
from grader.settings import Settings
from support import ROOT, run_grade
from test_view import SETTINGS, grade_in

CHECKS = ("-k", "listens or announces")       # two short checks of minichat-server
CORRECT = ["lecture/minichat_server_poll.c"]


def graded(setting: str, program: Path, out: Path, *extra: str) -> dict:
    done = grade_in(setting, "minichat-server", str(program), *CHECKS, "--json", str(out),
                    *extra)
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr
    return json.loads(out.read_text())


def checks_of(result: dict) -> dict[str, dict]:
    return {c["id"]: c for c in result["checks"]}


@pytest.mark.slow
@pytest.mark.parametrize("setting", SETTINGS)
def test_a_program_that_runs_the_reference_fails_naming_what_it_ran(setting, hostile, report,
                                                                    tmp_path):
    """A server that execs /bin/sh -c "python3 -m reference.minichat ...", then python3
    itself, then python3 from a descriptor, and serves on its own only when all are refused:
    every check fails for the exec alone (the server's own output is there), the execs were
    refused (EPERM), and the TA's notes say what it tried."""
    result = graded(setting, hostile("exec_reference"), tmp_path / "r.json")
    checks = checks_of(result)
    assert set(checks) == {"listens", "announces_connections"}
    for check in checks.values():
        assert check["status"] == "failed", check
        first = check["message"].splitlines()[0]
        assert first.startswith("server tried to start /bin/sh; server tried to start /"), first
        assert "python3" in first and "no program but itself" in check["message"]
        assert "exec" in check["hint"]
    assert "New connection from:" in checks["announces_connections"]["transcript"]
    assert sorted(set(report.values("refused"))) == ["fexecve 1", "python3 1", "sh 1"]  # EPERM
    assert "server tried to start /bin/sh (refused: allow_exec = false)" in result["notes"]


@pytest.mark.parametrize("setting", SETTINGS)
def test_a_correct_server_passes_and_runs_nothing(setting, build_c, tmp_path):
    result = graded(setting, build_c(CORRECT), tmp_path / "r.json")
    assert [c["status"] for c in result["checks"]] == ["passed", "passed"], result["checks"]
    assert not [n for n in result["notes"] if "started" in n or "sampled" in n]


@pytest.mark.parametrize("setting", SETTINGS)
def test_doctor_says_execs_are_seen(setting):
    done = grade_in(setting, "doctor")
    assert done.returncode == 0, done.stderr
    (row,) = [line for line in done.stdout.splitlines() if "programs executed" in line]
    assert row.startswith("  ok  programs executed"), done.stdout


@pytest.mark.slow
def test_a_helper_the_shipped_manifest_does_not_allow_fails(hostile, tmp_path):
    """A server printing through cat: minichat-server allows nothing, so the check that needs
    cat fails naming it."""
    result = graded("root", hostile("exec_helper"), tmp_path / "r.json")
    check = checks_of(result)["announces_connections"]
    assert check["status"] == "failed"
    assert check["message"].startswith("server tried to start /"), check["message"]
    assert "/cat:" in check["message"].splitlines()[0]


def _course_copy(tmp_path: Path, allow_exec: str) -> Path:
    """The shipped cases, with minichat-server's allow_exec set as a course would set it."""
    cases = tmp_path / "cases"
    shutil.copytree(ROOT / "cases", cases, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = cases / "minichat-server" / "manifest.toml"
    text = manifest.read_text()
    assert "allow_exec = false\n" in text
    manifest.write_text(text.replace("allow_exec = false\n", f"allow_exec = {allow_exec}\n"))
    return cases / "minichat-server"


def _pytest(folder: Path, program: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", str(folder), "--student",
                           str(program), *CHECKS, "-p", "no:cacheprovider", "-q"],
                          cwd=folder.parent, env=dict(os.environ, PYTHONPATH=str(ROOT), **env),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("sampled", [False, True], ids=["seen", "sampled"])
def test_a_helper_the_manifest_allows_passes(sampled, hostile, tmp_path):
    """The same server under a manifest with allow_exec = ["cat"] passes, whether execs are
    seen or sampled."""
    folder = _course_copy(tmp_path, '["cat"]')
    env = {execs.SAMPLED: "1"} if sampled else {}
    done = _pytest(folder, hostile("exec_helper"), env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "2 passed" in done.stdout


@pytest.mark.slow
def test_sampled_execs_still_fail_a_long_running_helper(hostile, tmp_path):
    """Where execs cannot be seen one by one, sampling still finds cat (it runs as long as
    the server), fails the checks and says that execs were only sampled."""
    out = tmp_path / "r.json"
    done = run_grade("minichat-server", str(hostile("exec_helper")), *CHECKS, "--json",
                     str(out), env={execs.SAMPLED: "1"})
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr
    result = json.loads(out.read_text())
    check = checks_of(result)["announces_connections"]
    assert check["status"] == "failed"
    assert "/cat" in check["message"].splitlines()[0], check["message"]
    assert any(n.startswith("execs of student programs were sampled") for n in result["notes"])


def test_doctor_says_when_execs_are_only_sampled():
    done = subprocess.run([sys.executable, "-m", "grader", "doctor"], cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1",
                                   **{execs.SAMPLED: "1"}),
                          capture_output=True, text=True, timeout=120)
    (row,) = [line for line in done.stdout.splitlines() if "programs executed" in line]
    assert row.startswith("  NO  programs executed"), done.stdout


@pytest.mark.parametrize("value, expected", [
    ("true", True), ("false", False), ('["cat", "/usr/bin/sort"]', ("cat", "/usr/bin/sort"))])
def test_allow_exec_in_a_manifest(value, expected, tmp_path):
    (tmp_path / "manifest.toml").write_text(f'title = "t"\nprogram = "p"\nallow_exec = {value}\n')
    assert assignments.load(tmp_path).allow_exec == expected


@pytest.mark.parametrize("value", ["3", '"cat"', "[1]", '[""]'])
def test_a_wrong_allow_exec_names_the_file(value, tmp_path):
    (tmp_path / "manifest.toml").write_text(f'title = "t"\nprogram = "p"\nallow_exec = {value}\n')
    with pytest.raises(assignments.ManifestError, match="allow_exec"):
        assignments.load(tmp_path)


def test_every_shipped_assignment_allows_nothing():
    assert all(a.allow_exec is False for a in assignments.all_assignments())


def test_allow_exec_names_files_by_path_or_by_name_on_path():
    """A bare name is the file PATH finds, a path the file it names: files, compared by
    device and inode, not names (a link named cat to python3 is python3 when executed)."""
    cat = Path(shutil.which("cat", path=contain.SAFE_PATH) or "/bin/cat")
    by_name = execs.allowed_files(("cat",), contain.SAFE_PATH)
    assert (cat.stat().st_dev, cat.stat().st_ino) in by_name
    assert execs.allowed_files(("/usr/bin/sort",), contain.SAFE_PATH) == {
        (os.stat("/usr/bin/sort").st_dev, os.stat("/usr/bin/sort").st_ino)}
    assert execs.allowed_files(False, contain.SAFE_PATH) == set()


def test_the_notes_say_what_each_program_started_once():
    monitor = execs.Monitor(("cat",), contain.SAFE_PATH, Settings(), "/nonexistent")
    monitor.history += [execs.Exec("server", "/usr/bin/cat", True),
                        execs.Exec("server", "/bin/sh", False),
                        execs.Exec("server", "/bin/sh", False)]
    assert monitor.notes() == ["server started /usr/bin/cat (allowed: allow_exec = [cat])",
                               "server tried to start /bin/sh (refused: allow_exec = [cat])"]


def test_a_script_may_start_its_interpreter_through_env_but_nothing_else(tmp_path):
    """`#!/usr/bin/env python3`: env starting python3 is the script starting; the script
    then running /bin/sh is an exec like any other."""
    script = tmp_path / "mytalk"
    script.write_text("#!/usr/bin/env python3\nimport os\n"
                      "os.execv('/bin/sh', ['sh', '-c', 'echo usage: mytalk >&2; exit 1'])\n")
    script.chmod(0o755)
    out = tmp_path / "r.json"
    done = run_grade("asgn5", str(script), "-k", "usage_no_args", "--json", str(out))
    assert done.returncode == 1, done.stdout + done.stderr
    (check,) = json.loads(out.read_text())["checks"]
    assert check["message"].startswith("mytalk tried to start /bin/sh:"), check["message"]
    assert "python3" not in check["message"]
