"""The `grade` command: bad input gives exit 2 and a clear message; options do what they say."""
import io
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from grader.harness import assignments
from grader.frontend.report.gradescope import md_text
from support import FIXTURES, ROOT, catalog, copy_of_the_grader, run_grade, scaled

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


def test_reports_are_written_without_a_makefile(tmp_path):
    """Issue 17.15: a platform reads the report files, so they say why there is no score."""
    handin = tmp_path / "handin"
    handin.mkdir()
    (handin / "server.c").write_text("int main(void) { return 0; }\n")
    out = tmp_path / "out"
    done = run_grade("minichat-server", str(handin), "--json", str(out / "r.json"),
                     "--junit", str(out / "r.xml"), "--gradescope", str(out / "g.json"))
    one_line_error(done, "without a Makefile")
    result = json.loads((out / "r.json").read_text())
    assert result["build"]["status"] == "failed"
    assert "without a Makefile" in result["build"]["log"]
    assert result["score"] == 0 and result["max_score"] > 0
    assert result["checks"] and all(c["status"] == "skipped" and c["points"] == 0
                                    for c in result["checks"])
    assert json.loads((out / "g.json").read_text())["score"] == 0
    ET.parse(out / "r.xml")


@pytest.mark.parametrize("batch", [[], ["--batch"]])
def test_a_parent_without_handins_is_refused_not_a_batch(tmp_path, batch):
    """Issue 19: a wrong parent directory (notes, or a class one level too high) is no batch
    of "build-failed" students: exit 2, what was expected, and no ./grade-results/."""
    notes = tmp_path / "notes"
    (notes / "week1").mkdir(parents=True)
    (notes / "week1" / "todo.txt").write_text("read chapter 5\n")
    classes = tmp_path / "classes"
    for section, students in (("section-1", ("alice", "bob")), ("section-2", ("carol", "dan"))):
        for student in students:
            (classes / section / student).mkdir(parents=True)
            (classes / section / student / "Makefile").write_text("all:\n\tgcc -o mytalk *.c\n")
    for parent in (notes, classes):
        done = run_grade("asgn5", parent.name, *batch, cwd=tmp_path)
        one_line_error(done, "a compiled program", "a source directory with a Makefile",
                       "a directory of handin directories")
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert not (tmp_path / "grade-results").exists()
    assert "section-1 (and 1 more like it) holds handin directories" in done.stderr


