"""Batch grading: every handin directory of a class, `-j N` at a time, nothing lost.

    grade asgn5 handin/ [-j N] [--out DIR] [--resume] [--shard K/N] [--interop]
    grade merge DIR... --out DIR

Each student is graded in a forked worker (grader/worker.py) that writes the student's files
into a staging directory inside --out; the batch process then renames it to OUT/STUDENT, so a
student's directory is either complete or absent, whatever happens. The summaries (summary.csv,
report.html, interop.csv) are always rebuilt from the student directories, which is what makes
--resume, ^C and `grade merge` simple: they only decide which directories exist.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from . import assignments, sandbox, targets
from .assignments import Assignment
from .report import num, one_line, renderer, visible
from .report.json_report import dumps
from .results import (BUILD_FAILED, ERROR, GRADED, STUDENT_ERROR, Batch, Build, Check,
                      Run, StudentResult)
from .settings import Settings
from .worker import Job, Outcome, Pool, StopRequest

EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130
STATUS_FILE = "status.json"       # written last into a student's directory: its result is whole
SUMMARIES = ("summary.csv", "report.html", "interop.csv", "interop.json")
SETTINGS_FILE = ".grade-batch.json"  # what --resume must repeat: the --formats of the first run
EXTRA_FORMATS = {"junit": "junit.xml", "prairielearn": "prairielearn/results.json"}
BUILD_FAILED_CHECKS = "not run: the build failed"
REDRAW = 0.5                      # seconds between redraws of the progress bar when idle


@dataclass(frozen=True)
class Handin:
    name: str                     # the directory's name is the student
    path: Path


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


# -- which students ----------------------------------------------------------------------------

def find_handins(batch_dir: Path, out: Optional[Path] = None) -> list[Handin]:
    """The batch's immediate, non-hidden subdirectories (except --out itself), by name."""
    skip = out.resolve() if out is not None else None
    found = [Handin(d.name, d) for d in batch_dir.iterdir()
             if d.is_dir() and not d.name.startswith(".") and d.resolve() != skip]
    for h in found:
        if h.name in SUMMARIES:
            raise targets.BadInput(f"{h.path}: a student directory named like a summary file; "
                                   "rename it")
    return sorted(found, key=lambda h: h.name)


