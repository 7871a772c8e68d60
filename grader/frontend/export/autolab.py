"""Autolab: an `autograde-Makefile` and an `autograde.tar` for a lab's autograder settings.

Autolab's Tango copies the two files (the Makefile as `Makefile`) and the student's handin
into one directory of a fresh container and runs `make` there, as its `autograde` user; what
make prints is the feedback and its last line the autoresult (grader.frontend.report.autolab). The
tar holds the wheel, the Dockerfile of an image with the grader built in, and `run.sh`, which
unpacks the handin (a tar, a zip or a single file) and runs the grader from that image, or
installs the wheel into a venv beside it when the image lacks it.
"""
from __future__ import annotations

import io
import os
import tarfile
import tempfile
from pathlib import Path
from typing import Optional

from ...harness.assignments import Assignment
from ..report import group_of, num
from . import AUTOLAB_LIMIT, VENV, budget_for, build_wheel, dockerfile

MAKEFILE = """# Autolab autograder for {assignment}: Autolab copies this file (as Makefile),
# autograde.tar and the student's handin into one directory and runs `make`. The output is
# the student's feedback; its last line is the score of each problem: {problems}.
all:
\t@tar xf autograde.tar
\t@sh socket_grader/run.sh
"""

RUN = """#!/bin/sh
# Unpack the handin (the one file Autolab put beside Makefile and autograde.tar) and grade it.
# Python runs isolated (-I) from a directory of ours: nothing in the handin can be imported.
STARTED="$(date +%s.%N)"
HERE="$(cd "$(dirname "$0")" && pwd)"
JOB="$(pwd)"
HANDIN=""
for f in "$JOB"/*; do
    case "$(basename "$f")" in Makefile|autograde.tar|socket_grader) ;; *) HANDIN="$f" ;; esac
done
SUBMISSION="$HERE/submission"
mkdir -p "$SUBMISSION"
case "$HANDIN" in
    "") ;;
    *.tar|*.tar.gz|*.tgz|*.tar.bz2|*.tar.xz) tar xf "$HANDIN" -C "$SUBMISSION" ;;
    *.zip) python3 -I -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$HANDIN" "$SUBMISSION" ;;
    *) cp "$HANDIN" "$SUBMISSION/" ;;
esac
PY=""
for candidate in {venv}/bin/python "$HERE/venv/bin/python"; do
    if [ -x "$candidate" ] && (cd / && "$candidate" -I -c "import grader.frontend.export.autograde") 2>/dev/null; then
        PY="$candidate"; break
    fi
done
if [ -z "$PY" ]; then
    BEGAN=$(date +%s)
    python3 -m venv "$HERE/venv" >/dev/null 2>&1 \\
        && "$HERE/venv/bin/python" -m pip install -q --disable-pip-version-check "$HERE"/*.whl >/dev/null 2>&1 \\
        && PY="$HERE/venv/bin/python"
    echo "socket-grader is not in the image ({venv}): installing it took $(( $(date +%s) - BEGAN )) s; build the image from socket_grader/Dockerfile to save that time."
fi
cd "$HERE"
if [ -n "$PY" ]; then
    exec "$PY" -I -m grader.frontend.export.autograde autolab {assignment} --submission "$SUBMISSION" \\
        --budget {budget} --started "$STARTED"
fi
echo "The autograder could not start: tell your instructor (this is not your score)."
echo '{{"scores": {zeros}}}'
"""


def problems(assignment: Assignment) -> dict[str, float]:
    """The lab's problems (one per check group) and their maximum points."""
    out: dict[str, float] = {}
    for check_id, points in assignment.points.items():
        out[group_of(check_id)] = out.get(group_of(check_id), 0) + points
    return out


def export(assignment: Assignment, out: Path, limit: Optional[float] = None) -> Path:
    """DIR/autograde-Makefile, DIR/autograde.tar and DIR/README.txt (the problems to create)."""
    import json
    limit = limit or AUTOLAB_LIMIT
    out.mkdir(parents=True, exist_ok=True)
    groups = problems(assignment)
    listed = ", ".join(f"{g} ({num(p)})" for g, p in groups.items())
    (out / "autograde-Makefile").write_text(MAKEFILE.format(assignment=assignment.id,
                                                            problems=listed))
    run = RUN.format(venv=VENV, assignment=assignment.id, budget=f"{budget_for(limit):g}",
                     zeros=json.dumps({g: 0 for g in groups}).replace("'", ""))
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp))
        tmp_tar = out / f".autograde.tar.{os.getpid()}.tmp"
        with tarfile.open(tmp_tar, "w") as tar:
            _add(tar, "socket_grader/run.sh", run.encode(), 0o755)
            _add(tar, "socket_grader/Dockerfile", dockerfile(wheel.name).encode(), 0o644)
            _add(tar, f"socket_grader/{wheel.name}", wheel.read_bytes(), 0o644)
        os.replace(tmp_tar, out / "autograde.tar")
    (out / "README.txt").write_text(
        f"Autolab autograder for {assignment.id} ({assignment.title}).\n"
        f"Create these problems, with these maximum scores: {listed}.\n"
        f"Upload autograde-Makefile and autograde.tar as the autograder; set the timeout to at "
        f"least {limit:g} s and the image to one built from socket_grader/Dockerfile "
        "(inside autograde.tar). See docs/platforms.md in socket-grader.\n")
    return out


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 1577836800
    tar.addfile(info, io.BytesIO(data))