def test_a_checkout_with_one_stray_c_folder_is_no_batch(tmp_path):
    """Issue 19: `grade asgn5 .` in a checkout whose grader/ holds a .c file among eight
    other folders was a batch of nine "build-failed" students. A class is mostly handins,
    unless --batch says so (a class where most handed in nothing)."""
    checkout = tmp_path / "checkout"
    for name in ("docs", "tests", "bench", "examples"):
        (checkout / name).mkdir(parents=True)
        (checkout / name / "README.md").write_text("notes\n")
    (checkout / "grader").mkdir()
    (checkout / "grader" / "launcher.c").write_text("int main(void) { return 0; }\n")
    done = run_grade("asgn5", "checkout", cwd=tmp_path)
    one_line_error(done, "only 1 of its 5 subdirectories (grader) looks like one", "--batch")
    assert not (tmp_path / "grade-results").exists()
    out = tmp_path / "results"
    done = run_grade("asgn5", "checkout", "--batch", "--out", str(out), "-k", "usage_no_args",
                     cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 of 5 students have results" in done.stdout


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


@pytest.mark.slow
def test_source_directory_is_built_and_graded(tmp_path, grade):
    src = tmp_path / "handin"
    src.mkdir()
    (src / "chat.c").write_text((FIXTURES / SERVER_C).read_text())
    (src / "makefile").write_text("server: chat.c\n\tgcc -o server chat.c\n")
    g = grade("minichat-server", str(src))
    assert g.code == 0, g.stdout + g.stderr
    assert g.result["build"]["status"] == "ok"
    assert "gcc -o server chat.c" in g.result["build"]["log"]
    assert not (src / "server").exists(), "the build must happen in a scratch copy"
    assert g.result["build"]["warnings"] == []


def test_a_program_under_another_name_is_graded_with_a_build_warning(tmp_path, grade):
    """Issue 17.5: a leniency the course machine would not show is said."""
    src = tmp_path / "handin"
    src.mkdir()
    (src / "chat.c").write_text((FIXTURES / SERVER_C).read_text())
    (src / "Makefile").write_text("all:\n\tgcc -o chat chat.c\n")
    g = grade("minichat-server", str(src), "-k", "listens")
    assert g.code == 0, g.stdout + g.stderr
    assert g.result["build"]["warnings"] == [
        "make built chat, not server: graded that program; the assignment asks for a program "
        "named server"]
    assert "build warning: make built chat" in g.stdout


@pytest.mark.slow
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
    from grader.harness import assignments
    for a in assignments.all_assignments():
        assert a.id in done.stdout
        for cid in a.points:
            assert cid in done.stdout, cid


@pytest.mark.parametrize("columns, limit", [("", 100), ("72", 72)])
def test_list_fits_the_width_and_keeps_every_title(columns, limit):
    """Issue 19: 100 columns in a pipe (COLUMNS empty counts as unset), else COLUMNS; a long
    title goes on under itself, every word of it kept."""
    done = run_grade("list", env={"COLUMNS": columns})
    assert done.returncode == 0, done.stderr
    too_wide = [line for line in done.stdout.splitlines() if len(line) > limit]
    assert not too_wide, too_wide
    from grader.harness import assignments
    from grader.harness.runner import collect
    flat = " ".join(done.stdout.split())
    for checks in collect(assignments.all_assignments()).values():
        for c in checks:
            assert " ".join(c.title.split()) in flat, c.title


def test_help_lists_assignments():
    done = run_grade("--help")
    assert done.returncode == 0
    for word in ("asgn5", "minichat-server", "udp-client", "--strict", "--json", "merge"):
        assert word in done.stdout


@pytest.mark.slow
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


# ---- a CLI students and TAs like (issue 12) and no exit 3 for a user's input (issue 10)


def test_version():
    from grader.harness.results import version
    done = run_grade("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"grade (socket-grader) {version()}"


def test_list_one_assignment():
    done = run_grade("list", "MyTalk")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("asgn5") and "minichat" not in done.stdout
    assert "client_chat_both_ways" in done.stdout and "usage_no_args" in done.stdout


def test_did_you_mean_and_case_insensitive_ids(good_server):
    one_line_error(run_grade("asgn55", str(good_server)), "did you mean asgn5?")
    one_line_error(run_grade("minichat-srever", str(good_server)), "did you mean minichat-server?")
    done = run_grade("MiniChat-Server", str(good_server), "-k", "listens")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("content, words", [
    (b"just some text\n", "neither a compiled program nor a script"),
    (b"\xcf\xfa\xed\xfe" + b"\0" * 60, "macOS"),
    (None, "ARM64"),
])
def test_not_a_program_this_machine_can_run(tmp_path, content, words):
    if content is None:            # this machine's own ELF header, for another processor
        header = bytearray(open(sys.executable, "rb").read(64))
        header[18:20] = (183 if header[18:20] != (183).to_bytes(2, "little") else 62) \
            .to_bytes(2, "little")
        content, words = bytes(header), ("ARM64" if header[18] == 183 else "x86-64")
    program = tmp_path / "server"
    program.write_bytes(content)
    program.chmod(0o755)
    done = run_grade("minichat-server", str(program))
    one_line_error(done, "not a program this machine can run", words)
    assert done.stdout == ""                   # before any check


@pytest.mark.slow
def test_bad_keyword_expression_is_bad_input(good_server):
    for expression in ("(((", "a or", "not"):
        done = run_grade("minichat-server", str(good_server), "-k", expression)
        one_line_error(done, "-k", "not a valid expression")
        assert done.stdout == ""


@pytest.mark.parametrize("flag", ["--json", "--junit", "--gradescope", "--prairielearn"])
def test_report_path_that_cannot_be_written(good_server, tmp_path, flag):
    done = run_grade("minichat-server", str(good_server), flag, str(tmp_path))
    one_line_error(done, flag, "is a directory")
    assert done.stdout == ""
    done = run_grade("minichat-server", str(good_server), flag, "/proc/no/such/result.json")
    one_line_error(done, flag, "cannot write")
    (tmp_path / "file").write_text("x")
    done = run_grade("minichat-server", str(good_server), flag, str(tmp_path / "file" / "r.json"))
    one_line_error(done, flag, "cannot write")


def test_batch_out_that_cannot_be_written(tmp_path):
    handins = tmp_path / "handin"
    (handins / "a").mkdir(parents=True)
    (handins / "a" / "Makefile").write_text("server:\n\ttrue\n")
    (handins / "b").mkdir()
    (handins / "b" / "Makefile").write_text("server:\n\ttrue\n")
    (tmp_path / "results").write_text("a file")
    done = run_grade("minichat-server", str(handins), "--out", str(tmp_path / "results"))
    one_line_error(done, "--out", "is a file")
    done = run_grade("minichat-server", str(handins), "--out", "/proc/results")
    one_line_error(done, "--out", "cannot write")


@pytest.mark.parametrize("option, value", [("--timeout-scale", "0"), ("--timeout-scale", "-1"),
                                           ("--timeout-scale", "nan"), ("--budget", "0"),
                                           ("--budget", "-5")])
def test_non_positive_numbers_are_bad_input(good_server, option, value):
    done = run_grade("minichat-server", str(good_server), option, value)
    assert done.returncode == 2 and "above 0" in done.stderr, done.stderr


def test_check_without_points_names_manifest_and_id(tmp_path, good_server):
    """An instructor's first mistake: a new check, no points. Exit 2, not an internal error."""
    tree = copy_of_the_grader(tmp_path)
    manifest = tree / "cases" / "minichat-server" / "manifest.toml"
    manifest.write_text(manifest.read_text().replace("no_echo = 2\n", ""))
    env = dict(os.environ, PYTHONPATH=str(tree), NO_COLOR="1")
    for args in (["minichat-server", str(good_server)], ["list"]):
        done = subprocess.run([sys.executable, "-m", "grader", *args], cwd=tree, env=env,
                              capture_output=True, text=True, timeout=120)
        one_line_error(done, str(manifest), "'no_echo'", "no points")


def test_misspelt_manifest_key_names_manifest_and_key(tmp_path, good_server):
    """An instructor's second mistake: `fixed-port` for `fixed_port`. Exit 2 with a "did you
    mean", for the assignment graded and for `grade list`, not a key silently ignored."""
    tree = copy_of_the_grader(tmp_path)
    manifest = tree / "cases" / "udp-server" / "manifest.toml"
    manifest.write_text(manifest.read_text().replace("fixed_port =", "fixed-port ="))
    env = dict(os.environ, PYTHONPATH=str(tree), NO_COLOR="1")
    for args in (["udp-server", str(good_server)], ["list"], ["minichat-server", "--reference"]):
        done = subprocess.run([sys.executable, "-m", "grader", *args], cwd=tree, env=env,
                              capture_output=True, text=True, timeout=120)
        one_line_error(done, str(manifest), "'fixed-port'", "did you mean fixed_port?")


@pytest.mark.slow
def test_keyword_accepts_the_ids_the_report_prints(grade):
    g = grade("asgn5", "--reference", "-k", "client_chat_both_ways or usage_no_args")
    assert g.code == 0, g.stdout + g.stderr
    assert set(g.verdicts) == {"client_chat_both_ways", "usage_no_args"}
    g = grade("asgn5", "--reference", "-k", "SERVER_CHAT_both_ways")
    assert set(g.verdicts) == {"server_chat_both_ways"}


def test_budget_cuts_checks_and_says_which(grade, good_server):
    g = grade("minichat-server", str(good_server), "--budget", "0.001")
    assert g.code == 1, g.stderr
    cut = g.result["cut"]
    assert cut and set(cut) == {c["id"] for c in g.result["checks"] if c["status"] == "skipped"}
    assert all(c["max_points"] > 0 for c in g.result["checks"] if c["id"] in cut)
    assert "budget" in g.stdout and cut[0] in g.stdout


def test_catalog_is_the_manifest_s_points():
    """What tests derive their counts from (support.catalog, as `grade list` collects the
    checks) is every check of each manifest, in its order, with its points."""
    for a in assignments.all_assignments():
        planned = catalog(a.id)
        assert list(planned.ids) == list(a.points) and planned.points == a.max_score > 0


def test_reports_written_when_the_build_fails(tmp_path):
    (tmp_path / "server.c").write_text("int main(void) { return missing_name; }\n")
    (tmp_path / "Makefile").write_text("server: server.c\n\tgcc -o server server.c\n")
    out = {k: tmp_path / "out" / f"{k}.json"
           for k in ("json", "junit", "gradescope", "prairielearn")}
    done = run_grade("minichat-server", str(tmp_path), *(f"--{k}={v}" for k, v in out.items()))
    one_line_error(done, "build failed")
    result = json.loads(out["json"].read_text())
    assert result["build"]["status"] == "failed" and "missing_name" in result["build"]["log"]
    planned = catalog("minichat-server")
    assert result["score"] == 0 and result["max_score"] == planned.points
    assert [c["id"] for c in result["checks"]] == list(planned.ids)
    assert json.loads(out["gradescope"].read_text())["score"] == 0
    assert json.loads(out["prairielearn"].read_text())["gradable"] is False
    assert ET.parse(out["junit"]).getroot().find("testsuite/testcase/failure") is not None


def test_reports_written_when_the_grader_fails(tmp_path, good_server, monkeypatch, capsys):
    from grader.frontend import cli
    from grader.harness import runner

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the grader")
    monkeypatch.setattr(runner, "grade", broken)
    out = tmp_path / "r.json"
    pl = tmp_path / "pl.json"
    code = cli.main(["minichat-server", str(good_server), "--json", str(out),
                     "--prairielearn", str(pl)])
    assert code == 3 and "internal error" in capsys.readouterr().err
    assert "a bug in the grader" in json.loads(out.read_text())["error"]
    assert json.loads(pl.read_text())["gradable"] is False


def test_result_records_version_and_time(grade, good_server):
    from grader.harness.results import version
    g = grade("minichat-server", str(good_server), "-k", "listens")
    assert g.result["grader_version"] == version()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", g.result["graded_at"])


def test_color_follows_no_color_and_term(monkeypatch):
    from grader.frontend.cli import use_color

    class Tty:
        def isatty(self):
            return True
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert use_color(False, Tty())
    monkeypatch.setenv("NO_COLOR", "")              # empty: no-color.org says colour stays on
    assert use_color(False, Tty())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(False, Tty())
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert not use_color(False, Tty())
    monkeypatch.setenv("TERM", "xterm")
    assert not use_color(True, Tty()) and not use_color(False, io.StringIO())


@pytest.mark.slow
def test_lines_fit_the_terminal_width(build_c):
    buggy = build_c([SERVER_C], ("BUG_ECHO_TO_SENDER",))
    done = run_grade("minichat-server", str(buggy), env={"COLUMNS": "64"})
    assert done.returncode == 1
    assert max(len(line) for line in done.stdout.splitlines()) <= 64
    assert any(len(line) > 56 for line in done.stdout.splitlines())


@pytest.mark.slow
def test_single_grading_shows_checks_in_order_then_the_score(good_server):
    done = run_grade("minichat-server", str(good_server))
    lines = done.stdout.splitlines()
    assert lines[0].startswith("minichat-server") and "grading" in lines[0]
    marks = [i for i, line in enumerate(lines) if line.startswith("✓ ")]
    planned = catalog("minichat-server")
    assert len(marks) == len(planned) and marks[-1] < len(lines) - 1
    assert lines[-1].startswith(f"score {planned.points:g}/{planned.points:g}")
    assert "note:" not in done.stdout               # operator notes only with -v


@pytest.mark.slow
def test_dot_is_one_handin_and_a_makefile_one_folder_down_is_found(tmp_path):
    src = tmp_path / "handin"
    src.mkdir()
    (src / "chat.c").write_text((FIXTURES / SERVER_C).read_text())
    (src / "makefile").write_text("server: chat.c\n\tgcc -o server chat.c\n")
    (src / "tests").mkdir()
    (src / "tests" / "t.c").write_text("int main(void) { return 0; }\n")
    done = run_grade("minichat-server", ".", "-k", "listens", cwd=src)
    assert done.returncode == 0, done.stderr
    assert "students have results" not in done.stdout
    outer = tmp_path / "unzipped"
    shutil.copytree(src, outer / "my-handin")
    done = run_grade("minichat-server", str(outer), "-k", "listens")
    assert done.returncode == 0, done.stderr
    assert "note: the Makefile is in" in done.stderr and "my-handin" in done.stderr
    (src / "makefile").unlink()
    one_line_error(run_grade("minichat-server", ".", cwd=src), "without a Makefile")


def test_help_documents_interrupt_status():
    assert "130 interrupted" in run_grade("--help").stdout


def test_failed_check_says_how_to_reproduce(build_c):
    buggy = build_c([SERVER_C], ("BUG_ECHO_TO_SENDER",))
    done = run_grade("minichat-server", str(buggy), "-k", "no_echo")
    text = " ".join(done.stdout.split())
    assert "reproduce by hand: in one terminal `./server 4000`, in another " \
           "`grade peer minichat-server client 4000`" in text


def test_reproduce_never_offers_a_second_server():
    """A reference that runs only as the assignment's server (no role argument to swap) is
    not offered as the client: the advice asks for a client of the student's own."""
    import dataclasses

    from grader.harness import reproduce
    from grader.harness.case import Step
    steps = [Step("server", "start", argv=("/tmp/g/build/server", "41000")),
             Step("client", "peer"), Step("client", "type", "hello\n")]
    base = assignments.find("minichat-server")
    with_role = reproduce.describe(steps, base)
    assert "`grade peer minichat-server client 4000`" in with_role
    assert 'type "hello" in the reference' in with_role
    alone = dataclasses.replace(base, reference=("-m", "course.echo_server"))
    text = reproduce.describe(steps, alone)
    assert text == ("reproduce by hand: in one terminal `./server 4000`, in another a client "
                    'of your own; type "hello" in the client')
    assert "course.echo_server" not in text


def test_closed_stdout_is_not_a_grader_error(good_server):
    """`grade ... | head -1`: the pipe closes early; the grading still ends normally."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "grader", "minichat-server", str(good_server)],
                            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert b"internal error" not in err


def test_keyword_matching_nothing_says_did_you_mean_before_grading(good_server):
    done = run_grade("minichat-server", str(good_server), "-k", "no_ehco")
    one_line_error(done, "no check matches", "did you mean no_echo?")
    assert done.stdout == ""


@pytest.mark.slow
def test_budget_keeps_what_ran_and_cuts_the_rest(grade, tmp_path):
    """A program that hangs: checks run until the budget is used up, the rest are named."""
    handin = tmp_path / "hangs"
    handin.mkdir()
    shutil.copy(FIXTURES / "handins" / "hang.c", handin / "hang.c")
    (handin / "Makefile").write_text("mytalk: hang.c\n\tgcc -o mytalk hang.c\n")
    g = grade("asgn5", str(handin), "--budget", "4")
    assert g.code == 1, g.stderr
    ids = [c["id"] for c in g.result["checks"]]
    cut = g.result["cut"]
    ran = [cid for cid in ids if cid not in cut]
    assert ran and cut and ids == ran + cut            # the first checks ran, the rest were cut
    assert all(c["status"] == "skipped" and c["max_points"] > 0 and "budget" in c["message"]
               for c in g.result["checks"] if c["id"] in cut)
    planned = catalog("asgn5")
    assert g.result["max_score"] == planned.points and ids == list(planned.ids)


def test_the_plugin_options_are_grade_options_too():
    """`pytest cases/ID --student P --grader-strict` and `grade ID P --grader-strict` agree."""
    from grader.frontend import cli
    from grader.harness import keys
    parser = cli._grade_parser()
    for flags, _ in keys.OPTIONS:
        for flag in flags:
            if flag == "--student":
                continue           # grade takes the target as its second word
            if flag == "--talk-lib":
                args = parser.parse_args(["asgn5", "prog", flag, "lib"])
            else:
                args = parser.parse_args(["asgn5", "prog", flag])
            assert args is not None, flag
    assert parser.parse_args(["asgn5", "p", "--grader-strict"]).strict
    assert parser.parse_args(["asgn5", "p", "--all-transcripts"]).verbose


# ---- ^C or SIGTERM: the reports keep what finished (issue 19) ---------------------------------

# tests/fixtures/asgn5/stuck_after_usage.c answers "no arguments" with a usage message at once;
# given any, it never exits, so the checks after the first run until their deadlines
# (stretched by --timeout-scale): the signal always comes while one of them runs.
USAGE_CHECKS = ["usage_no_args", "usage_bad_option", "usage_bad_port"]


def _report_options(tmp_path):
    files = {"json": "r.json", "junit": "r.xml", "gradescope": "gs.json",
             "prairielearn": "pl.json"}
    paths = {flag: tmp_path / name for flag, name in files.items()}
    return paths, [arg for flag, path in paths.items() for arg in (f"--{flag}", str(path))]


def _interrupted_reports_agree(paths, done_ids):
    from grader.harness.results import NOT_RUN_INTERRUPTED
    result = json.loads(paths["json"].read_text())
    assert result["interrupted"] is True
    checks = {c["id"]: c for c in result["checks"]}
    assert list(checks) == USAGE_CHECKS
    for cid, c in checks.items():
        if cid in done_ids:
            assert c["status"] == "passed", c
        else:
            assert (c["status"], c["message"]) == ("skipped", NOT_RUN_INTERRUPTED), c
    left = len(USAGE_CHECKS) - len(done_ids)
    said = f"interrupted (^C or SIGTERM): {left} of {len(USAGE_CHECKS)} checks were not run"
    suite = ET.parse(paths["junit"]).getroot().find("testsuite")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["interrupted"] == "true" and suite.get("skipped") == str(left)
    assert md_text(said) in json.loads(paths["gradescope"].read_text())["output"]  # Markdown
    prairielearn = json.loads(paths["prairielearn"].read_text())
    assert prairielearn["gradable"] is False and said in prairielearn["output"]


def _signalled(argv: list[str], ready, sig: int) -> tuple[subprocess.Popen, str, str]:
    """Run argv (python -m ...) from the checkout, wait for ready(process) (an event: a line
    it printed, a report line), send sig; (the process, the rest of stdout, stderr)."""
    grading = subprocess.Popen([sys.executable, "-m", *argv], cwd=ROOT, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1"))
    try:
        ready(grading)
        grading.send_signal(sig)
        out, err = grading.communicate(timeout=120)
    finally:
        if grading.poll() is None:
            grading.kill()
            grading.wait()
    return grading, out, err


def _printed(prefixes: tuple[str, ...]):
    """ready(): the first line starting with one of prefixes (each check is printed as it
    finishes); that line is kept in printed.line."""
    def ready(grading: subprocess.Popen) -> None:
        for line in grading.stdout:
            if line.startswith(prefixes):
                ready.line = line
                return
        ready.line = ""
    return ready


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_an_interrupted_grading_writes_what_finished(tmp_path, sig, build_c):
    import signal
    program = build_c(["asgn5/stuck_after_usage.c"])
    paths, options = _report_options(tmp_path)
    first = _printed(("✓", "✗"))
    grading, out, err = _signalled(
        ["grader", "asgn5", str(program), "-k", " or ".join(USAGE_CHECKS),
         "--timeout-scale", "1000", *options], first, getattr(signal, sig))
    assert first.line.startswith("✓ No arguments"), first.line
    assert grading.returncode == 130, err
    assert err.strip().splitlines()[-1] == "grade: interrupted" and "Traceback" not in err
    assert "2 of 3 checks were not run" in out
    _interrupted_reports_agree(paths, {"usage_no_args"})


def test_an_interrupted_build_writes_every_check_not_run(tmp_path, report):
    """^C while make runs (the Makefile says when it started): no check finished, and every
    report lists them all as not run."""
    import signal
    handin = tmp_path / "handin"
    handin.mkdir()
    (handin / "mytalk.c").write_text("int main(void) { return 0; }\n")
    (handin / "Makefile").write_text(f"mytalk: mytalk.c\n\techo building >> {report.path}\n"
                                     "\tsleep 100000\n\tgcc -o mytalk mytalk.c\n")
    paths, options = _report_options(tmp_path)
    grading, out, err = _signalled(
        ["grader", "asgn5", str(handin), "-k", " or ".join(USAGE_CHECKS), *options],
        lambda _: report.wait_for("building", timeout=scaled(120)), signal.SIGINT)
    assert grading.returncode == 130, err
    _interrupted_reports_agree(paths, set())


@pytest.mark.slow
def test_a_platform_run_stopped_by_its_time_limit_keeps_what_finished(tmp_path, build_c):
    """The platform's SIGTERM at its time limit: the checks that finished keep their points in
    the results file, every other one is not run, and the run says it was interrupted."""
    import signal
    from grader.harness.results import NOT_RUN_INTERRUPTED
    submission = tmp_path / "submission"
    submission.mkdir()
    shutil.copy(build_c(["asgn5/stuck_after_usage.c"]), submission / "mytalk")   # handed in built
    results = tmp_path / "results.json"
    _signalled(["grader.frontend.export.autograde", "gradescope", "asgn5", "--submission",
                str(submission), "--results", str(results)],
               _printed(("✓",)), signal.SIGTERM)       # "No arguments", one of the first
    result = json.loads(results.read_text())
    tests = result["tests"]
    finished = [t for t in tests if md_text(NOT_RUN_INTERRUPTED) not in t.get("output", "")]
    assert finished and len(finished) < len(tests), [t["name"] for t in tests]
    assert any(t["status"] == "passed" and t["score"] > 0 for t in finished), finished
    assert all(t["score"] == 0 for t in tests if t not in finished)
    assert md_text("The grading was interrupted") in result["output"], result["output"]
