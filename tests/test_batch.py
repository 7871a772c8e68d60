"""Batch grading (`grade asgn5 handin/`): summaries, per-student files, resume, shards, interop.

One synthetic class of ten handins is graded once per module with `-j 2`; the other tests
compare their runs (interrupted and resumed, sharded and merged) with that one. A "hangs"
student ignores every signal and never exits: the per-student budget (--budget) must end it.
Deadlines are doubled (--timeout-scale 2) so a busy machine does not flip a verdict.
"""
from __future__ import annotations

import csv
import io
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import FIXTURES, ROOT, run_grade
from grader.harness import assignments
from grader.frontend import batch, interop, store, worker
from grader.frontend.handins import find_handins, in_shard
from grader.frontend.progress import Progress
from grader.frontend.report import csv_report
from grader.harness.results import Run
from grader.settings import Settings

EXAMPLES = ROOT / "examples" / "asgn5"
MYTALK = FIXTURES / "asgn5" / "mytalk.c"
HANDINS = FIXTURES / "handins"
BUDGET = "25"                 # seconds; a correct handin needs a few, the hanging one needs all
SCALE = "2"
QUOTED = "naïve \"quoted\" 'name'"
POINTS = assignments.find("asgn5").points
MAX = sum(POINTS.values())
ROW_TIMEOUT = 120             # seconds for the first results of an interrupted batch to appear

# student -> (status, checks it fails, a text its reason contains)
EXPECTED = {
    "buggy": ("graded", {"client_bye_is_ordinary"}, ""),
    "compile-error": ("build-failed", set(POINTS), "undeclared_port"),
    "correct": ("graded", set(), ""),
    "course-library": ("graded", set(), ""),
    "hangs": ("error", None, "budget"),
    "lowercase-makefile": ("graded", set(), ""),
    QUOTED: ("graded", set(), ""),
    "no-makefile": ("build-failed", set(POINTS), "no Makefile"),
    "spins after close": ("graded", {"server_idle_after_close"}, ""),
    "wrong-program": ("build-failed", set(POINTS), "did not build `mytalk`"),
}


def _makefile(defines: str = "") -> str:
    """A student's Makefile: the course's -I and -L, as the course machine needs them."""
    return (f"TALK = ~pn-cs357/Given/Talk\nmytalk: mytalk.c\n\tgcc -Wall -Wextra -std=gnu99 "
            f"{defines} -I $(TALK)/include -o mytalk mytalk.c -L $(TALK)/lib64 -ltalk "
            "-lncurses\n")


def _student(root: Path, name: str, files: dict[str, str], copies: dict[str, Path]) -> None:
    d = root / name
    d.mkdir(parents=True)
    for fname, text in files.items():
        (d / fname).write_text(text)
    for fname, source in copies.items():
        shutil.copy(source, d / fname)


def make_handin(root: Path) -> Path:
    """The synthetic class: one directory per student, plus things a batch must ignore.

    Bugs come from the fixture's planted ones whose verdicts do not depend on timing.
    """
    shutil.copytree(EXAMPLES / "good", root / "course-library")   # names the course's path
    mytalk = {"mytalk.c": MYTALK}
    _student(root, "correct", {"Makefile": _makefile()}, mytalk)
    _student(root, "lowercase-makefile", {"makefile": _makefile()}, mytalk)
    _student(root, QUOTED, {"Makefile": _makefile()}, mytalk)
    _student(root, "buggy", {"Makefile": _makefile("-DBUG_ENDS_ON_BYE_CLIENT")}, mytalk)
    _student(root, "spins after close", {"Makefile": _makefile("-DBUG_SPIN_AFTER_CLOSE_SERVER")},
             mytalk)
    _student(root, "compile-error", {"Makefile": "mytalk: broken.c\n\tgcc -o mytalk broken.c\n"},
             {"broken.c": HANDINS / "broken.c"})
    _student(root, "no-makefile", {}, mytalk)
    _student(root, "wrong-program", {"Makefile": "all:\n\t@echo nothing to build\n"},
             {"chat.c": MYTALK})
    _student(root, "hangs", {"Makefile": "mytalk: hang.c\n\tgcc -o mytalk hang.c\n"},
             {"hang.c": HANDINS / "hang.c"})
    _student(root, ".hidden", {"Makefile": _makefile()}, mytalk)
    (root / "README.txt").write_text("not a student\n")
    return root


def batch_args(handin: Path, out: Path, *extra: str) -> list[str]:
    return ["asgn5", str(handin), "--out", str(out), "--budget", BUDGET,
            "--timeout-scale", SCALE, *extra]


