"""CodeGrade: files for an AutoTest v2 configuration that grades through a JUnit XML step.

CodeGrade's JUnit step runs a command in the student's directory and reads the JUnit XML file
at `$CG_JUNIT_XML_LOCATION`; its score is the passed testcases over all testcases, times the
step's weight. grader.frontend.report.junit.render_units writes one testcase per point, so that
fraction is the grader's score. `setup.sh` (the Setup stage) installs the grader; `run.sh`
(the Tests stage's JUnit step) grades the working directory.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

from ...harness.assignments import Assignment
from . import APT_PACKAGES, CODEGRADE_LIMIT, VENV, budget_for, build_wheel

DIR = "socket_grader"

SETUP = """#!/bin/sh
# CodeGrade AutoTest v2, Setup stage: `bash $UPLOADED_FILES/{dir}/setup.sh`. Installs the
# grader into {venv}, builds the launcher and the talk library, adds the course account and
# the leased uids' names to the image (`grade prepare-image`: no private view can be made in
# a container), and makes the grader root-only.
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends {apt}
$SUDO python3 -m venv "{venv}"
$SUDO "{venv}/bin/python" -m pip install -q --disable-pip-version-check "$HERE"/*.whl
cd / && $SUDO "{venv}/bin/python" -I -m grader.frontend.export.autograde prepare
$SUDO "{venv}/bin/python" -I -m grader prepare-image
$SUDO chmod -R go-rwx "{venv}"
"""

RUN = """#!/bin/sh
# CodeGrade AutoTest v2, Tests stage, JUnit XML step: `bash $UPLOADED_FILES/{dir}/run.sh`.
# Grades the working directory (the student's files) and writes $CG_JUNIT_XML_LOCATION.
# Python runs isolated (-I) from a directory of ours: nothing in the handin can be imported.
STARTED="$(date +%s.%N)"
SUBMISSION="$(pwd)"
VENV="${{SOCKET_GRADER_VENV:-{venv}}}"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo --preserve-env=CG_JUNIT_XML_LOCATION"
cd /
$SUDO "$VENV/bin/python" -I -m grader.frontend.export.autograde codegrade {assignment} \\
    --submission "$SUBMISSION" --results "$CG_JUNIT_XML_LOCATION" --budget {budget} \\
    --started "$STARTED"
[ "$(id -u)" = 0 ] || $SUDO chown "$(id -u)" "$CG_JUNIT_XML_LOCATION" 2>/dev/null
[ -s "$CG_JUNIT_XML_LOCATION" ] || printf '%s\\n' '<?xml version="1.0" encoding="utf-8"?>' \\
    '<testsuites><testsuite name="{assignment}" tests="1" failures="0" errors="1"><testcase name="grader"><error message="the autograder could not start: tell your instructor"/></testcase></testsuite></testsuites>' \\
    > "$CG_JUNIT_XML_LOCATION"
exit 0
"""


def export(assignment: Assignment, out: Path, limit: Optional[float] = None) -> Path:
    """DIR/socket_grader/{setup.sh, run.sh, the wheel, README.txt}, to upload as files."""
    limit = limit or CODEGRADE_LIMIT
    target = out / DIR
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.whl"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp))
        shutil.copy(wheel, target / wheel.name)
    for name, text in (("setup.sh", SETUP), ("run.sh", RUN)):
        path = target / name
        path.write_text(text.format(dir=DIR, venv=VENV, apt=" ".join(APT_PACKAGES),
                                    assignment=assignment.id, budget=f"{budget_for(limit):g}"))
        os.chmod(path, 0o755)
    (target / "README.txt").write_text(
        f"CodeGrade AutoTest v2 for {assignment.id} ({assignment.title}).\n"
        f"Setup stage: upload this folder, then run `bash $UPLOADED_FILES/{DIR}/setup.sh`.\n"
        f"Tests stage: a JUnit XML step running `bash $UPLOADED_FILES/{DIR}/run.sh`, "
        f"timeout at least {limit:g} s.\nSee docs/platforms.md in socket-grader.\n")
    return out
