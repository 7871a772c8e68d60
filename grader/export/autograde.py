"""The autograder's entrypoint inside a platform's container (Gradescope, PrairieLearn).

    python -m grader.export.autograde gradescope|prairielearn ASSIGNMENT \
        --submission DIR --results FILE [--budget SECONDS]

Grades the handin in DIR and always writes FILE in the platform's format, whatever happens:
the results; score 0 with the compiler's output when the handin does not build (PrairieLearn:
`gradable: false`, so the attempt is not used up); a plain message when the grader itself
failed. The terminal report goes to stdout, for the platform's log. Exit status 0 whenever
FILE was written, so the platform reads it.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import Optional, Sequence

from .. import assignments, build, settings as settings_mod, targets
from ..report import gradescope, prairielearn, terminal
from ..results import Build, Run

RENDER = {"gradescope": gradescope.render, "prairielearn": prairielearn.render}
NOT_RUN = "not run: the handin could not be built"


def _target(submission: Path, assignment: assignments.Assignment) -> targets.Target:
    """The handin in the submission folder: a Makefile there or one folder down, or the
    compiled program itself; BadInput (reported as a failed build) otherwise."""
    if not submission.is_dir():
        raise targets.BadInput(f"no submission folder at {submission}")
    program = submission / assignment.program
    if targets.makefile_in(submission) is None and program.is_file():
        return targets.resolve(str(program), assignment, batch=False)
    return targets.resolve(str(submission), assignment, batch=False)


def grade_submission(assignment: assignments.Assignment, submission: Path,
                     budget: Optional[float]) -> Run:
    from ..runner import grade, planned_checks
    try:
        target = _target(submission, assignment)
        return grade(assignment, target, settings_mod.load(), budget=budget)
    except build.BuildFailed as e:
        run = Run(assignment.id, str(submission), build=e.build)
    except targets.BadInput as e:
        message = f"{e.args[0] if e.args else e}\n"
        run = Run(assignment.id, str(submission), build=Build("failed", message))
    run.checks = planned_checks(assignment, None, NOT_RUN)
    return run


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m grader.export.autograde")
    p.add_argument("platform", choices=sorted(RENDER))
    p.add_argument("assignment")
    p.add_argument("--submission", type=Path, required=True)
    p.add_argument("--results", type=Path, required=True)
    p.add_argument("--budget", type=float, default=None)
    args = p.parse_args(argv)
    render = RENDER[args.platform]
    try:
        assignment = assignments.find(args.assignment)
        run = grade_submission(assignment, args.submission, args.budget)
    except KeyboardInterrupt:
        run = Run(args.assignment, str(args.submission),
                  error="the grading was stopped (the platform's time limit?)")
    except Exception:   # noqa: BLE001 - the platform must get a results file, whatever happened
        run = Run(args.assignment, str(args.submission), error=traceback.format_exc())
    args.results.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.results.with_name(f".{args.results.name}.{os.getpid()}.tmp")
    tmp.write_bytes(render(run))
    os.replace(tmp, args.results)
    sys.stdout.buffer.write(terminal.render(run, color=False, verbose=False))
    if run.error:
        sys.stdout.write("grader error:\n" + run.error + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
