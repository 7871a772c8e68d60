"""The `grade` command.

    grade ASSIGNMENT TARGET [options]     grade one program, or a directory of handins
    grade list                            assignments and their checks, with points
    grade doctor                          which protections this machine gives
    grade merge DIR... --out DIR          join the results of sharded batches

Exit status: 0 every check passed (a batch: it completed), 1 a check failed, 2 bad usage or
bad input (a one-line message says what to do), 3 an internal error of the grader.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import Optional, Sequence

from . import assignments, build, settings as settings_mod, targets

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
SUBCOMMANDS = ("list", "doctor", "merge")


class UsageError(Exception):
    pass


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {text!r}")
    return value


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        k = n = 0
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"expected K/N with 1 <= K <= N, got {text!r}")
    return k, n


def _grade_parser() -> argparse.ArgumentParser:
    ids = ", ".join(f"{a.id}" + (f" ({', '.join(a.aliases)})" if a.aliases else "")
                    for a in assignments.all_assignments())
    p = argparse.ArgumentParser(
        prog="grade", usage="grade ASSIGNMENT TARGET [options]\n       grade {list,doctor,merge} ...",
        description="Grade a socket-programming assignment against reference peers.",
        epilog=f"assignments: {ids}.  Other commands: `grade list`, `grade doctor`, "
               "`grade merge DIR... --out DIR`.  Exit status: 0 all passed, 1 a check failed, "
               "2 bad input, 3 grader error.")
    p.add_argument("assignment", help="assignment id, e.g. asgn5 or minichat-server")
    p.add_argument("target", nargs="?", default=None,
                   help="compiled program, source directory with a Makefile, quoted command, "
                        "or a directory of handin directories (batch)")
    out = p.add_argument_group("reports")
    out.add_argument("--json", metavar="FILE", help="write the results model as JSON")
    out.add_argument("--junit", metavar="FILE", help="write JUnit XML")
    out.add_argument("--gradescope", metavar="FILE", help="write Gradescope results.json")
    out.add_argument("--prairielearn", metavar="FILE", help="write PrairieLearn results.json")
    out.add_argument("-v", "--verbose", action="store_true", help="show every check's transcript")
    out.add_argument("--no-color", action="store_true", help="plain text, no colour")
    run = p.add_argument_group("grading")
    run.add_argument("-k", metavar="EXPR", dest="keyword",
                     help="only checks whose name matches (pytest -k syntax)")
    run.add_argument("--strict", action="store_true",
                     help="deviations from the handout's exact text fail instead of warn")
    run.add_argument("--reference", action="store_true",
                     help="grade the reference implementation (no TARGET needed)")
    run.add_argument("--talk-lib", metavar="DIR", type=Path,
                     help="talk library (DIR/include, DIR/lib64) to build handins against")
    run.add_argument("--timeout-scale", type=float, metavar="X",
                     help="stretch every deadline by X on a slow machine")
    b = p.add_argument_group("batch (TARGET is a directory of handin directories)")
    b.add_argument("--batch", action="store_true", help="treat TARGET as a batch even if unsure")
    b.add_argument("-j", "--jobs", type=_positive_int, default=os.cpu_count() or 1,
                   help="students graded at once (default: number of cores)")
    b.add_argument("--out", type=Path, default=Path("grade-results"),
                   help="results directory (default ./grade-results)")
    b.add_argument("--resume", action="store_true", help="grade only students without a result")
    b.add_argument("--shard", type=_shard, metavar="K/N", help="grade a stable 1/N of the students")
    b.add_argument("--interop", action="store_true",
                   help="also run every client against every server")
    b.add_argument("--formats", default="",
                   help="extra per-student files: comma list of junit,prairielearn")
    b.add_argument("--budget", type=float, metavar="SECONDS",
                   help="time one student may take in all, build included; a student over "
                        "it is recorded as an error (default 120)")
    return p


def _settings(args: argparse.Namespace) -> settings_mod.Settings:
    s = settings_mod.load()
    return s.scaled(args.timeout_scale) if args.timeout_scale else s


def _write(path: Optional[str], data: bytes) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)


def _grade_one(args: argparse.Namespace, assignment: assignments.Assignment,
               target: targets.Target) -> int:
    from .report import gradescope, json_report, junit, prairielearn, terminal
    from .runner import grade

    color = not args.no_color and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    try:
        run = grade(assignment, target, _settings(args), strict=args.strict,
                    keyword=args.keyword, transcripts=args.verbose, talk_lib=args.talk_lib)
    except build.BuildFailed as e:
        sys.stderr.write(f"grade: build failed: {e}\n{build.log_tail(e.build.log)}\n"
                         "grade: fix the build (run `make` in the handin directory), then try again\n")
        return EXIT_USAGE
    if not run.checks and not run.error:
        raise UsageError(f"no check matches -k {args.keyword!r}" if args.keyword
                         else "no checks were collected")
    sys.stdout.buffer.write(terminal.render(run, color=color, verbose=args.verbose))
    sys.stdout.flush()
    _write(args.json, json_report.render(run))
    _write(args.junit, junit.render(run))
    _write(args.gradescope, gradescope.render(run))
    _write(args.prairielearn, prairielearn.render(run))
    if run.error:
        sys.stderr.write(f"grade: internal error: {run.error.splitlines()[0]}\n")
    return run.exit_code


def _main_grade(argv: Sequence[str]) -> int:
    args = _grade_parser().parse_args(argv)
    assignment = assignments.find(args.assignment)
    if args.target is None and not args.reference:
        raise UsageError("missing TARGET: the program, handin directory or batch to grade")
    target = targets.resolve(args.target or "", assignment, reference=args.reference,
                             batch=True if args.batch else None)
    if target.kind == "batch":
        from . import batch
        return batch.main(args, assignment, target, _settings(args))
    return _grade_one(args, assignment, target)


def _main_list(argv: Sequence[str]) -> int:
    from .catalog import describe
    argparse.ArgumentParser(prog="grade list", description="List assignments and their checks.") \
        .parse_args(argv)
    sys.stdout.write(describe())
    return EXIT_OK


def _main_doctor(argv: Sequence[str]) -> int:
    from .doctor import report
    argparse.ArgumentParser(prog="grade doctor",
                            description="Show which protections are active on this machine.") \
        .parse_args(argv)
    sys.stdout.write(report())
    return EXIT_OK


def _main_merge(argv: Sequence[str]) -> int:
    from . import batch
    p = argparse.ArgumentParser(prog="grade merge",
                                description="Join the results of sharded batches into one.")
    p.add_argument("dirs", nargs="+", type=Path, help="results directories of the shards")
    p.add_argument("--out", type=Path, required=True, help="directory for the joined results")
    args = p.parse_args(argv)
    return batch.merge(args.dirs, args.out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"list": _main_list, "doctor": _main_doctor, "merge": _main_merge}
    try:
        if argv and argv[0] in commands:
            return commands[argv[0]](argv[1:])
        return _main_grade(argv)
    except (UsageError, targets.BadInput, assignments.UnknownAssignment) as e:
        sys.stderr.write(f"grade: error: {e.args[0] if e.args else e}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("grade: interrupted\n")
        return 130
    except Exception:   # noqa: BLE001 - the one place that turns a crash into exit status 3
        sys.stderr.write("grade: internal error of the grader, please report it:\n"
                         + traceback.format_exc())
        return EXIT_INTERNAL
