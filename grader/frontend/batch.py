"""Batch grading: every handin directory of a class, `-j N` at a time, nothing lost.

    grade asgn5 handin/ [-j N] [--out DIR] [--resume] [--shard K/N] [--interop]
    grade merge DIR... --out DIR

This module is the run: each student is graded in a forked worker (grader/frontend/worker.py) that
writes the student's files into a staging directory inside --out; the batch process then
renames it to OUT/STUDENT, so a student's directory is either complete or absent, whatever
happens. Which students (handins.py), the results directory and `grade merge` (store.py), the
progress display (progress.py) and classmates against each other (interop.py) are their own
modules.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ..containment import contain, processes, sandbox
from . import store
from ..harness import targets
from ..harness.assignments import Assignment, CaseModuleError
from .handins import Handin, find_handins, handin_target, in_shard
from .progress import Progress, describe, score_line
from .report import renderer
from ..harness.results import (
    BUILD_FAILED,
    ERROR,
    GRADED,
    STUDENT_ERROR,
    Batch,
    Build,
    Check,
    Run,
    StudentResult,
)
from ..settings import Settings
from .store import STATUS_FILE, SUMMARIES, merge
from .worker import Job, Outcome, Pool, StopRequest

__all__ = ["main", "merge", "Options", "grade_handin"]

EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130
BUILD_FAILED_CHECKS = "not run: the build failed"


@dataclass(frozen=True)
class Options:
    """How each student is graded and which files are written for them."""
    strict: bool = False
    keyword: Optional[str] = None
    verbose: bool = False
    talk_lib: Optional[Path] = None
    formats: tuple[str, ...] = ()
    # Checks that would start after this many seconds are cut (recorded, not run). A batch
    # leaves it unset: a student over --budget is stopped by the worker and recorded as error.
    budget: Optional[float] = None


# -- grading one student (runs in a worker) ----------------------------------------------------

def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0].strip()


def planned_checks(assignment: Assignment, keyword: Optional[str]) -> list[Check]:
    """The checks a run would have, each not run: what a failed build scores, with titles.

    Runs pytest's collection, so it belongs in a worker (which ends after this student).
    """
    from ..harness.runner import planned_checks as planned
    return planned(assignment, keyword, BUILD_FAILED_CHECKS)


def grade_handin(handin: Handin, spec: str, assignment: Assignment, settings: Settings,
                 options: Options) -> tuple[StudentResult, str]:
    """Grade one handin: (its result, the error text for error.txt when the grader failed)."""
    from ..harness import build
    from ..harness.runner import grade

    target = handin_target(handin, spec, assignment)
    if target is None:
        reason = f"no Makefile (one that builds `{assignment.program}` is expected)"
        program = handin.path / assignment.program
        why = targets.not_runnable(program) if program.is_file() else None
        if why:
            reason = f"no Makefile, and `{assignment.program}` is not a program this machine " \
                     f"can run: {why}"
        run = Run(assignment.id, spec, planned_checks(assignment, options.keyword),
                  Build("failed", reason + "\n"), student=handin.name)
        return StudentResult(handin.name, BUILD_FAILED, reason, run), ""
    try:
        run = grade(assignment, target, settings, strict=options.strict, keyword=options.keyword,
                    transcripts=options.verbose, talk_lib=options.talk_lib,
                    budget=options.budget)
    except build.BuildFailed as e:
        reason = str(e)
        reason = reason[len("make failed: "):] if reason.startswith("make failed: ") else reason
        run = Run(assignment.id, spec, planned_checks(assignment, options.keyword), e.build,
                  student=handin.name)
        return StudentResult(handin.name, BUILD_FAILED, reason, run), ""
    run.student = handin.name
    broken = [c for c in run.checks if c.status == ERROR]
    if run.error:
        return (StudentResult(handin.name, STUDENT_ERROR,
                              "grader error: " + _first_line(run.error), run), run.error)
    if broken:
        reason = f"grader error in check {broken[0].id}: {_first_line(broken[0].message)}"
        text = "\n\n".join(f"check {c.id}:\n{c.message}" for c in broken)
        return StudentResult(handin.name, STUDENT_ERROR, reason, run), text
    return StudentResult(handin.name, GRADED, "", run), ""


def _write(directory: Path, result: StudentResult, options: Options, error_text: str) -> None:
    store.write_student(directory, result, error_text=error_text, formats=options.formats,
                        verbose=options.verbose)


def _grade_job(handin: Handin, spec: str, assignment: Assignment, settings: Settings,
               options: Options) -> Callable[[Path], None]:
    """The worker's side of one student: grade, then write every file into `staging`."""
    def run(staging: Path) -> None:
        try:
            result, error_text = grade_handin(handin, spec, assignment, settings, options)
        except CaseModuleError as e:      # the file and its error, not the traceback's last line
            error_text = str(e)
            result = error_result(handin.name, spec, assignment,
                                  "grader error: " + _first_line(error_text))
        except Exception:   # noqa: BLE001 - one student's grader failure must not stop the batch
            error_text = traceback.format_exc()
            result = error_result(handin.name, spec, assignment,
                                  "grader error: " + _first_line(error_text.splitlines()[-1]))
        _write(staging, result, options, error_text)
    return run


