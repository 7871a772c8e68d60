"""A batch's results directory (--out): each student's files, the summaries, and merging.

    OUT/STUDENT/      result.json, feedback.txt, build.log, results.json, ..., status.json last
    OUT/summary.csv, report.html, interop.csv, interop.json     rebuilt from the directories
    OUT/.grade-batch.json                                       what --resume must repeat

A student's directory is written into a staging directory and renamed into place, so it is
either complete or absent. The summaries are always rebuilt from the student directories,
which is what makes --resume, ^C and `grade merge` simple: they only decide which exist.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from ..harness import assignments
from ..harness.assignments import Assignment
from .report import csv_report, json_report, renderer, visible
from .report.json_report import dumps
from ..harness.results import STUDENT_ERROR, Batch, Run, StudentResult

EXIT_OK, EXIT_USAGE = 0, 2
STATUS_FILE = "status.json"       # written last into a student's directory: its result is whole
SUMMARIES = ("summary.csv", "report.html", "interop.csv", "interop.json")
SETTINGS_FILE = ".grade-batch.json"  # what --resume must repeat: the --formats of the first run
EXTRA_FORMATS = {"junit": "junit.xml", "prairielearn": "prairielearn/results.json"}


def private_dir(out: Path) -> None:
    """--out, made if need be and readable by our uid alone: it holds every student's build
    log (which quotes their sources) and feedback, which no classmate may read."""
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.lstat(out).st_uid == os.geteuid():
        os.chmod(out, 0o700)


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# -- one student's directory -------------------------------------------------------------------

def write_student(directory: Path, result: StudentResult, *, error_text: str = "",
                  formats: Sequence[str] = (), verbose: bool = False) -> None:
    """Every per-student file, status.json last."""
    run = result.run
    assert run is not None
    files = {
        "result.json": renderer("json")(run),
        "feedback.txt": renderer("terminal")(run, color=False, verbose=verbose, student=True),
        # make's output is the student's text too: escaped like every report, so `cat` is safe.
        "build.log": visible(run.build.log).encode("utf-8", "replace"),
        "results.json": renderer("gradescope")(run),
    }
    for fmt in formats:
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


def staging_root(out: Path) -> Path:
    """Our scratch directory in --out; leftovers of dead batches on this host are removed."""
    host = socket.gethostname()
    for old in out.glob(f".staging-{host}-*"):
        pid = old.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)
    root = out / f".staging-{host}-{os.getpid()}"
    root.mkdir(mode=0o700)
    return root


# -- the whole directory -----------------------------------------------------------------------

def results_in(out: Path, names: Optional[set[str]] = None) -> list[StudentResult]:
    """The complete student results in `out` (only `names`, when given), by name."""
    results = []
    for d in sorted(out.iterdir(), key=lambda p: p.name) if out.is_dir() else []:
        if d.is_dir() and not d.name.startswith(".") and (names is None or d.name in names):
            result = read_student(d)
            if result is not None:
                results.append(result)
    return results


def save_settings(out: Path, assignment: Assignment, formats: Sequence[str]) -> None:
    atomic_write(out / SETTINGS_FILE, dumps({"assignment": assignment.id,
                                             "formats": list(formats)}))


def saved_settings(out: Path) -> dict[str, Any]:
    """The settings an earlier batch into `out` recorded (empty when there are none)."""
    try:
        data = json.loads((out / SETTINGS_FILE).read_bytes())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def read_interop(out: Path) -> dict[tuple[str, str], str]:
    """The interop matrix of an earlier run: interop.json (names as they are), else the CSV."""
    try:
        return json_report.read_interop((out / "interop.json").read_bytes())
    except FileNotFoundError:
        pass
    except (OSError, ValueError, TypeError):
        return {}
    try:
        return csv_report.read_interop((out / "interop.csv").read_bytes())
    except (OSError, ValueError):
        return {}


def forget_interop(out: Path) -> None:
    """Remove an earlier interop matrix (a new one replaces it)."""
    for name in ("interop.csv", "interop.json"):
        (out / name).unlink(missing_ok=True)


def summarize(assignment: Assignment, results: list[StudentResult],
              interop: dict[tuple[str, str], str], viewed: Optional[bool] = None,
              euid: Optional[int] = None) -> Batch:
    """The Batch the summaries show: columns in the manifest's order, then any other check;
    first, a warning when the results are not tamper-proof (`viewed`, `euid`: how this
    grader ran, where known; the students' notes say how theirs did)."""
    runs = [r.run for r in results if r.run is not None and r.run.checks]
    seen: list[str] = []
    for run in runs:
        seen += [c.id for c in run.checks if c.id not in seen]
    ordered = [cid for cid in assignment.points if cid in seen] if runs else list(assignment.points)
    ordered += [cid for cid in seen if cid not in ordered]
    max_score = max((run.max_score for run in runs), default=assignment.max_score)
    names = {r.student for r in results}
    pairs = {pair: outcome for pair, outcome in interop.items() if set(pair) <= names}
    from ..containment.contain import tamper_warning
    warning = tamper_warning([n for run in runs for n in run.notes], viewed, euid)
    return Batch(assignment.id, list(results), max_score, ordered, pairs,
                 [warning] if warning else [])


def write_summaries(out: Path, batch: Batch) -> None:
    atomic_write(out / "summary.csv", renderer("csv")(batch))
    atomic_write(out / "report.html", renderer("html")(batch))
    if batch.interop:
        atomic_write(out / "interop.csv", renderer("interop")(batch))
        atomic_write(out / "interop.json", renderer("interop-json")(batch))


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
        found = results_in(d)
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
    private_dir(out)
    staging = staging_root(out)
    try:
        for name, source in sorted(chosen.items()):
            if source.resolve() == (out / name).resolve():
                continue
            tmp = staging / "copy"
            shutil.copytree(source, tmp, symlinks=True)
            install(tmp, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    batch = summarize(assignment, results_in(out), read_interop(out))
    write_summaries(out, batch)
    sys.stdout.write(f"{assignment.id}: merged {len(chosen)} students into {out}\n")
    return EXIT_OK
