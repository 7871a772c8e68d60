"""The `grade` command: bad input gives exit 2 and a clear message; options do what they say."""
import json
import xml.etree.ElementTree as ET

import pytest

from conftest import FIXTURES, ROOT, run_grade

SERVER_C = "lecture/minichat_server_poll.c"


@pytest.fixture
def good_server(build_c):
    return build_c([SERVER_C])


def one_line_error(done, *words):
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines and lines[0].startswith("grade: "), done.stderr
    for w in words:
        assert w in done.stderr, done.stderr


def test_unknown_assignment(good_server):
    one_line_error(run_grade("asgn99", str(good_server)), "unknown assignment", "grade list")


def test_missing_target():
    one_line_error(run_grade("minichat-server", "/nonexistent/server"), "no such file")


def test_no_target_given():
    one_line_error(run_grade("minichat-server"), "missing TARGET")


def test_not_executable(tmp_path):
    f = tmp_path / "server"
    f.write_text("not a program\n")
    one_line_error(run_grade("minichat-server", str(f)), "not executable", "chmod +x")


def test_directory_without_makefile(tmp_path):
    (tmp_path / "server.c").write_text("int main(void) { return 0; }\n")
    one_line_error(run_grade("minichat-server", str(tmp_path)), "without a Makefile")


def test_build_failure_shows_first_error(tmp_path):
    (tmp_path / "server.c").write_text("int main(void) { return missing_name; }\n")
    (tmp_path / "Makefile").write_text("server: server.c\n\tgcc -o server server.c\n")
    done = run_grade("minichat-server", str(tmp_path))
    one_line_error(done, "build failed", "missing_name")


def test_build_without_the_program(tmp_path):
    (tmp_path / "Makefile").write_text("all:\n\ttrue\n")
    one_line_error(run_grade("minichat-server", str(tmp_path)), "did not build `server`")


def test_bad_option_value(good_server):
    done = run_grade("minichat-server", str(good_server), "-j", "zero")
    assert done.returncode == 2 and "whole number" in done.stderr


def test_source_directory_is_built_and_graded(tmp_path, grade):
    src = tmp_path / "handin"
    src.mkdir()
    (src / "chat.c").write_text((FIXTURES / SERVER_C).read_text())
    (src / "makefile").write_text("server: chat.c\n\tgcc -o server chat.c\n")
    g = grade("minichat-server", str(src))
    assert g.code == 0, g.stdout + g.stderr
    assert g.result["build"]["status"] == "ok" and "gcc -o server chat.c" in g.result["build"]["log"]
    assert not (src / "server").exists(), "the build must happen in a scratch copy"


def test_exit_status_and_reports(tmp_path, build_c):
    buggy = build_c([SERVER_C], ("BUG_ECHO_TO_SENDER",))
    out = {k: tmp_path / f"{k}.out" for k in ("json", "junit", "gradescope", "prairielearn")}
    done = run_grade("minichat-server", str(buggy), *(f"--{k}={v}" for k, v in out.items()))
    assert done.returncode == 1
    assert "✗" in done.stdout and "skip the sender" in done.stdout
    result = json.loads(out["json"].read_text())
    assert {c["id"] for c in result["checks"] if c["status"] == "failed"} == {"no_echo"}
    assert result["score"] == result["max_score"] - 2
    suite = ET.parse(out["junit"]).getroot().find("testsuite")
    assert suite.get("failures") == "1"
    assert json.loads(out["gradescope"].read_text())["score"] == result["score"]
    assert json.loads(out["prairielearn"].read_text())["points"] == result["score"]


def test_keyword_selects_checks(grade, good_server):
    g = grade("minichat-server", str(good_server), "-k", "broadcast or echo")
    assert g.code == 0
    assert set(g.verdicts) == {"broadcast", "no_echo"}


def test_keyword_matching_nothing(good_server):
    one_line_error(run_grade("minichat-server", str(good_server), "-k", "nosuchcheck"),
                   "no check matches")


def test_list_names_every_assignment_and_check():
    done = run_grade("list")
    assert done.returncode == 0
    from grader import assignments
    for a in assignments.all_assignments():
        assert a.id in done.stdout
        for cid in a.points:
            assert cid in done.stdout, cid


def test_help_lists_assignments():
    done = run_grade("--help")
    assert done.returncode == 0
    for word in ("asgn5", "minichat-server", "udp-client", "--strict", "--json", "merge"):
        assert word in done.stdout


def test_cases_run_under_plain_pytest(build_c, tmp_path):
    """`pytest cases/ID --student PROG` works through the plugin's entry point."""
    import subprocess
    import sys
    good, buggy = build_c([SERVER_C]), build_c([SERVER_C], ("BUG_ECHO_TO_SENDER",))

    def pytest(program):
        return subprocess.run([sys.executable, "-m", "pytest", "cases/minichat-server",
                               "--student", str(program), "-q", "-p", "no:xdist",
                               "-p", "no:benchmark"],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
    ok, bad = pytest(good), pytest(buggy)
    assert ok.returncode == 0, ok.stdout[-2000:]
    assert bad.returncode == 1 and "1 failed, 10 passed" in bad.stdout
    assert "skip the sender in the broadcast loop" in bad.stdout