def error_result(name: str, spec: str, assignment: Assignment, reason: str) -> StudentResult:
    run = Run(assignment.id, spec, student=name, error=reason)
    return StudentResult(name, STUDENT_ERROR, reason, run)


def _failure_reason(outcome: Outcome) -> str:
    if outcome.timed_out:
        return f"did not finish within the per-student budget of {outcome.job.budget:g}s"
    if outcome.signal is not None:
        return f"the grader's worker was killed by {signal.Signals(outcome.signal).name}"
    return f"the grader's worker ended with exit status {outcome.code}"


# -- the batch ---------------------------------------------------------------------------------

def _options(args: argparse.Namespace, assignment: Assignment) -> Options:
    single = [flag for flag in ("json", "junit", "gradescope", "prairielearn")
              if getattr(args, flag, None)]
    if single:
        raise targets.BadInput(f"--{single[0]} is for one program; a batch writes every "
                               "student's files under --out (extra ones with --formats)")
    formats = tuple(f.strip() for f in (args.formats or "").split(",") if f.strip())
    unknown = [f for f in formats if f not in store.EXTRA_FORMATS]
    if unknown:
        raise targets.BadInput(f"--formats: unknown format {unknown[0]!r} "
                               f"(known: {', '.join(store.EXTRA_FORMATS)})")
    if args.interop and assignment.role != "both":
        raise targets.BadInput(f"--interop pairs clients with servers of one program; "
                               f"{assignment.id}'s program is only a {assignment.role}")
    if args.interop and assignment.interop is None:
        raise targets.BadInput(f"--interop: {assignment.manifest} has no [interop] table "
                               "saying how to start the program as server and as client")
    if args.interop and args.shard:
        raise targets.BadInput("--interop needs every student: merge the shards first, then "
                               "run `grade ASSIGNMENT HANDIN --out MERGED --resume --interop`")
    return Options(args.strict, args.keyword, args.verbose, args.talk_lib, formats)


def _warm_up(assignment: Assignment) -> None:
    """Import what every worker needs once, before forking, so no worker pays for it, and so
    that nothing a student's program changes on disk is imported later; load the launcher,
    which every worker then executes from the same sealed copy."""
    import rich.console  # noqa: F401
    from ..harness import build, runner  # noqa: F401
    from ..containment import launcher  # noqa: F401
    for name in ("json", "terminal", "gradescope", "junit", "prairielearn", "csv", "html"):
        renderer(name)
    try:                           # before any worker: one worker's programs run while the
        runner.preload(assignment)  # next worker starts
    except CaseModuleError:        # each student's result says so (_grade_job)
        pass
    launcher.executable()