def in_shard(name: str, k: int, n: int) -> bool:
    """Shard K of N (1-based): a stable hash of the name, the same on every machine and run."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % n == k - 1


# -- one student's directory -------------------------------------------------------------------

def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_student(directory: Path, result: StudentResult, *, error_text: str = "",
                  options: Options = Options()) -> None:
    """Every per-student file, status.json last."""
    run = result.run
    assert run is not None
    files = {
        "result.json": renderer("json")(run),
        "feedback.txt": renderer("terminal")(run, color=False, verbose=options.verbose,
                                             student=True),
        # make's output is the student's text too: escaped like every report, so `cat` is safe.
        "build.log": visible(run.build.log).encode("utf-8", "replace"),
        "results.json": renderer("gradescope")(run),
    }
    for fmt in options.formats:
        files[EXTRA_FORMATS[fmt]] = renderer(fmt)(run)
    if result.status == STUDENT_ERROR:
        files["error.txt"] = visible(error_text or result.reason).encode("utf-8", "replace") + b"\n"
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)
    status = {"student": result.student, "status": result.status, "reason": result.reason}
    (directory / STATUS_FILE).write_bytes(dumps(status))


def read_student(directory: Path) -> Optional[StudentResult]:
    """A student's complete result, or None when the directory holds none (or a broken one)."""
    try:
        status = json.loads((directory / STATUS_FILE).read_bytes())
        run = Run.from_dict(json.loads((directory / "result.json").read_bytes()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return StudentResult(directory.name, status["status"], status.get("reason", ""), run)


def install(staging: Path, final: Path) -> None:
    """Put a finished student directory in place; an older result is replaced whole."""
    if final.exists():
        old = staging.with_name(staging.name + ".old")
        final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(final)


# -- grading one student (runs in a worker) ----------------------------------------------------

def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0].strip()


def planned_checks(assignment: Assignment, keyword: Optional[str]) -> list[Check]:
    """The checks a run would have, each not run: what a failed build scores, with titles.

    Runs pytest's collection, so it belongs in a worker (which ends after this student).
    """
    from .runner import planned_checks as planned
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return planned(assignment, keyword, BUILD_FAILED_CHECKS)


def handin_target(handin: Handin, spec: str, assignment: Assignment) -> Optional[targets.Target]:
    """A handin with a Makefile is built; one without, but with the program, is run as is."""
    program = handin.path / assignment.program
    if targets.makefile_in(handin.path) is not None:
        return targets.Target(spec, "source", path=handin.path)
    if program.is_file() and os.access(program, os.X_OK) and not targets.not_runnable(program):
        return targets.Target(spec, "binary", [str(program)], path=program)
    return None


def grade_handin(handin: Handin, spec: str, assignment: Assignment, settings: Settings,
                 options: Options) -> tuple[StudentResult, str]:
    """Grade one handin: (its result, the error text for error.txt when the grader failed)."""
    from . import build
    from .runner import grade

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
        return (StudentResult(handin.name, STUDENT_ERROR, "grader error: " + _first_line(run.error),
                              run), run.error)
    if broken:
        reason = f"grader error in check {broken[0].id}: {_first_line(broken[0].message)}"
        text = "\n\n".join(f"check {c.id}:\n{c.message}" for c in broken)
        return StudentResult(handin.name, STUDENT_ERROR, reason, run), text
    return StudentResult(handin.name, GRADED, "", run), ""


def _grade_job(handin: Handin, spec: str, assignment: Assignment, settings: Settings,
               options: Options) -> Callable[[Path], None]:
    """The worker's side of one student: grade, then write every file into `staging`."""
    def run(staging: Path) -> None:
        try:
            result, error_text = grade_handin(handin, spec, assignment, settings, options)
        except Exception:   # noqa: BLE001 - one student's grader failure must not stop the batch
            error_text = traceback.format_exc()
            result = error_result(handin.name, spec, assignment,
                                  "grader error: " + _first_line(error_text.splitlines()[-1]))
        write_student(staging, result, error_text=error_text, options=options)
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


# -- summaries ---------------------------------------------------------------------------------

def collect(out: Path, names: Optional[set[str]] = None) -> list[StudentResult]:
    """The complete student results in `out` (only `names`, when given), by name."""
    results = []
    for d in sorted(out.iterdir(), key=lambda p: p.name) if out.is_dir() else []:
        if d.is_dir() and not d.name.startswith(".") and (names is None or d.name in names):
            result = read_student(d)
            if result is not None:
                results.append(result)
    return results


def read_interop(out: Path) -> dict[tuple[str, str], str]:
    """The interop matrix of an earlier run: interop.json (names as they are), else the CSV."""
    try:
        pairs = json.loads((out / "interop.json").read_bytes())
        return {(c, s): outcome for c, s, outcome in pairs}
    except FileNotFoundError:
        from . import interop
        return interop.read_csv(out / "interop.csv")
    except (OSError, ValueError, TypeError):
        return {}


def summarize(assignment: Assignment, results: list[StudentResult],
              interop: dict[tuple[str, str], str]) -> Batch:
    """The Batch the summaries show: columns in the manifest's order, then any other check."""
    runs = [r.run for r in results if r.run is not None and r.run.checks]
    seen: list[str] = []
    for run in runs:
        seen += [c.id for c in run.checks if c.id not in seen]
    ordered = [cid for cid in assignment.points if cid in seen] if runs else list(assignment.points)
    ordered += [cid for cid in seen if cid not in ordered]
    max_score = max((run.max_score for run in runs), default=assignment.max_score)
    names = {r.student for r in results}
    pairs = {pair: outcome for pair, outcome in interop.items() if set(pair) <= names}
    return Batch(assignment.id, list(results), max_score, ordered, pairs)


def write_summaries(out: Path, batch: Batch) -> None:
    _atomic_write(out / "summary.csv", renderer("csv")(batch))
    _atomic_write(out / "report.html", renderer("html")(batch))
    if batch.interop:
        _atomic_write(out / "interop.csv", renderer("interop")(batch))
        _atomic_write(out / "interop.json",
                      dumps([[c, s, outcome] for (c, s), outcome in sorted(batch.interop.items())]))


# -- progress ----------------------------------------------------------------------------------

class Progress:
    """A bar on a terminal; one plain line per finished student otherwise (CI, logs).

    The bar names who is being graded now and an ETA that moves every redraw: the wall time
    per finished student so far (all workers together) times those left, less the time since.
    """

    def __init__(self, total: int, label: str, jobs: int = 1):
        self.total, self.count, self.label = total, 0, label
        self.jobs = max(jobs, 1)
        self.started = time.monotonic()
        self.drawn = 0.0
        self.running: list[str] = []
        self.bar = None
        if total and sys.stderr.isatty() and os.environ.get("TERM") != "dumb":
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar,
                                       TextColumn, TimeElapsedColumn)
            # auto_refresh off: no refresh thread, so forking workers stays safe.
            self.bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), TextColumn("{task.fields[eta]}"),
                           console=Console(stderr=True, markup=False, highlight=False),
                           auto_refresh=False, redirect_stdout=False, redirect_stderr=False)
            self.task = self.bar.add_task(label, total=total, eta="")
            self.bar.start()

    def eta(self) -> str:
        """Time left, as "ETA 1m05s"; empty until a student has finished."""
        if not self.count or self.count >= self.total:
            return ""
        elapsed = time.monotonic() - self.started
        left = max(elapsed / self.count * self.total - elapsed, 0.0)
        minutes, seconds = divmod(int(left + 0.5), 60)
        return f"ETA {minutes}m{seconds:02d}s" if minutes else f"ETA {seconds}s"

    def grading(self, names: list[str]) -> None:
        """Who is being graded now (shown in the bar)."""
        self.running = names

    def _description(self) -> str:
        if not self.running:
            return self.label
        names = ", ".join(one_line(n) for n in self.running)
        if len(names) > 40:
            names = names[:39] + "…"
        return f"{self.label} · {names}"

    def line(self, text: str, important: bool = True) -> None:
        """A finished item: above the bar on a terminal (problems only), else a plain line."""
        self.count += 1
        text = f"[{self.count}/{self.total}] {text}"
        if self.bar is not None:
            if important:
                self.bar.console.print(text, markup=False, highlight=False)
            self.bar.update(self.task, advance=1, description=self._description(),
                            eta=self.eta())
            self.bar.refresh()
        else:
            eta = self.eta()
            sys.stderr.write(text + (f"  {eta}" if eta else "") + "\n")
            sys.stderr.flush()

    def tick(self) -> None:
        """Redraw the bar now and then while nothing finishes (its clock and ETA move)."""
        if self.bar is not None and time.monotonic() - self.drawn >= REDRAW:
            self.bar.update(self.task, description=self._description(), eta=self.eta())
            self.bar.refresh()
            self.drawn = time.monotonic()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def describe(result: StudentResult, max_score: float, seconds: float) -> str:
    """A finished student as one line of progress (a name's newlines cannot start a line)."""
    text = f"{one_line(result.student)}: {result.status} {num(result.score)}/{num(max_score)}" \
           f" ({seconds:.1f}s)"
    return text + (f" — {one_line(result.reason)}" if result.reason else "")