def rows(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((out / "summary.csv").read_text(encoding="utf-8"))))


@pytest.fixture(scope="module")
def handin(tmp_path_factory) -> Path:
    return make_handin(tmp_path_factory.mktemp("class") / "handin")


@pytest.fixture(scope="module")
def graded(handin, tmp_path_factory):
    """The reference run: the whole class, -j 2, extra formats; (completed process, out dir)."""
    out = tmp_path_factory.mktemp("results") / "grade-results"
    done = run_grade(*batch_args(handin, out, "-j", "2", "--formats", "junit,prairielearn"))
    return done, out


# -- the reference run -------------------------------------------------------------------------

@pytest.mark.slow
def test_batch_completes_with_a_line_per_student(graded):
    done, out = graded
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert len(lines) == len(EXPECTED), done.stderr
    for name in EXPECTED:
        assert sum(f"] {name}: " in line for line in lines) == 1, (name, done.stderr)
    assert "10 of 10 students have results" in done.stdout
    assert not list(out.glob(".staging*")), "scratch left in --out"


@pytest.mark.slow
def test_summary_has_every_row(graded):
    _, out = graded
    table = rows(out)
    assert list(table[0])[:5] == ["student", "status", "score", "max_score", "reason"]
    assert list(table[0])[5:] == list(POINTS)
    assert [r["student"] for r in table] == sorted(EXPECTED, key=lambda s: (s.casefold(), s))
    for row in table:
        status, fails, reason = EXPECTED[row["student"]]
        assert row["status"] == status, row
        assert row["max_score"] == f"{MAX:g}", row
        assert reason in row["reason"], row
        if status == "error":
            assert row["score"] == "0" and all(row[c] == "" for c in POINTS), row
            continue
        if status == "graded":
            assert row["reason"] == "", row
        assert row["score"] == f"{MAX - sum(POINTS[c] for c in fails):g}", row
        for cid, points in POINTS.items():
            assert row[cid] == ("0" if cid in fails else f"{points:g}"), (row["student"], cid)


@pytest.mark.slow
def test_student_directories(graded):
    _, out = graded
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(EXPECTED)
    for name, (status, _, _) in EXPECTED.items():
        d = out / name
        run = Run.from_dict(json.loads((d / "result.json").read_text(encoding="utf-8")))
        assert run.student == name and run.assignment == "asgn5"
        feedback = (d / "feedback.txt").read_text(encoding="utf-8")
        assert "\x1b" not in feedback and "asgn5" in feedback
        assert (d / "build.log").exists()
        assert (d / "junit.xml").read_bytes().startswith(b"<?xml")
        assert "points" in json.loads((d / "prairielearn" / "results.json").read_text())
        assert (d / "error.txt").exists() == (status == "error")
    assert "budget" in (out / "hangs" / "error.txt").read_text()
    assert "undeclared_port" in (out / "compile-error" / "build.log").read_text()


@pytest.mark.slow
def test_gradescope_files(graded):
    _, out = graded
    for name, (status, fails, _) in EXPECTED.items():
        result = json.loads((out / name / "results.json").read_text(encoding="utf-8"))
        assert result["output_format"] == "md" and result["visibility"] == "visible"
        assert isinstance(result["execution_time"], (int, float))
        tests = result["tests"]
        for t in tests:
            assert set(t) >= {"name", "score", "max_score", "status", "output"}
        if status == "error":
            assert result["score"] == 0 and tests == []
            assert "budget" in result["output"]
            continue
        if status == "build-failed":          # one test for the checks none of which ran
            (build,) = tests
            assert build["name"] == "Build" and build["status"] == "failed"
            assert build["max_score"] == MAX and build["score"] == result["score"] == 0
            continue
        assert len(tests) == len(POINTS)
        assert sum(t["max_score"] for t in tests) == MAX
        assert result["score"] == MAX - sum(POINTS[c] for c in fails)
        assert sum(t["status"] == "failed" for t in tests) == len(fails)


@pytest.mark.slow
def test_report_html_shows_every_student(graded):
    _, out = graded
    page = (out / "report.html").read_text(encoding="utf-8")
    import html
    for name in EXPECTED:
        assert html.escape(name, quote=True) in page, name
    assert page.count("<details id=\"s-") == len(EXPECTED)
    assert 'id="scores"' in page and "Failures per check" in page
    assert 'id="interop"' not in page


# -- interrupt and resume ------------------------------------------------------------------------