def main(args: argparse.Namespace, assignment: Assignment, target: targets.Target,
         settings: Settings) -> int:
    """Grade a directory of handins; 0 when the batch completed, 130 when it was stopped."""
    out: Path = args.out
    assert target.path is not None
    if getattr(args, "resume", False) and not (args.formats or "").strip():
        args.formats = ",".join(store.saved_settings(out).get("formats", []))
    options = _options(args, assignment)
    budget = getattr(args, "budget", None)
    if budget is not None and budget <= 0:
        raise targets.BadInput(f"--budget: expected seconds above 0, got {budget:g}")
    if budget:
        settings = dataclasses.replace(settings, student_budget=budget)
    handins = find_handins(target.path, out)
    if args.shard:
        handins = [h for h in handins if in_shard(h.name, *args.shard)]
    store.private_dir(out)
    store.save_settings(out, assignment, options.formats)
    todo = [h for h in handins
            if not (args.resume and store.read_student(out / h.name) is not None)]
    started = time.monotonic()
    sandbox.become_subreaper()
    _warm_up(assignment)
    staging = store.staging_root(out)
    progress = Progress(len(todo), assignment.id, args.jobs)
    stop = StopRequest()
    try:
        with stop:
            completed = _grade_all(todo, out, staging, target.spec, assignment, settings,
                                   options, args.jobs, progress, stop)
            progress.close()
            interop = store.read_interop(out)
            if completed and args.interop:
                matrix = _interop(handins, out, assignment, settings, options,
                                  Pool(args.jobs, grace=grace(settings), stop=stop), staging)
                completed = matrix is not None
                if matrix is not None:
                    interop = matrix
                    store.forget_interop(out)
            batch = store.summarize(assignment, store.results_in(out, {h.name for h in handins}),
                                    interop, contain.probe()[0], os.geteuid())
            store.write_summaries(out, batch)
    finally:
        progress.close()
        shutil.rmtree(staging, ignore_errors=True)
        processes.kill_descendants()
    _report(batch, out, time.monotonic() - started, completed, len(handins))
    return EXIT_OK if completed else EXIT_INTERRUPTED


def _interop(handins: list[Handin], out: Path, assignment: Assignment, settings: Settings,
             options: Options, pool: Pool,
             staging: Path) -> Optional[dict[tuple[str, str], str]]:
    """Every built student's client against every built student's server; None when stopped."""
    from . import interop
    ready = []
    for h in handins:
        result = store.read_student(out / h.name)
        if result is not None and result.status != BUILD_FAILED:
            ready.append(h)
    return interop.run(ready, assignment, settings, pool, staging, talk_lib=options.talk_lib)


def _grade_all(todo: list[Handin], out: Path, staging: Path, batch_spec: str,
               assignment: Assignment, settings: Settings, options: Options, size: int,
               progress: Progress, stop: Optional[StopRequest] = None) -> bool:
    """Grade `todo` in workers; each student's directory is installed as soon as it is done."""
    by_key = {h.name: h for h in todo}

    def spec_of(h: Handin) -> str:
        return os.path.join(batch_spec, h.name)

    def finished(outcome: Outcome) -> None:
        handin = by_key[outcome.job.key]
        if not (outcome.ok and (outcome.job.staging / STATUS_FILE).is_file()):
            shutil.rmtree(outcome.job.staging, ignore_errors=True)
            reason = _failure_reason(outcome)
            _write(outcome.job.staging,
                   error_result(handin.name, spec_of(handin), assignment, reason), options,
                   f"{reason}\n\nthe worker's output:\n{outcome.log}")
        store.install(outcome.job.staging, out / handin.name)
        result = store.read_student(out / handin.name)
        assert result is not None and result.run is not None
        max_score = result.run.max_score if result.run.checks else assignment.max_score
        progress.line(describe(result, max_score, outcome.seconds),
                      important=result.status != GRADED)

    jobs = [Job(h.name, _grade_job(h, spec_of(h), assignment, settings, options),
                staging / f"student-{i}", settings.student_budget)
            for i, h in enumerate(todo)]
    pool = Pool(size, grace=grace(settings), stop=stop or StopRequest())

    def tick() -> None:
        running = getattr(pool, "_running", {})
        progress.grading([r.job.key for r in running.values()])
        progress.tick()
    return pool.run(jobs, finished, tick)


def grace(settings: Settings) -> float:
    """How long a stopped worker may take to clean up before it is killed outright."""
    return max(5.0, 2 * settings.exit_timeout + 1)


def _report(batch: Batch, out: Path, seconds: float, completed: bool, expected: int) -> None:
    counts = {s: sum(r.status == s for r in batch.students)
              for s in (GRADED, BUILD_FAILED, STUDENT_ERROR)}
    detail = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    for warning in batch.warnings:
        sys.stdout.write(f"note: {warning}\n")
    sys.stdout.write(f"{batch.assignment}: {len(batch.students)} of {expected} students have "
                     f"results ({detail or 'none'}) after {seconds:.1f}s\n")
    if batch.students:
        sys.stdout.write(score_line([r.score for r in batch.students], batch.max_score) + "\n")
    files = [str(out / n) for n in SUMMARIES if (out / n).exists()]
    sys.stdout.write("wrote " + ", ".join(files) + " and one directory per student\n")
    if not completed:
        sys.stdout.write("stopped before the end: run the same command with --resume to grade "
                         "the rest\n")
    sys.stdout.flush()