BLOCKS = " ▁▂▃▄▅▆▇█"


def score_line(scores: list[float], max_score: float) -> str:
    """mean, median and a one-line histogram of the scores (ten ranges of 0..max)."""
    from .report.html import histogram
    if not scores:
        return "no scores"
    ordered = sorted(scores)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    bins = histogram(scores, max_score)
    top = max(n for _, _, n in bins) or 1
    bars = "".join(BLOCKS[0 if n == 0 else max(1, round(8 * n / top))] for _, _, n in bins)
    return (f"mean {num(sum(scores) / len(scores))}, median {num(median)} of {num(max_score)}; "
            f"scores 0 |{bars}| {num(max_score)}")


# -- the batch ---------------------------------------------------------------------------------

def _options(args: argparse.Namespace, assignment: Assignment) -> Options:
    single = [flag for flag in ("json", "junit", "gradescope", "prairielearn")
              if getattr(args, flag, None)]
    if single:
        raise targets.BadInput(f"--{single[0]} is for one program; a batch writes every "
                               "student's files under --out (extra ones with --formats)")
    formats = tuple(f.strip() for f in (args.formats or "").split(",") if f.strip())
    unknown = [f for f in formats if f not in EXTRA_FORMATS]
    if unknown:
        raise targets.BadInput(f"--formats: unknown format {unknown[0]!r} "
                               f"(known: {', '.join(EXTRA_FORMATS)})")
    if args.interop and assignment.role != "both":
        raise targets.BadInput(f"--interop pairs clients with servers of one program; "
                               f"{assignment.id}'s program is only a {assignment.role}")
    if args.interop and args.shard:
        raise targets.BadInput("--interop needs every student: merge the shards first, then "
                               "run `grade ASSIGNMENT HANDIN --out MERGED --resume --interop`")
    return Options(args.strict, args.keyword, args.verbose, args.talk_lib, formats)


def _staging_root(out: Path) -> Path:
    """Our scratch directory in --out; leftovers of dead batches on this host are removed."""
    host = socket.gethostname()
    for old in out.glob(f".staging-{host}-*"):
        pid = old.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)
    root = out / f".staging-{host}-{os.getpid()}"
    root.mkdir()
    return root


def _warm_up() -> None:
    """Import what every worker needs once, before forking, so no worker pays for it."""
    import rich.console  # noqa: F401
    from . import build, runner  # noqa: F401
    for name in ("json", "terminal", "gradescope", "junit", "prairielearn", "csv", "html"):
        renderer(name)


