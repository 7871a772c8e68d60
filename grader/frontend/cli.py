"""The `grade` command.

    grade ASSIGNMENT TARGET [options]     grade one program, or a directory of handins
    grade list [ASSIGNMENT]               assignments and their checks, with points
    grade doctor                          which protections this machine gives
    grade merge DIR... --out DIR          join the results of sharded batches
    grade export PLATFORM ASSIGNMENT --out PATH   an autograder to upload (gradescope,
                                      prairielearn, autolab, github-classroom, codegrade)
    grade prepare-image [--talk-lib DIR]  as root, in a container image: the course account
    grade talk-lib DIR                    the course's talk library in DIR, for building mytalk
    grade peer ASSIGNMENT ROLE [ARGS]     start the reference program (e.g. asgn5 server -N -a 4000)

Every command takes --cases DIR (or GRADER_CASES=DIR): a course's own assignments, read where
they are.

Exit status: 0 every check passed (a batch: it completed), 1 a check failed, 2 bad usage or
bad input (a one-line message says what to do), 3 an internal error of the grader, 130
interrupted (^C, SIGTERM).
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import traceback
from pathlib import Path
from typing import Any, Optional, Sequence

from ..harness import assignments, build, targets
from .. import settings as settings_mod
from ..harness.results import version

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
SUBCOMMANDS = ("list", "doctor", "merge", "export", "prepare-image", "talk-lib", "peer")
DEFAULT_WIDTH = 100          # report width when the output is not a terminal and COLUMNS is unset
BUILD_LOG_LINES = 15         # of a failed build's log, shown on stderr


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


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def _grade_parser() -> argparse.ArgumentParser:
    ids = ", ".join(f"{a.id}" + (f" ({', '.join(a.aliases)})" if a.aliases else "")
                    for a in assignments.all_assignments())
    p = argparse.ArgumentParser(
        prog="grade",
        usage="grade ASSIGNMENT TARGET [options]\n"
              "       grade {list,doctor,merge,export,talk-lib,peer} ...",
        description="Grade a socket-programming assignment against reference peers.",
        epilog=f"assignments: {ids}.  Other commands: `grade list`, `grade doctor`, "
               "`grade merge DIR... --out DIR`, `grade export PLATFORM ASSIGNMENT "
               "--out PATH`, `grade talk-lib DIR`, `grade peer ASSIGNMENT ROLE`.  "
               "Exit status: 0 all passed, 1 a check failed, 2 bad input, "
               "3 grader error, 130 interrupted.")
    p.add_argument("--version", action="version", version=f"grade (socket-grader) {version()}")
    p.add_argument("--cases", metavar="DIR", help=CASES_HELP)
    p.add_argument("assignment", help="assignment id, e.g. asgn5 or minichat-server")
    p.add_argument("target", nargs="?", default=None,
                   help="compiled program, source directory with a Makefile, quoted command, "
                        "or a directory of handin directories (batch)")
    out = p.add_argument_group("reports")
    out.add_argument("--json", metavar="FILE", help="write the results model as JSON")
    out.add_argument("--junit", metavar="FILE", help="write JUnit XML")
    out.add_argument("--gradescope", metavar="FILE", help="write Gradescope results.json")
    out.add_argument("--prairielearn", metavar="FILE", help="write PrairieLearn results.json")
    # --all-transcripts and --grader-strict: the names plain pytest takes (it owns -v, --strict).
    out.add_argument("-v", "--verbose", "--all-transcripts", dest="verbose", action="store_true",
                     help="show every check's transcript")
    out.add_argument("--no-color", action="store_true",
                     help="plain text, no colour (also when NO_COLOR is set or TERM=dumb)")
    run = p.add_argument_group("grading")
    run.add_argument("-k", metavar="EXPR", dest="keyword",
                     help="only checks matching EXPR: check ids as `grade list` prints them "
                          "(client_chat_both_ways) or parts of them, with and/or/not (pytest -k)")
    run.add_argument("--strict", "--grader-strict", dest="strict", action="store_true",
                     help="deviations from the handout's exact text fail instead of warn")
    run.add_argument("--reference", "--grade-reference", dest="reference", action="store_true",
                     help="grade the reference implementation (no TARGET needed)")
    run.add_argument("--talk-lib", metavar="DIR", type=Path,
                     help="talk library (DIR/include, DIR/lib64) to build handins against")
    run.add_argument("--timeout-scale", type=_positive_float, metavar="X",
                     help="stretch every deadline by X on a slow machine")
    run.add_argument("--budget", type=_positive_float, metavar="SECONDS",
                     help="time one grading may take, build included: checks that would start "
                          "later are not run, and the report names them (a batch: per student, "
                          "default 120, and a student over it is recorded as an error)")
    b = p.add_argument_group("batch (TARGET is a directory of handin directories)")
    b.add_argument("--batch", action="store_true", help="treat TARGET as a batch even if unsure")
    b.add_argument("-j", "--jobs", type=_positive_int, default=os.cpu_count() or 1,
                   help="students graded at once (default: number of cores)")
    b.add_argument("--out", type=Path, default=None,
                   help="results directory (default ./grade-results)")
    b.add_argument("--resume", action="store_true",
                   help="grade only students without a result (the first run's --formats are kept)")
    b.add_argument("--shard", type=_shard, metavar="K/N", help="grade a stable 1/N of the students")
    b.add_argument("--interop", action="store_true",
                   help="also run every client against every server")
    b.add_argument("--formats", default="",
                   help="extra per-student files: comma list of junit,prairielearn")
    return p


def _settings(args: argparse.Namespace) -> settings_mod.Settings:
    s = settings_mod.load()
    return s.scaled(args.timeout_scale) if args.timeout_scale else s


def use_color(no_color_flag: bool = False, stream=None) -> bool:
    """Colour on a terminal, unless --no-color, a non-empty NO_COLOR (no-color.org) or TERM=dumb."""
    stream = stream or sys.stdout
    return (not no_color_flag and stream.isatty() and not os.environ.get("NO_COLOR")
            and os.environ.get("TERM") != "dumb")


def width() -> int:
    """The terminal's width (COLUMNS first); 100 columns when the output is not a terminal."""
    return max(shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns, 40)


