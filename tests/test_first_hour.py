"""A student's first hour with `grade` (issue 19, the student items): the talk library where
they build, a reference peer wherever `grade` works, localhost in the programs' view, one line
for a failed build, and plain words for a C file or a script the view cannot run.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from support import run_grade
from test_cli import one_line_error

# Written the way a student in a hurry writes it: one rule, and a typo in main.
BROKEN_MAIN = "#include <stdio.h>\nint main(int argc, char *argv[]) {\n  printf(\"hi\\n\")\n}\n"
MAKEFILE_ALL = "all:\n\tgcc -o mytalk mytalk.c -ltalk -lncurses\n"


def _broken_handin(where: Path) -> Path:
    where.mkdir(parents=True)
    (where / "mytalk.c").write_text(BROKEN_MAIN)
    (where / "Makefile").write_text(MAKEFILE_ALL)
    return where


# ---- a failed build is one line, in every report a student reads

def test_failed_build_is_one_line_in_the_terminal_report_and_one_gradescope_test(tmp_path):
    from grader.report import terminal
    from grader.results import Run
    handin = _broken_handin(tmp_path / "handin")
    gs, js = tmp_path / "gs.json", tmp_path / "r.json"
    done = run_grade("asgn5", str(handin), "--gradescope", str(gs), "--json", str(js))
    assert done.returncode == 2, done.stderr
    run = Run.from_dict(json.loads(js.read_text()))
    assert len(run.checks) > 1                    # the model keeps one entry per check
    text = terminal.render(run, color=False, student=True).decode()
    assert text.count("not run: the build failed") == 1, text
    assert f"({len(run.checks)} checks, " in text
    data = json.loads(gs.read_text())
    assert data["score"] == 0
    assert [t["name"] for t in data["tests"]] == ["Build"]
    build = data["tests"][0]
    assert build["status"] == "failed" and build["score"] == 0
    assert build["max_score"] == run.max_score > 0
    assert "not run: the build failed" in build["output"] and "mytalk.c" in build["output"]


def test_failed_build_is_one_line_in_a_batchs_feedback(tmp_path):
    _broken_handin(tmp_path / "class" / "carol")
    out = tmp_path / "results"
    done = run_grade("asgn5", str(tmp_path / "class"), "--batch", "--out", str(out))
    assert done.returncode == 0, done.stderr
    feedback = (out / "carol" / "feedback.txt").read_text()
    assert feedback.count("not run: the build failed") == 1, feedback
    assert "build: failed" in feedback
    results = json.loads((out / "carol" / "results.json").read_text())
    assert len(results["tests"]) == 1 and results["score"] == 0


# ---- a target that is not a program

def test_c_source_as_target_says_to_give_the_directory(tmp_path):
    (tmp_path / "main.c").write_text(BROKEN_MAIN)
    (tmp_path / "Makefile").write_text(MAKEFILE_ALL)
    done = run_grade("asgn5", "main.c", cwd=tmp_path)
    one_line_error(done, "this is C source", "the directory with the Makefile",
                   "or the compiled program", "grade asgn5 .")
    assert "chmod" not in done.stderr
    (tmp_path / "main.c").chmod(0o755)            # unzipped from a Windows machine
    one_line_error(run_grade("asgn5", str(tmp_path / "main.c")), "this is C source")


def _script(path: Path, interpreter: str) -> Path:
    path.write_text(f"#!{interpreter}\nimport sys\nprint('usage: mytalk', file=sys.stderr)\n"
                    "sys.exit(1)\n")
    path.chmod(0o755)
    return path


def test_a_script_whose_interpreter_is_under_tmp_is_explained(tmp_path):
    assert str(tmp_path).startswith("/tmp/")      # pytest's scratch: where a venv often is
    venv = tmp_path / "venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python3").symlink_to(os.path.realpath(sys.executable))
    script = _script(tmp_path / "mytalk", str(venv / "python3"))
    js = tmp_path / "r.json"
    done = run_grade("asgn5", str(script), "-k", "usage_no_args", "--json", str(js))
    assert done.returncode in (0, 1), done.stderr
    assert "under /tmp" in done.stderr and "fresh, empty /tmp" in done.stderr, done.stderr
    assert any("interpreter" in n and "/tmp" in n for n in json.loads(js.read_text())["notes"])
    missing = _script(tmp_path / "other", "/nonexistent/python3")
    assert "does not exist on this machine" in run_grade(
        "asgn5", str(missing), "-k", "usage_no_args").stderr


def test_a_script_with_a_system_interpreter_gets_no_such_note(tmp_path):
    script = _script(tmp_path / "mytalk", "/usr/bin/env python3")
    done = run_grade("asgn5", str(script), "-k", "usage_no_args")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "interpreter" not in done.stderr
