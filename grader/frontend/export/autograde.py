"""The autograder's entrypoint inside a platform's container or job.

    python -I -m grader.frontend.export.autograde PLATFORM ASSIGNMENT --submission DIR
        [--results FILE] [--budget SECONDS] [--started EPOCH]
    python -I -m grader.frontend.export.autograde prepare

PLATFORM is gradescope, prairielearn, codegrade (a results file, rewritten atomically after
every check, so a platform that stops the job keeps what was graded), autolab (everything on
stdout, the autoresult last) or github-classroom (one base64 result per check, appended to
the file $GITHUB_OUTPUT names). Whatever happens the platform gets its results: the grading;
score 0 with the compiler's output when the handin does not build (PrairieLearn:
`gradable: false`, so the attempt is not used up); a plain message when the grader failed.
The human report goes to stdout, for the platform's log. Exit status 0 whenever the results
were written, so the platform reads them.

`--started` is when the platform's clock started (the entrypoint's first line records it): the
set-up before this module ran (installing the grader, unpacking) comes out of the budget.
`prepare` builds the launcher and the talk library into the build cache, for an image's
set-up step, so no submission pays for them.

The scripts run this with `python -I` from a directory of ours: neither the working directory,
the submission, PYTHONPATH nor the user's site-packages can put a module before ours.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Optional, Sequence

from ...harness import assignments, build, targets
from ... import settings as settings_mod
from ..report import autolab, classroom, gradescope, junit, prairielearn, terminal
from ...harness.results import SKIPPED, Build, Check, Run

RENDER: dict[str, Callable[[Run], bytes]] = {
    "gradescope": gradescope.render, "prairielearn": prairielearn.render,
    "codegrade": junit.render_units}
STDOUT_PLATFORMS = ("autolab", "github-classroom")
PLATFORMS = tuple(sorted(RENDER)) + STDOUT_PLATFORMS
NOT_RUN = "not run: the handin could not be built"
STOPPED = "not run: the grading was stopped before this check (the platform's time limit)"


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
                     budget: Optional[float],
                     on_check: Optional[Callable[[Check], None]] = None) -> Run:
    from ...harness.runner import grade, planned_checks
    try:
        target = _target(submission, assignment)
        return grade(assignment, target, settings_mod.load(), budget=budget, on_check=on_check)
    except build.BuildFailed as e:
        run = Run(assignment.id, str(submission), build=e.build)
    except targets.BadInput as e:
        message = f"{e.args[0] if e.args else e}\n"
        run = Run(assignment.id, str(submission), build=Build("failed", message))
    run.checks = planned_checks(assignment, None, NOT_RUN)
    return run


class Progress:
    """The results file as it stands: the checks done so far, every other one "not run".

    Written before the first check and after each one, atomically (a new file renamed over
    the old), so whenever the platform stops the job it finds a whole file with what was done.
    """

    def __init__(self, path: Path, render: Callable[[Run], bytes], assignment: str,
                 submission: str, planned: list[Check], started: float):
        self.path, self.render = path, render
        self.assignment, self.submission = assignment, submission
        self.planned, self.started = planned, started
        self.done: list[Check] = []

    def interim(self) -> Run:
        done = {c.id for c in self.done}
        rest = [Check(c.id, c.title, SKIPPED, 0, c.max_points, message=STOPPED,
                      visibility=c.visibility) for c in self.planned if c.id not in done]
        return Run(self.assignment, self.submission, checks=self.done + rest,
                   build=Build("ok"), cut=[c.id for c in rest],
                   duration_s=round(time.monotonic() - self.started, 3))

    def on_check(self, check: Check) -> None:
        self.done.append(check)
        write_atomically(self.path, self.render(self.interim()))


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def prepare() -> int:
    """Build what every grading needs (the launcher, the talk library) into the cache."""
    from ...containment import launcher
    from ...harness import talklib
    for name, product in (("launcher", launcher.ensure()), ("talk library", talklib.ensure())):
        sys.stdout.write(f"built the {name}: {product}\n")
    return 0


def _remaining(budget: Optional[float], started_epoch: Optional[float]) -> Optional[float]:
    """The budget left once the set-up since the platform's clock started is taken out."""
    if budget is None or started_epoch is None:
        return budget
    spent = max(0.0, time.time() - started_epoch)
    return round(max(budget - spent, 1.0), 1)


def _stream(check: Check) -> None:
    sys.stdout.buffer.write(terminal.render_check(check, color=False))
    sys.stdout.flush()


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["prepare"]:
        return prepare()
    p = argparse.ArgumentParser(prog="python -I -m grader.frontend.export.autograde")
    p.add_argument("platform", choices=PLATFORMS)
    p.add_argument("assignment")
    p.add_argument("--submission", type=Path, required=True)
    p.add_argument("--results", type=Path, default=None,
                   help="the results file (codegrade: default $CG_JUNIT_XML_LOCATION)")
    p.add_argument("--budget", type=float, default=None)
    p.add_argument("--started", type=float, default=None,
                   help="when the platform's time limit started (seconds since the epoch)")
    args = p.parse_args(argv)
    if args.platform == "codegrade" and args.results is None:
        location = os.environ.get("CG_JUNIT_XML_LOCATION")
        args.results = Path(location) if location else None
    if args.platform in RENDER and args.results is None:
        p.error(f"{args.platform} needs --results FILE")
    from ...harness.runner import Interrupted
    started = time.monotonic()
    budget = _remaining(args.budget, args.started)
    progress: Optional[Progress] = None
    try:
        assignment = assignments.find(args.assignment)
        on_check: Optional[Callable[[Check], None]] = (
            None if args.platform == "autolab" else _stream)
        if args.platform in RENDER:
            from ...harness.runner import planned_checks
            progress = Progress(args.results, RENDER[args.platform], assignment.id,
                                str(args.submission), planned_checks(assignment, None, STOPPED),
                                started)
            write_atomically(args.results, progress.render(progress.interim()))
            step = progress.on_check

            def on_check(check: Check) -> None:
                step(check)
                _stream(check)
        run = grade_submission(assignment, args.submission, budget, on_check)
    except Interrupted as e:        # the time limit's SIGTERM: what finished still counts
        run = e.run
    except KeyboardInterrupt:
        run = Run(args.assignment, str(args.submission),
                  error="the grading was stopped (the platform's time limit?)")
    except Exception:   # noqa: BLE001 - the platform must get a results file, whatever happened
        run = Run(args.assignment, str(args.submission), error=traceback.format_exc())
    if not run.duration_s:
        run.duration_s = round(time.monotonic() - started, 3)
    return finish(args.platform, run, args.results)


def finish(platform: str, run: Run, results: Optional[Path]) -> int:
    """Leave the platform its results and the log."""
    if platform in RENDER and results is not None:
        write_atomically(results, RENDER[platform](run))
    if platform == "github-classroom":
        outputs = os.environ.get("GITHUB_OUTPUT")
        if outputs:
            with open(outputs, "a", encoding="ascii") as f:
                f.write("".join(f"{rid}={text}\n" for rid, text in classroom.encoded(run).items()))
        if results is not None:
            write_atomically(results, classroom.render(run))
    out = sys.stdout.buffer
    if platform == "autolab":
        # Students read this log: no operator notes, hidden checks without details.
        out.write(terminal.render(run, color=False, student=True))
    else:
        out.write(terminal.render_end(run, color=False))
    if platform == "autolab":
        out.write(autolab.tail(run))          # the autoresult must be the last line
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
