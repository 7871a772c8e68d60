"""A course's own assignments outside the package (issue 19, instructors): `grade --cases DIR`
or GRADER_CASES reads them where they are, and a case module that cannot be imported is the
grader's own error (exit 3, the file and its traceback), never "interrupted"."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import run_grade

MANIFEST = """title = "Hello over UDP (our course)"
program = "server"
args = []
fixed_port = 10000
reference = ["-m", "reference.udp", "server"]

[points]
answers = 2
"""

# Written the way an instructor adds a check, following docs/writing-checks.md: what the
# checks share is a fixture in the folder's conftest.py (case modules are imported by path).
CONFTEST = '''import pytest

from reference.udp import CLIENT_MSG


@pytest.fixture
def hello(student, udp):
    """The server bound to its port, and a client that has sent it a datagram."""
    server = student.start(name="server")
    server.expect_listening(student.port, udp=True, hint="bind the UDP socket to port 10000")
    client = udp(0, "client")
    client.target = ("127.0.0.1", student.port)
    client.send(CLIENT_MSG)
    return server, client
'''

ANSWERS = '''"""Our course's UDP hello: one datagram in, "Hello, Client" back."""
from grader import check, wording
from reference.udp import CLIENT_MSG, SERVER_MSG


@check(hint="sendto() the reply to the address recvfrom() filled in")
def test_answers(hello):
    """Answers a datagram with "Hello, Client"."""
    _, client = hello
    wording.expect_exact(client, SERVER_MSG, sent=CLIENT_MSG)
'''

PRINTS = '''from grader import check, wording
from reference.udp import CLIENT_MSG


@check(hint="write() what recvfrom() returned to stdout")
def test_prints_it(hello):
    """Prints the datagram it received."""
    server, _ = hello
    server.expect_wording(wording.Wording(CLIENT_MSG.decode().strip()))