def main(args: argparse.Namespace, assignment: Assignment, target: targets.Target,
         settings: Settings) -> int:
    """Grade a directory of handins; 0 when the batch completed, 130 when it was stopped."""
    out: Path = args.out
    if getattr(args, "resume", False) and not (args.formats or "").strip():
        args.formats = ",".join(_saved(out).get("formats", []))
    options = _options(args, assignment)
    budget = getattr(args, "budget", None)
    if budget is not None and budget <= 0:
        raise targets.BadInput(f"--budget: expected seconds above 0, got {budget:g}")
    if budget:
        settings = dataclasses.replace(settings, student_budget=budget)
    handins = find_handins(target.path, out)
    if args.shard:
        handins = [h for h in handins if in_shard(h.name, *args.shard)]
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write(out / SETTINGS_FILE, dumps({"assignment": assignment.id,
                                              "formats": list(options.formats)}))
    todo = [h for h in handins if not (args.resume and read_student(out / h.name) is not None)]
    started = time.monotonic()
    sandbox.become_subreaper()
    _warm_up()
    staging = _staging_root(out)
    progress = Progress(len(todo), assignment.id, args.jobs)
    stop = StopRequest()
    try:
        with stop:
            completed = _grade_all(todo, out, staging, target.spec, assignment, settings,
                                   options, args.jobs, progress, stop)
            progress.close()
            interop = read_interop(out)
            if completed and args.interop:
                from . import interop as interop_mod
                ready = [h for h in handins if (r := read_student(out / h.name)) is not None
                         and r.status != BUILD_FAILED]
                matrix = interop_mod.run(ready, assignment, settings, options, args.jobs,
                                         staging, stop)
                completed = matrix is not None
                if matrix is not None:
                    interop = matrix
                    (out / "interop.csv").unlink(missing_ok=True)
                    (out / "interop.json").unlink(missing_ok=True)
            batch = summarize(assignment, collect(out, {h.name for h in handins}), interop)
            write_summaries(out, batch)
    finally:
        progress.close()
        shutil.rmtree(staging, ignore_errors=True)
        sandbox.kill_descendants()
    _report(batch, out, time.monotonic() - started, completed, len(handins))
    return EXIT_OK if completed else EXIT_INTERRUPTED


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
            write_student(outcome.job.staging,
                          error_result(handin.name, spec_of(handin), assignment, reason),
                          error_text=f"{reason}\n\nthe worker's output:\n{outcome.log}",
                          options=options)
        install(outcome.job.staging, out / handin.name)
        result = read_student(out / handin.name)
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


def _saved(out: Path) -> dict:
    """The settings an earlier batch into `out` recorded (empty when there are none)."""
    try:
        data = json.loads((out / SETTINGS_FILE).read_bytes())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


# -- merging shards ----------------------------------------------------------------------------

def merge(dirs: Sequence[Path], out: Path) -> int:
    """Join shard result directories into `out` and rebuild its summaries.

    A student found in more than one directory takes the result from the last one given, so a
    re-graded student can be merged over an older shard.
    """
    chosen: dict[str, Path] = {}
    assignment_ids: set[str] = set()
    for d in dirs:
        if not d.is_dir():
            sys.stderr.write(f"grade: error: {d}: not a directory of batch results\n")
            return EXIT_USAGE
        found = collect(d)
        if not found:
            sys.stderr.write(f"grade: warning: {d} holds no student results (is it the --out "
                             "of a shard?); merging the others\n")
        for result in found:
            chosen[result.student] = d / result.student
            assignment_ids.add(result.run.assignment if result.run else "")
    if len(assignment_ids) > 1:
        sys.stderr.write("grade: error: these results are of different assignments: "
                         + ", ".join(sorted(assignment_ids)) + "\n")
        return EXIT_USAGE
    if not chosen:
        sys.stderr.write("grade: error: no student results in " + " ".join(map(str, dirs)) + "\n")
        return EXIT_USAGE
    assignment = assignments.find(assignment_ids.pop())
    out.mkdir(parents=True, exist_ok=True)
    staging = _staging_root(out)
    try:
        for name, source in sorted(chosen.items()):
            if source.resolve() == (out / name).resolve():
                continue
            tmp = staging / "copy"
            shutil.copytree(source, tmp, symlinks=True)
            install(tmp, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    batch = summarize(assignment, collect(out), read_interop(out))
    write_summaries(out, batch)
    sys.stdout.write(f"{assignment.id}: merged {len(chosen)} students into {out}\n")
    return EXIT_OK
