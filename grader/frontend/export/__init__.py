"""`grade export`: autograders for the platforms courses grade on: Gradescope, PrairieLearn,
Autolab, GitHub Classroom and CodeGrade.

Each carries this grader as a wheel built here (no network needed to export), a small shell
entrypoint, and `grader.frontend.export.autograde`, which grades the platform's submission folder and
always leaves the platform's results: the full results, score 0 with the compiler's output on
a failed build, or a plain message when the grader itself failed. Where the platform runs us
as root in a container that cannot make namespaces, the set-up makes the grader's own files
root-only (student programs never run as root, so they cannot read the reference solution),
and every entrypoint runs Python isolated (`-I`) from a directory of ours, so no file of the
submission is ever imported. How to upload and what students see: docs/platforms.md.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import zipfile
from pathlib import Path
from typing import Optional

from ...harness.assignments import Assignment
from ...harness.results import version

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("grader", "reference", "cases")
DATA_SUFFIXES = (".py", ".c", ".h", ".toml", ".ini")

GRADESCOPE_LIMIT = 600.0          # Gradescope's default autograder timeout (10 minutes)
PRAIRIELEARN_LIMIT = 30.0         # PrairieLearn's default externalGradingOptions.timeout
AUTOLAB_LIMIT = 180.0             # a timeout to set in Autolab (its default, 180 s)
CLASSROOM_LIMIT = 600.0           # the workflow's time for grading (timeout-minutes above it)
CODEGRADE_LIMIT = 300.0           # a JUnit step timeout to set in CodeGrade
VENV = "/opt/socket-grader"       # where an image built from our Dockerfile has the grader
# The image built from the exported Dockerfile; push it under your organisation and export
# again with --image ORG/socket-grader:VERSION (PrairieLearn pulls images from Docker Hub).
PRAIRIELEARN_IMAGE = f"socket-grader:{version()}"
# Debian/Ubuntu packages a grading needs: a compiler and make for the handin, the ncurses
# headers for the talk library, `ip` for network namespaces, terminfo for the windowed check.
APT_PACKAGES = ("gcc", "make", "libncurses-dev", "iproute2", "ncurses-term",
                "python3", "python3-venv", "python3-pip")
DEPENDENCIES = ("pytest>=8", "pexpect>=4.8", "psutil>=5.9", "pyte>=0.8", "rich>=13",
                'tomli>=1.1; python_version < "3.11"')


def budget_for(limit: float) -> float:
    """The grading budget for a platform time limit: room left for set-up and the results."""
    return round(max(limit - max(20.0, 0.15 * limit), limit * 0.5), 1)


# -- the wheel ---------------------------------------------------------------------------------

def _package_files() -> list[tuple[str, Path]]:
    files = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*")):
            rel = path.relative_to(ROOT)
            if path.is_file() and path.suffix in DATA_SUFFIXES and "__pycache__" not in rel.parts:
                files.append((rel.as_posix(), path))
    return files


def _requirements() -> list[str]:
    """The dependencies pyproject.toml names (this checkout's), else the installed copy's."""
    from ...harness.assignments import tomllib
    pyproject = ROOT / "pyproject.toml"
    if pyproject.is_file():
        with open(pyproject, "rb") as f:
            return list(tomllib.load(f)["project"]["dependencies"])
    return list(DEPENDENCIES)


def build_wheel(directory: Path) -> Path:
    """A wheel of this grader (pure Python; the launcher is compiled on first use)."""
    name, ver = "socket_grader", version()
    info = f"{name}-{ver}.dist-info"
    requires = "".join(f"Requires-Dist: {r}\n" for r in _requirements())
    metadata = (f"Metadata-Version: 2.1\nName: socket-grader\nVersion: {ver}\n"
                "Summary: Grades socket-programming assignments against reference peers\n"
                f"Requires-Python: >=3.9\n{requires}")
    generated = {
        f"{info}/METADATA": metadata.encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: socket-grader export\n"
                         b"Root-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/entry_points.txt": b"[console_scripts]\ngrade = grader.frontend.cli:main\n\n"
                                    b"[pytest11]\ngrader = grader.harness.plugin\n",
        f"{info}/top_level.txt": "\n".join(PACKAGES).encode() + b"\n",
    }
    record = []
    path = directory / f"{name}-{ver}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as whl:
        entries = [(arc, p.read_bytes()) for arc, p in _package_files()] + list(generated.items())
        for arc, data in entries:
            whl.writestr(_info(arc, 0o644), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{arc},sha256={digest.decode()},{len(data)}")
        record.append(f"{info}/RECORD,,")
        whl.writestr(_info(f"{info}/RECORD", 0o644), "\n".join(record) + "\n")
    return path


def _info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


# -- Gradescope --------------------------------------------------------------------------------

GRADESCOPE_SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, in /autograder/source on its Ubuntu base image, to build
# the autograder's image: system packages from the distribution, the grader from the wheel in
# this zip (its dependencies from PyPI) into a virtual environment, then the launcher and the
# talk library, so that no submission pays for building them. Gradescope's container cannot
# make namespaces, so `grade prepare-image` writes into the image what a private view would
# show: the course account pn-cs357 with the talk library, names for the leased uids. Last,
# the grader's files are made root-only: student programs run as other users and must not
# read the reference.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends {apt}
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install -q --disable-pip-version-check ./{wheel}
cd /
/autograder/venv/bin/python -I -m grader.frontend.export.autograde prepare
/autograder/venv/bin/python -I -m grader prepare-image
chmod -R go-rwx /autograder/source /autograder/venv
chmod go-rwx /autograder
/autograder/venv/bin/grade --version
"""

GRADESCOPE_RUN = """#!/usr/bin/env bash
# Gradescope runs this from /autograder for every submission. It grades the handin in
# /autograder/submission within a budget below the time limit and always leaves
# /autograder/results/results.json: the results (rewritten after every check, so a timeout
# keeps what was graded), score 0 with the compiler's output, or a message that the grader
# itself failed. Python runs isolated (-I) from a directory of ours: nothing in the
# submission can be imported.
STARTED="$(date +%s.%N)"
RESULTS=/autograder/results/results.json
mkdir -p /autograder/results
cd /autograder/source 2>/dev/null || cd /
/autograder/venv/bin/python -I -m grader.frontend.export.autograde gradescope {assignment} \\
    --submission /autograder/submission --results "$RESULTS" --budget {budget} \\
    --started "$STARTED"
if [ ! -s "$RESULTS" ]; then
    printf '%s\\n' '{{"score": 0, "execution_time": 0, "output": "The autograder itself failed before it could grade this submission: please tell your instructor (your score is not final).", "output_format": "text", "visibility": "visible", "tests": []}}' > "$RESULTS"
fi
exit 0
"""


def gradescope_zip(assignment: Assignment, out: Path, limit: Optional[float] = None) -> Path:
    """The autograder zip: setup.sh, run_autograder, the wheel, a README for the TA."""
    import tempfile
    limit = limit or GRADESCOPE_LIMIT
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp))
        files = {
            "setup.sh": (GRADESCOPE_SETUP.format(apt=" ".join(APT_PACKAGES), wheel=wheel.name),
                         0o755),
            "run_autograder": (GRADESCOPE_RUN.format(assignment=assignment.id,
                                                     budget=f"{budget_for(limit):g}"), 0o755),
            "README.txt": (f"Gradescope autograder for {assignment.id} ({assignment.title}), "
                           f"socket-grader {version()}.\nUpload this zip as the assignment's "
                           f"autograder; set the time limit to at least {limit:g} s.\n"
                           "See docs/platforms.md in socket-grader.\n", 0o644),
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp_out = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        with zipfile.ZipFile(tmp_out, "w", zipfile.ZIP_DEFLATED) as z:
            for name, (text, mode) in files.items():
                z.writestr(_info(name, mode), text)
            z.write(wheel, wheel.name)
        os.replace(tmp_out, out)
    return out


# -- PrairieLearn ------------------------------------------------------------------------------

PL_DIR = "socket_grader"          # under serverFilesCourse/

PRAIRIELEARN_RUN = """#!/usr/bin/env bash
# PrairieLearn's external grader runs this, as root, in the image named in info.json, with the
# course's serverFilesCourse/{pl} at /grade/serverFilesCourse/{pl}, the student's files in
# /grade/student, and reads /grade/results/results.json afterwards. The grader's files are
# made root-only first (student programs run as other users); Python runs isolated (-I) from
# a directory of ours, so nothing in /grade/student can be imported. The budget counts from
# this script's first line: time spent installing the grader comes out of it.
STARTED="$(date +%s.%N)"
HERE="$(cd "$(dirname "$0")" && pwd)"
RESULTS=/grade/results/results.json
mkdir -p /grade/results
# Only what is not root-only yet: the image's venv already is, and a chmod of every file in
# an image layer would copy each one up (20 s of the limit in Docker's overlay storage).
find /grade/serverFilesCourse /grade/tests /grade/data {venv} ! -type l -perm /077 \\
    -exec chmod go-rwx {{}} + 2>/dev/null
WORK="$(mktemp -d)" && cd "$WORK" || cd /
PY=""
for candidate in {venv}/bin/python "$HERE/venv/bin/python"; do
    if [ -x "$candidate" ] && "$candidate" -I -c "import grader.frontend.export.autograde" 2>/dev/null; then
        PY="$candidate"; break
    fi
done
if [ -z "$PY" ] && command -v python3 >/dev/null; then
    # Not in the image: install the wheel shipped beside this script (needs enableNetworking,
    # or an image with the dependencies). This costs time out of every submission's limit.
    BEGAN=$SECONDS
    python3 -m venv "$HERE/venv" >/dev/null 2>&1 \\
        && "$HERE/venv/bin/python" -m pip install -q --disable-pip-version-check "$HERE"/*.whl >/dev/null 2>&1 \\
        && chmod -R go-rwx "$HERE/venv" && PY="$HERE/venv/bin/python"
    echo "socket-grader is not in the image ({venv}): installing it took $((SECONDS - BEGAN)) s of this submission's {limit} s limit; build the image from the exported Dockerfile to save that time."
fi
if [ -n "$PY" ]; then
    "$PY" -I -m grader.frontend.export.autograde prairielearn {assignment} \\
        --submission /grade/student --results "$RESULTS" --budget {budget} --started "$STARTED"
fi
if [ ! -s "$RESULTS" ]; then
    printf '%s\\n' '{{"gradable": false, "score": 0, "message": "The autograder itself failed before it could grade this submission: it was not graded and your attempt is not used up. Please tell your instructor.", "output": "", "format_errors": ["The autograder itself failed: tell your instructor."], "tests": []}}' > "$RESULTS"
fi
exit 0
"""

PRAIRIELEARN_DOCKERFILE = """# An image with everything the grader needs, for externalGradingOptions.image; the launcher
# and the talk library are built here, once; `grade prepare-image` adds the course account
# and the leased uids' names (no private view can be made there); the grader's files are
# root-only.
# docker build -t YOURORG/socket-grader:{version} . && docker push YOURORG/socket-grader:{version}
FROM ubuntu:22.04
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \\
        --no-install-recommends {apt} && rm -rf /var/lib/apt/lists/*
COPY {wheel} /tmp/
RUN python3 -m venv {venv} \\
    && {venv}/bin/python -m pip install -q /tmp/{wheel} && rm /tmp/{wheel} \\
    && cd / && {venv}/bin/python -I -m grader.frontend.export.autograde prepare \\
    && {venv}/bin/python -I -m grader prepare-image \\
    && chmod -R go-rwx {venv} /root
"""


def prairielearn_dir(assignment: Assignment, out: Path, limit: Optional[float] = None,
                     image: str = PRAIRIELEARN_IMAGE) -> Path:
    """info.json with externalGradingOptions, and serverFilesCourse/socket_grader/."""
    limit = limit or PRAIRIELEARN_LIMIT
    files_dir = out / "serverFilesCourse" / PL_DIR
    files_dir.mkdir(parents=True, exist_ok=True)
    for old in files_dir.glob("*.whl"):
        old.unlink()
    wheel = build_wheel(files_dir)
    run = files_dir / "run.sh"
    run.write_text(PRAIRIELEARN_RUN.format(pl=PL_DIR, assignment=assignment.id, venv=VENV,
                                           budget=f"{budget_for(limit):g}", limit=f"{limit:g}"))
    run.chmod(0o755)
    (files_dir / "Dockerfile").write_text(dockerfile(wheel.name))
    info = {
        "uuid": _uuid(assignment),
        "title": f"{assignment.title} (autograded)",
        "topic": "Sockets",
        "tags": ["socket-grader", assignment.id],
        "type": "v3",
        "singleVariant": True,
        "gradingMethod": "External",
        "externalGradingOptions": {
            "enabled": True,
            "image": image,
            "serverFilesCourse": [f"{PL_DIR}/"],
            "entrypoint": f"/grade/serverFilesCourse/{PL_DIR}/run.sh",
            "timeout": int(limit),
        },
    }
    (out / "info.json").write_text(json.dumps(info, indent=2) + "\n")
    return out


def dockerfile(wheel: str) -> str:
    """An image with the grader in VENV, built and locked down (PrairieLearn, Autolab)."""
    return PRAIRIELEARN_DOCKERFILE.format(version=version(), apt=" ".join(APT_PACKAGES),
                                          wheel=wheel, venv=VENV)


def _uuid(assignment: Assignment) -> str:
    """A stable UUID per assignment, so exporting again does not make a new question."""
    import uuid
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"socket-grader:{assignment.id}"))