def writable_file(option: str, path: Optional[str]) -> None:
    """Refuse (exit 2, before any grading) a report path that cannot be written."""
    if not path:
        return
    p = Path(path)
    if p.is_dir() or str(path).endswith(os.sep):
        raise UsageError(f"{option} {path}: is a directory; give a file name such as "
                         f"{Path(path) / 'results.json'}")
    if p.exists() and not os.access(p, os.W_OK):
        raise UsageError(f"{option} {path}: cannot be written (no permission)")
    _try_writing(option, p.parent)


def writable_dir(option: str, path: Path) -> None:
    """Refuse (exit 2) a results directory that is a file or cannot be created or written."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path}: is a file, not a directory")
    _try_writing(option, path)


def _try_writing(option: str, directory: Path) -> None:
    """Create the directory and a scratch file in it: the only test every file system agrees
    with (root passes every permission check, yet cannot write /proc or a read-only mount)."""
    import tempfile
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".grade-probe-"):
            pass
    except OSError as e:
        raise UsageError(f"{option}: cannot write in {directory} ({e.strerror or e})")


class _Stdout:
    """stdout that a closed pipe (`grade ... | head`) silences instead of failing the grading."""

    def __init__(self) -> None:
        self.closed = False

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        except BrokenPipeError:
            self.closed = True
            try:          # no second error when Python flushes stdout at exit
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except OSError:
                pass


def _write(path: Optional[str], data: bytes) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(path).with_name(f".{Path(path).name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)


REPORT_WRITERS = (("json", "json_report"), ("junit", "junit"), ("gradescope", "gradescope"),
                  ("prairielearn", "prairielearn"))    # option -> module of grader.frontend.report


def _report_writers(args: argparse.Namespace) -> list[tuple[str, Any]]:
    """(path, module) of each report asked for: only those are rendered (_grade_one asks
    before any program runs, so a writer is never first imported after one)."""
    import importlib
    return [(getattr(args, option), importlib.import_module(f"{__package__}.report.{name}"))
            for option, name in REPORT_WRITERS if getattr(args, option, None)]


def _write_reports(args: argparse.Namespace, run) -> None:
    for path, writer in _report_writers(args):
        _write(path, writer.render(run))


def _write_unbuilt(args: argparse.Namespace, assignment: assignments.Assignment,
                   why: str) -> None:
    """The reports of a handin that cannot be built at all: every check not run, the build
    failed with `why` as its log (what a batch records for the same handin)."""
    from ..harness.results import Build, Run
    from ..harness.runner import planned_checks
    run = Run(assignment.id, args.target or "", build=Build("failed", why + "\n"))
    run.checks = planned_checks(assignment, args.keyword, "not run: the build failed")
    _write_reports(args, run)


def _check_keyword(assignment: assignments.Assignment, keyword: str) -> None:
    """-k must select a check (exit 2 before grading otherwise, with a "did you mean")."""
    import difflib
    from ..harness.runner import collect
    if collect([assignment], keyword).get(assignment.id):
        return
    close = difflib.get_close_matches(keyword.strip(), list(assignment.points), n=1)
    guess = f"did you mean {close[0]}? " if close else ""
    raise UsageError(f"no check matches -k {keyword!r}: {guess}(`grade list {assignment.id}` "
                     "shows the ids)")


def _grade_one(args: argparse.Namespace, assignment: assignments.Assignment,
               target: targets.Target) -> int:
    from .report import terminal
    from ..harness.results import NOT_RUN_INTERRUPTED, Run
    from ..harness.runner import Interrupted, grade, planned_checks

    color, cols = use_color(args.no_color), width()
    out = _Stdout()
    _report_writers(args)

    def show(check) -> None:           # each check as it finishes: a student sees progress
        out.write(terminal.render_check(check, color=color, verbose=args.verbose, width=cols))

    if args.keyword:
        _check_keyword(assignment, args.keyword)
    if target.note:
        from .report import one_line
        sys.stderr.write(f"grade: note: {one_line(target.note)}\n")
    out.write(terminal.render_start(assignment.id, target.spec, color=color, width=cols))
    try:
        run = grade(assignment, target, _settings(args), strict=args.strict,
                    keyword=args.keyword, transcripts=args.verbose, talk_lib=args.talk_lib,
                    budget=args.budget, on_check=show)
    except build.BuildFailed as e:
        run = Run(assignment.id, target.spec, build=e.build)
        try:
            run.checks = planned_checks(assignment, args.keyword, "not run: the build failed")
        finally:
            _write_reports(args, run)
        from .report import log_tail, not_run_line, one_line, visible
        out.write(f"{not_run_line(run)}\n".encode())      # one line for all the checks
        sys.stderr.write(f"grade: build failed: {one_line(str(e))}\n"
                         f"{visible(log_tail(e.build.log, BUILD_LOG_LINES))}\n"
                         "grade: fix the build (run `make` in the handin directory), then try "
                         "again\n")
        return EXIT_USAGE
    except Interrupted as e:
        # What finished is kept: every report says the run was interrupted (exit 130).
        _write_reports(args, e.run)
        out.write(terminal.render_end(e.run, color=color, verbose=args.verbose, width=cols,
                                      notes=args.verbose))
        raise
    except KeyboardInterrupt:
        # Before any check finished (during the build, say): the reports list every check
        # as not run. A second ^C while they are collected leaves them without checks.
        run = Run(assignment.id, target.spec, interrupted=True)
        try:
            run.checks = planned_checks(assignment, args.keyword, NOT_RUN_INTERRUPTED)
        finally:
            _write_reports(args, run)
        raise
    except (UsageError, targets.BadInput, assignments.UnknownAssignment,
            assignments.ManifestError):
        raise
    except assignments.CaseModuleError as e:
        _write_reports(args, Run(assignment.id, target.spec, error=str(e)))
        raise
    except Exception:
        # The grader failed: the report files still say so, then main() reports exit 3.
        _write_reports(args, Run(assignment.id, target.spec, error=traceback.format_exc()))
        raise
    if not run.checks and not run.error:
        raise UsageError("no checks were collected")
    _write_reports(args, run)
    out.write(terminal.render_end(run, color=color, verbose=args.verbose, width=cols,
                                  notes=args.verbose))
    if run.error:
        from .report import one_line
        sys.stderr.write(f"grade: internal error: {one_line(run.error.splitlines()[0])}\n")
    return run.exit_code


def _main_grade(argv: Sequence[str]) -> int:
    args = _grade_parser().parse_args(argv)
    assignment = assignments.find(args.assignment)
    if args.target is None and not args.reference:
        raise UsageError("missing TARGET: the program, handin directory or batch to grade")
    if args.keyword:
        from ..harness.runner import compile_keyword
        compile_keyword(args.keyword)
    for flag in ("json", "junit", "gradescope", "prairielearn"):
        writable_file(f"--{flag}", getattr(args, flag))
    # Options only a batch has say it is one (a class of one is not a handin one folder down).
    batch_only = args.batch or args.out is not None or args.resume or args.shard \
        or args.interop or bool(args.formats)
    try:
        target = targets.resolve(args.target or "", assignment, reference=args.reference,
                                 batch=True if args.batch else None,
                                 one_down=not batch_only)
    except targets.NoMakefile as e:
        _write_unbuilt(args, assignment, str(e))
        raise
    if args.out is None:
        args.out = Path("grade-results")
    if target.kind == "batch":
        from . import batch
        writable_dir("--out", args.out)
        return batch.main(args, assignment, target, _settings(args))
    return _grade_one(args, assignment, target)


def _main_list(argv: Sequence[str]) -> int:
    from .catalog import describe
    p = argparse.ArgumentParser(prog="grade list",
                                description="List assignments and their checks, with points.")
    p.add_argument("assignment", nargs="?", help="only this assignment (id or alias)")
    p.add_argument("--cases", metavar="DIR", help=CASES_HELP)
    args = p.parse_args(argv)
    only = assignments.find(args.assignment) if args.assignment else None
    sys.stdout.write(describe(only, width()))
    return EXIT_OK


def _main_export(argv: Sequence[str]) -> int:
    from . import export
    p = argparse.ArgumentParser(
        prog="grade export",
        description="Write an autograder for a course platform: a Gradescope autograder zip; "
                    "the files a PrairieLearn question needs for external grading; Autolab's "
                    "autograde-Makefile and autograde.tar; a GitHub Classroom workflow; or the "
                    "files of a CodeGrade AutoTest.")
    p.add_argument("platform", choices=sorted(EXPORTS))
    p.add_argument("assignment", help="assignment id, e.g. asgn5")
    p.add_argument("--out", type=Path, required=True,
                   help="gradescope: the zip file to write; the others: a directory")
    p.add_argument("--time-limit", type=_positive_float, metavar="SECONDS",
                   help="the platform's time limit for one submission (default: Gradescope "
                        f"{export.GRADESCOPE_LIMIT:g}s, PrairieLearn "
                        f"{export.PRAIRIELEARN_LIMIT:g}s, Autolab {export.AUTOLAB_LIMIT:g}s, "
                        f"GitHub Classroom {export.CLASSROOM_LIMIT:g}s, CodeGrade "
                        f"{export.CODEGRADE_LIMIT:g}s); the grading budget is set below it")
    p.add_argument("--image", default=export.PRAIRIELEARN_IMAGE,
                   help="prairielearn: the Docker image (default %(default)s)")
    args = p.parse_args(argv)
    assignment = assignments.find(args.assignment)
    if assignments.CASES_DIR not in assignment.path.parents:
        raise UsageError(f"{assignment.id} is a course's own assignment ({assignment.path}): "
                         "an exported autograder carries the grader's own assignments only; "
                         "add the folder to the clone's cases/ to export it")
    if args.platform == "gradescope":
        if args.out.suffix != ".zip":
            raise UsageError(f"--out {args.out}: a Gradescope autograder is a .zip file")
        writable_file("--out", str(args.out))
        path = export.gradescope_zip(assignment, args.out, args.time_limit)
    elif args.platform == "prairielearn":
        writable_dir("--out", args.out)
        path = export.prairielearn_dir(assignment, args.out, args.time_limit, args.image)
    else:
        import importlib
        writable_dir("--out", args.out)
        module = importlib.import_module(f"{export.__name__}.{EXPORTS[args.platform]}")
        path = module.export(assignment, args.out, args.time_limit)
    sys.stdout.write(f"wrote {path}: see docs/platforms.md for how to upload it\n")
    return EXIT_OK


# grade export PLATFORM: the module of export that writes it (two live in its __init__)
EXPORTS = {"gradescope": "", "prairielearn": "", "autolab": "autolab",
           "github-classroom": "classroom", "codegrade": "codegrade"}


def _main_doctor(argv: Sequence[str]) -> int:
    from .doctor import report
    argparse.ArgumentParser(prog="grade doctor",
                            description="Show which protections are active on this machine.") \
        .parse_args(argv)
    sys.stdout.write(report())
    return EXIT_OK


def _main_prepare_image(argv: Sequence[str]) -> int:
    from . import image
    p = argparse.ArgumentParser(
        prog="grade prepare-image",
        description="As root, while a container image is built (where programs cannot be "
                    "given a private view): add the course account pn-cs357 with the talk "
                    "library in ~pn-cs357/Given/Talk, and names for the uids gradings lease. "
                    "Idempotent.")
    p.add_argument("--talk-lib", type=Path, metavar="DIR",
                   help="the course's talk library (include/, lib64/); default: ours")
    args = p.parse_args(argv)
    for line in image.prepare(settings_mod.load(), args.talk_lib):
        sys.stdout.write(line + "\n")
    return EXIT_OK


def _main_talk_lib(argv: Sequence[str]) -> int:
    from ..harness import talklib
    p = argparse.ArgumentParser(
        prog="grade talk-lib",
        description="Write the course's talk library into DIR (DIR/include/talk.h, "
                    "DIR/lib64/libtalk.a), to build mytalk where ~pn-cs357 does not exist, "
                    "and print the Makefile lines that use it.")
    p.add_argument("dir", type=Path, metavar="DIR", help="where to put include/ and lib64/")
    args = p.parse_args(argv)
    if args.dir.exists() and not args.dir.is_dir():
        raise UsageError(f"{args.dir}: is a file; give a directory (it is created if needed)")
    try:
        lines = talklib.write_for_student(args.dir)
    except talklib.TalkLibraryError as e:
        raise UsageError(str(e))
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


PEER_ROLES = ("server", "client")


def _main_peer(argv: Sequence[str]) -> int:
    """Run the reference program (from the installed package) in place of this process."""
    usage = ("usage: grade peer ASSIGNMENT ROLE [ARGS...]\n\n"
             "Start the assignment's reference program as the server or the client, to try "
             "your own program against it by hand (what a failed check's \"reproduce by hand\" "
             "says).\nARGS are the reference program's own: grade peer asgn5 server -N -a 4000; "
             "grade peer asgn5 client -N localhost 4000; grade peer minichat-server client 4000\n")
    if not argv or any(a in ("-h", "--help") for a in argv[:2]):
        sys.stdout.write(usage)
        return EXIT_OK if argv else EXIT_USAGE
    assignment = assignments.find(argv[0])
    if len(argv) < 2 or argv[1] not in PEER_ROLES:
        raise UsageError(f"grade peer {assignment.id}: give the role, server or client "
                         f"(e.g. `grade peer {assignment.id} server ...`)")
    role, args = argv[1], list(argv[2:])
    if not assignment.reference:
        raise UsageError(f"{assignment.id} has no reference program")
    if assignment.role == "both":       # mytalk: a host name makes it the client
        words = [a for a in args if not a.startswith("-")]
        if len(words) != (2 if role == "client" else 1):
            raise UsageError(f"a {assignment.program} {role} takes "
                             + ("[-v] [-N] HOSTNAME PORT" if role == "client"
                                else "[-v] [-a] [-N] PORT")
                             + f" (e.g. `grade peer {assignment.id} " + (
                                 "client -N localhost 4000`)" if role == "client"
                                 else "server -N -a 4000`)"))
    command = [sys.executable, *assignment.reference_in(role), *args]
    env = dict(os.environ)
    # a course's reference may be a module of its own, next to its manifest (as in a grading)
    env["PYTHONPATH"] = os.pathsep.join(
        dict.fromkeys([str(targets.PROJECT_ROOT), str(assignment.path)]
                      + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])))
    sys.stdout.flush()
    os.execve(sys.executable, command, env)
    return EXIT_INTERNAL             # not reached: exec replaced this process


def _main_merge(argv: Sequence[str]) -> int:
    from . import batch
    p = argparse.ArgumentParser(prog="grade merge",
                                description="Join the results of sharded batches into one.")
    p.add_argument("dirs", nargs="+", type=Path, help="results directories of the shards")
    p.add_argument("--out", type=Path, required=True, help="directory for the joined results")
    args = p.parse_args(argv)
    return batch.merge(args.dirs, args.out)


CASES_HELP = ("a course's own assignments: a folder of assignment folders, each a "
              "manifest.toml and test_*.py (also GRADER_CASES=DIR[:DIR]); read where they "
              "are, so a new or edited check counts without reinstalling")


def _take_cases(argv: list[str]) -> list[str]:
    """argv without `--cases DIR` (any command may have it, anywhere: the assignments it
    adds must be known before any parser lists them); each DIR goes first in GRADER_CASES,
    which forked batch workers inherit."""
    rest, dirs = [], []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        if arg == "--cases" or arg.startswith("--cases="):
            value = arg.partition("=")[2] if "=" in arg else (
                argv[i + 1] if i + 1 < len(argv) else "")
            if not value:
                raise UsageError("--cases needs a directory: the folder of the course's "
                                 "assignment folders")
            dirs.append(os.path.abspath(os.path.expanduser(value)))
            i += 1 if "=" in arg else 2
            continue
        rest.append(arg)
        i += 1
    if dirs:
        before = os.environ.get(assignments.CASES_ENV, "")
        os.environ[assignments.CASES_ENV] = os.pathsep.join(dirs + ([before] if before else []))
    return rest


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"list": _main_list, "doctor": _main_doctor, "merge": _main_merge,
                "export": _main_export, "prepare-image": _main_prepare_image,
                "talk-lib": _main_talk_lib, "peer": _main_peer}
    saved = os.environ.get(assignments.CASES_ENV)
    try:
        argv = _take_cases(argv)
        assignments.course_dirs()          # a mistyped --cases DIR is exit 2 before anything
        if argv and argv[0] in commands:
            return commands[argv[0]](argv[1:])
        return _main_grade(argv)
    except (UsageError, targets.BadInput, assignments.UnknownAssignment,
            assignments.ManifestError) as e:
        from .report import visible
        sys.stderr.write(f"grade: error: {visible(str(e.args[0] if e.args else e))}\n")
        return EXIT_USAGE
    except assignments.CaseModuleError as e:
        from .report import visible
        sys.stderr.write("grade: internal error: a check module cannot be imported (the "
                         "grader's or the course's bug, not the program's):\n"
                         f"{visible(str(e))}\n")
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        sys.stderr.write("grade: interrupted\n")
        return EXIT_INTERRUPTED
    except Exception:   # noqa: BLE001 - the one place that turns a crash into exit status 3
        sys.stderr.write("grade: internal error of the grader, please report it:\n"
                         + traceback.format_exc())
        return EXIT_INTERNAL
    finally:
        if saved is None:
            os.environ.pop(assignments.CASES_ENV, None)
        else:
            os.environ[assignments.CASES_ENV] = saved