'''


@pytest.fixture
def course(tmp_path: Path) -> Path:
    folder = tmp_path / "course" / "hello-udp"
    folder.mkdir(parents=True)
    (folder / "manifest.toml").write_text(MANIFEST)
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_answers.py").write_text(ANSWERS)
    return folder.parent


@pytest.fixture
def silent(tmp_path: Path) -> Path:
    """A server that never binds its socket: it must fail every check."""
    program = tmp_path / "bin" / "server"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    return program


def _verdicts(out: Path) -> dict[str, str]:
    return {c["id"]: c["status"] for c in json.loads(out.read_text())["checks"]}


def test_a_new_check_in_a_course_directory_counts_without_reinstalling(course, silent, tmp_path):
    listed = run_grade("list", "--cases", str(course))
    assert listed.returncode == 0, listed.stderr
    assert "hello-udp" in listed.stdout and "asgn5" in listed.stdout   # ours are still there
    assert "prints_it" not in listed.stdout
    # The instructor adds a check: the very next command sees it.
    (course / "hello-udp" / "test_prints.py").write_text(PRINTS)
    manifest = course / "hello-udp" / "manifest.toml"
    manifest.write_text(manifest.read_text() + "prints_it = 1\n")
    listed = run_grade("list", "hello-udp", "--cases", str(course))
    assert listed.returncode == 0, listed.stderr
    assert "prints_it" in listed.stdout and "3 points" in listed.stdout
    out = tmp_path / "ref.json"
    done = run_grade("--cases", str(course), "hello-udp", "--reference", "--json", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert _verdicts(out) == {"answers": "passed", "prints_it": "passed"}
    out = tmp_path / "silent.json"
    done = run_grade("hello-udp", str(silent), "--json", str(out),
                     env={"GRADER_CASES": str(course)})
    assert done.returncode == 1, done.stdout + done.stderr
    assert _verdicts(out) == {"answers": "failed", "prints_it": "failed"}


def test_a_course_reference_may_sit_next_to_its_manifest(course, tmp_path):
    """`reference = ["-m", MODULE, ...]` finds a module in the assignment's own folder."""
    folder = course / "hello-udp"
    (folder / "our_server.py").write_text(
        "import sys\n\nfrom reference import udp\n\n"
        "if __name__ == \"__main__\":\n    sys.exit(udp.main(sys.argv[1:]))\n")
    manifest = folder / "manifest.toml"
    manifest.write_text(manifest.read_text().replace('"reference.udp"', '"our_server"'))
    out = tmp_path / "r.json"
    done = run_grade("--cases", str(course), "hello-udp", "--reference", "--json", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert _verdicts(out) == {"answers": "passed"}


def test_a_course_assignment_replaces_ours_of_the_same_id(course):
    (course / "hello-udp").rename(course / "udp-server")
    done = run_grade("list", "udp-server", env={"GRADER_CASES": str(course)})
    assert done.returncode == 0, done.stderr
    assert "our course" in done.stdout and "reports_sender" not in done.stdout


@pytest.mark.parametrize("where", ["nowhere", "empty"])
def test_a_cases_directory_without_assignments_is_bad_input(tmp_path, where):
    (tmp_path / "empty").mkdir()
    done = run_grade("list", "--cases", str(tmp_path / where))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("grade: error: cases directory") and where in done.stderr
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize("source, error", [
    ("from grader import check, expect_line_somehow\n",
     "ImportError: cannot import name 'expect_line_somehow'"),
    ("import grader\n\nGREETING = grader.vocabulary.wording.Wording(HELLO)\n",
     "NameError: name 'HELLO' is not defined"),
])
def test_a_case_module_that_cannot_be_imported_is_the_graders_error(course, tmp_path,
                                                                    source, error):
    broken = course / "hello-udp" / "test_broken.py"
    broken.write_text(source)
    out = tmp_path / "r.json"
    done = run_grade("--cases", str(course), "hello-udp", "--reference", "--json", str(out))
    assert done.returncode == 3, done.stdout + done.stderr
    assert "interrupted" not in done.stdout + done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith("grade: internal error: a check module cannot be imported")
    assert f"{broken}: {error}" in done.stderr
    assert source.strip().splitlines()[-1] in done.stderr       # its traceback shows the line
    assert str(broken) in json.loads(out.read_text())["error"]
    listed = run_grade("list", "--cases", str(course))
    assert listed.returncode == 3 and error in listed.stderr, listed.stderr


def test_a_batch_names_the_module_that_cannot_be_imported(course, silent, tmp_path):
    broken = course / "hello-udp" / "test_broken.py"
    broken.write_text("from grader import check, expect_line_somehow\n")
    handins = tmp_path / "handin"
    (handins / "ann").mkdir(parents=True)
    (handins / "ann" / "server").write_bytes(silent.read_bytes())
    (handins / "ann" / "server").chmod(0o755)
    out = tmp_path / "out"
    done = run_grade("--cases", str(course), "hello-udp", str(handins), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    status = json.loads((out / "ann" / "result.json").read_text())
    assert status["error"].startswith(f"grader error: {broken}: ImportError"), status["error"]
    assert "expect_line_somehow" in (out / "ann" / "error.txt").read_text()


def test_exporting_a_course_assignment_says_how_instead_of_a_broken_autograder(course, tmp_path):
    done = run_grade("export", "gradescope", "hello-udp", "--out", str(tmp_path / "a.zip"),
                     "--cases", str(course))
    assert done.returncode == 2, done.stderr
    assert "cases/" in done.stderr and not (tmp_path / "a.zip").exists()


def test_reproducing_a_course_check_names_the_cases_directory(course):
    """A course's assignment is known to `grade` only with its --cases DIR: the recipe says
    it, and `grade peer` runs the course's reference from beside its manifest."""
    folder = course / "hello-udp"
    (folder / "our_server.py").write_text(
        "import sys\n\nprint('our course reference', sys.argv[1:])\n")
    manifest = folder / "manifest.toml"
    manifest.write_text(manifest.read_text().replace('"reference.udp"', '"our_server"'))
    from grader.harness import assignments, reproduce
    from grader.harness.case import Step
    hello = assignments.load(folder)
    steps = [Step("server", "start", argv=("/tmp/g/build/server",)),
             Step("client", "peer"), Step("client", "type", "hello\n")]
    recipe = reproduce.describe(steps, hello)
    assert f"`grade --cases {course} peer hello-udp client`" in recipe, recipe
    done = run_grade("--cases", str(course), "peer", "hello-udp", "client", cwd=course.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "our course reference ['client']\n", done.stdout + done.stderr