def _read_lines_until(proc: subprocess.Popen, count: int, timeout: float) -> list[str]:
    """Progress lines from the batch's stderr until `count` students have finished."""
    lines: list[str] = []
    buffer = b""
    deadline = time.monotonic() + timeout
    while len(lines) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(lines)} students finished: {lines}"
        ready, _, _ = select.select([proc.stderr], [], [], left)
        if not ready:
            continue
        chunk = os.read(proc.stderr.fileno(), 4096)
        assert chunk, f"the batch ended early: {lines}"
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        lines += [line.decode() for line in complete if line.startswith(b"[")]
    return lines


@pytest.mark.slow
def test_interrupt_then_resume_equals_one_run(graded, handin, tmp_path):
    _, reference = graded
    out = tmp_path / "results"
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "grader", *batch_args(handin, out, "-j", "2")],
                            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        _read_lines_until(proc, 3, ROW_TIMEOUT)
        os.killpg(proc.pid, signal.SIGINT)         # what ^C on a terminal does
        stdout, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130
    assert b"--resume" in stdout
    finished = {p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert 3 <= len(finished) < len(EXPECTED)
    assert not list(out.glob(".staging*"))
    partial = rows(out)
    assert {r["student"] for r in partial} == finished
    whole = {r["student"]: r for r in rows(reference)}
    for row in partial:
        assert row == whole[row["student"]]

    done = run_grade(*batch_args(handin, out, "-j", "2", "--resume"))
    assert done.returncode == 0, done.stderr
    graded_now = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert len(graded_now) == len(EXPECTED) - len(finished)
    assert (out / "summary.csv").read_bytes() == (reference / "summary.csv").read_bytes()


# -- shards and merge ----------------------------------------------------------------------------

@pytest.mark.slow
def test_shards_merged_equal_one_run(graded, handin, tmp_path):
    _, reference = graded
    shards = [tmp_path / f"shard-{k}" for k in (1, 2)]
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    procs = [subprocess.Popen([sys.executable, "-m", "grader",
                               *batch_args(handin, shard, "-j", "1", "--shard", f"{k}/2")],
                              cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for k, shard in zip((1, 2), shards)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    parts = [{r["student"] for r in rows(shard)} for shard in shards]
    assert parts[0] and parts[1] and not parts[0] & parts[1]
    assert parts[0] | parts[1] == set(EXPECTED)

    merged = tmp_path / "merged"
    done = run_grade("merge", str(shards[0]), str(shards[1]), "--out", str(merged))
    assert done.returncode == 0, done.stderr
    assert (merged / "summary.csv").read_bytes() == (reference / "summary.csv").read_bytes()
    for name in EXPECTED:
        assert json.loads((merged / name / "status.json").read_text()) == \
            json.loads((reference / name / "status.json").read_text())
    page = (merged / "report.html").read_text(encoding="utf-8")
    assert page.count("<details id=\"s-") == len(EXPECTED)


@pytest.mark.slow
def test_merge_takes_the_last_directory_given(graded, tmp_path):
    _, reference = graded
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(reference / "correct", old / "correct")
    shutil.copytree(reference / "buggy", new / "correct")      # a re-grade with another result
    shutil.copytree(reference / "buggy", new / "buggy")
    shutil.copytree(reference / "hangs", old / "hangs")
    done = run_grade("merge", str(old), str(new), "--out", str(tmp_path / "merged"))
    assert done.returncode == 0, done.stderr
    table = {r["student"]: r for r in rows(tmp_path / "merged")}
    assert set(table) == {"correct", "buggy", "hangs"}
    assert table["correct"]["score"] == table["buggy"]["score"] != f"{MAX:g}"


def test_shard_membership_is_stable_and_partitions():
    names = [f"student {i}" for i in range(200)] + [QUOTED, "ünïcödé", "a\udcffb"]
    for n in (1, 2, 3, 7):
        owners = [[k for k in range(1, n + 1) if in_shard(name, k, n)] for name in names]
        assert all(len(o) == 1 for o in owners)
    assert in_shard("correct", 1, 2) == in_shard("correct", 1, 2)
    assert sum(in_shard(name, 1, 2) for name in names) in range(70, 134)


# -- interoperability ------------------------------------------------------------------------------

@pytest.mark.slow
def test_interop_matrix(graded, handin, tmp_path):
    """Four built programs against each other, on results already graded (--resume).

    ok-mismatch's server says "okay": its own client declines that. Other clients take the
    "ok" and may show the extra "ay" as chat text, garbling the server's line or not,
    depending on when they print it; either outcome is accepted for those pairs. Its result
    is a copy of another student's, since only interop runs here.
    """
    _, reference = graded
    subset, out = tmp_path / "handin", tmp_path / "results"
    subset.mkdir()
    for name in ("correct", "course-library", "hangs", "compile-error"):
        (subset / name).symlink_to(handin / name)
        shutil.copytree(reference / name, out / name)
    _student(subset, "ok-mismatch", {"Makefile": _makefile("-DBUG_OK_MISMATCH")},
             {"mytalk.c": MYTALK})
    shutil.copytree(reference / "correct", out / "ok-mismatch")
    done = run_grade("asgn5", str(subset), "--out", str(out), "--resume", "--interop",
                     "-j", "2", "--budget", BUDGET)
    assert done.returncode == 0, done.stderr
    matrix = csv_report.read_interop((out / "interop.csv").read_bytes())
    built = ["correct", "course-library", "hangs", "ok-mismatch"]
    assert {c for c, _ in matrix} == {s for _, s in matrix} == set(built)
    for client in built:
        for server in built:
            outcome = matrix[(client, server)]
            if server == "hangs":
                want = "the server did not listen"
            elif client == "hangs" or (client, server) == ("ok-mismatch", "ok-mismatch"):
                want = "the client's line did not reach the server"
            elif server == "ok-mismatch" and outcome != "ok":
                want = "the server's line did not reach the client: "
            else:
                want = "ok"
            assert outcome.startswith(want), (client, server, outcome)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="interop"' in page
    assert [r["student"] for r in rows(out)] == sorted(built + ["compile-error"])



def test_interop_argv_comes_from_the_manifest(tmp_path):
    spec = assignments.find("asgn5").interop
    assert interop.argv(spec.server, 4000) == ["-N", "-a", "4000"]
    assert interop.argv(spec.client, 4000) == ["-N", "localhost", "4000"]
    assert interop.asks_pattern(spec).search("Mytalk request from x@y.  Accept (y/n)? ")
    assert spec.answer == "y"
    assert assignments.find("minichat-server").interop is None
    (tmp_path / "manifest.toml").write_text('title = "t"\nprogram = "p"\n'
                                            '[interop]\nserver = ["{port}"]\n')
    with pytest.raises(assignments.ManifestError, match="client"):
        assignments.load(tmp_path)


# -- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("extra, words", [
    (["--formats", "junit,pdf"], "unknown format"),
    (["--json", "x.json"], "--json is for one program"),
    (["--interop", "--shard", "1/2"], "merge the shards first"),
    (["--budget", "0"], "--budget"),
])
def test_bad_batch_options(tmp_path, extra, words):
    handin = tmp_path / "handin"
    (handin / "one").mkdir(parents=True)
    (handin / "one" / "Makefile").write_text("mytalk:\n\ttrue\n")
    done = run_grade("asgn5", str(handin), "--out", str(tmp_path / "out"), *extra)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr
    assert not (tmp_path / "out" / "one").exists()


def test_interop_needs_a_two_role_program(tmp_path):
    handin = tmp_path / "handin"
    (handin / "one").mkdir(parents=True)
    (handin / "one" / "Makefile").write_text("server:\n\ttrue\n")
    done = run_grade("minichat-server", str(handin), "--interop", "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "only a server" in done.stderr, done.stderr


def test_student_named_like_a_summary_is_refused(tmp_path):
    handin = tmp_path / "handin"
    for name in ("one", "summary.csv"):
        (handin / name).mkdir(parents=True)
        (handin / name / "Makefile").write_text("mytalk:\n\ttrue\n")
    done = run_grade("asgn5", str(handin), "--batch", "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "summary file" in done.stderr, done.stderr


def test_merge_of_nothing_is_bad_input(tmp_path):
    done = run_grade("merge", str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert done.returncode == 2, done.stderr


def test_handins_skip_hidden_and_the_results_directory(tmp_path):
    for name in ("b", "a", ".git", "grade-results"):
        (tmp_path / name).mkdir()
    (tmp_path / "notes.txt").write_text("x")
    found = find_handins(tmp_path, tmp_path / "grade-results")
    assert [h.name for h in found] == ["a", "b"]


# -- the worker pool, in-process ------------------------------------------------------------------

def _ignore_term_forever(staging: Path) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        signal.pause()


def _crash(staging: Path) -> None:
    raise RuntimeError("a bug in the grader")


def _write_ok(staging: Path) -> None:
    (staging / "done").write_text("yes")


def test_pool_budget_kills_and_reports(tmp_path):
    """A job over budget gets SIGTERM, then SIGKILL after the grace; others are unaffected."""
    outcomes: dict[str, worker.Outcome] = {}
    jobs = [worker.Job("stuck", _ignore_term_forever, tmp_path / "s1", budget=0.5),
            worker.Job("crash", _crash, tmp_path / "s2", budget=30),
            worker.Job("fine", _write_ok, tmp_path / "s3", budget=30)]
    pool = worker.Pool(2, grace=0.5)
    started = time.monotonic()
    assert pool.run(jobs, lambda o: outcomes.__setitem__(o.job.key, o))
    assert time.monotonic() - started < 10
    stuck, crash, fine = outcomes["stuck"], outcomes["crash"], outcomes["fine"]
    assert stuck.timed_out and stuck.signal == signal.SIGKILL and not stuck.ok
    assert crash.code == worker.EXIT_CRASHED and "a bug in the grader" in crash.log
    assert fine.ok and (tmp_path / "s3" / "done").read_text() == "yes"


def test_grader_error_is_recorded_with_traceback(tmp_path, monkeypatch):
    """An exception while grading one student becomes status error with error.txt."""
    handin = tmp_path / "handin"
    for name in ("first", "second"):
        (handin / name).mkdir(parents=True)

    def explode(h, *args, **kwargs):
        if h.name == "first":
            raise ValueError("the grader tripped")
        os._exit(3)                              # a worker that dies without a word
    monkeypatch.setattr(batch, "grade_handin", explode)
    out = tmp_path / "out"
    out.mkdir()
    staging = out / ".staging-test"
    staging.mkdir()
    progress = Progress(2, "test")
    todo = find_handins(handin)
    assert batch._grade_all(todo, out, staging, str(handin), assignments.find("asgn5"),
                            Settings(), batch.Options(), 2, progress)
    first, second = store.read_student(out / "first"), store.read_student(out / "second")
    assert first.status == second.status == "error"
    assert "the grader tripped" in first.reason
    assert "Traceback" in (out / "first" / "error.txt").read_text()
    assert "exit status 3" in second.reason
    assert "exit status 3" in (out / "second" / "error.txt").read_text()


# -- progress, resume and merge details (issue 12) ------------------------------------------------

def _small_class(root: Path) -> Path:
    server = (FIXTURES / "lecture" / "minichat_server_poll.c").read_text()
    for name in ("ann", "bo\nb [9] fake: graded"):
        d = root / name
        d.mkdir(parents=True)
        (d / "chat.c").write_text(server)
        (d / "Makefile").write_text("server: chat.c\n\tgcc -o server chat.c\n")
    return root


@pytest.mark.slow
def test_resume_remembers_formats_and_progress_ends_with_scores(tmp_path):
    handins = _small_class(tmp_path / "handin")
    out = tmp_path / "out"
    done = run_grade("minichat-server", str(handins), "--out", str(out), "-j", "2",
                     "--formats", "junit", "-k", "listens or no_echo")
    assert done.returncode == 0, done.stderr
    progress = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert len(progress) == 2                      # the newline in a name printed no line
    assert any("bo\\nb [9] fake" in line for line in progress)
    assert "mean 3, median 3 of 3; scores 0 |" in done.stdout
    shutil.rmtree(out / "ann")
    done = run_grade("minichat-server", str(handins), "--out", str(out), "--resume",
                     "-k", "listens or no_echo")
    assert done.returncode == 0, done.stderr
    assert (out / "ann" / "junit.xml").is_file()  # --formats junit, remembered


@pytest.mark.slow
def test_merge_warns_about_a_directory_without_results(tmp_path):
    handins = _small_class(tmp_path / "handin")
    out = tmp_path / "out"
    assert run_grade("minichat-server", str(handins), "--out", str(out),
                     "-k", "listens").returncode == 0
    empty = tmp_path / "empty-shard"
    empty.mkdir()
    done = run_grade("merge", str(out), str(empty), "--out", str(tmp_path / "merged"))
    assert done.returncode == 0, done.stderr
    assert "warning" in done.stderr and str(empty) in done.stderr
    assert "no student results" in done.stderr


def test_progress_eta_moves_and_names_who_is_graded(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    progress = Progress(4, "asgn5")
    assert progress.eta() == ""
    clock[0] += 10
    progress.count = 1
    assert progress.eta() == "ETA 30s"
    clock[0] += 5                                    # nobody finished: the estimate still moves
    assert progress.eta() == "ETA 45s"
    progress.grading(["ann", "bo\nb"])
    assert progress._description() == "asgn5 · ann, bo\\nb"
