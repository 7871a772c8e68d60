"""`grade export autolab|github-classroom|codegrade`: each bundle's entrypoint run the way its
platform runs it, in a simulated layout on this machine (not the real service), for a correct
handin (full marks), a buggy one (some points, not all) and one that does not compile (0).

The platform's image or set-up stage is stood in for by a venv with the exported wheel
installed (test_platforms.image_venv): bound at VENV for Autolab, whose run.sh looks there;
named through the variables the exported scripts read for GitHub Classroom and CodeGrade.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.frontend.export import VENV
from support import ROOT, run_grade
from test_platforms import GOOD, broken_handin, image_venv, in_namespace, needs_root_namespaces

BUGGY = ROOT / "examples" / "asgn5" / "buggy"
FULL = 60
pytestmark = pytest.mark.slow


def handins(tmp_path: Path) -> dict[str, Path]:
    return {"good": GOOD, "buggy": BUGGY, "broken": broken_handin(tmp_path)}


def exported(platform: str, out: Path) -> Path:
    done = run_grade("export", platform, "asgn5", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def check_scores(scores: dict[str, float], maximum: float) -> None:
    assert maximum == FULL
    assert scores["good"] == FULL, scores
    assert 0 < scores["buggy"] < FULL, scores
    assert scores["broken"] == 0, scores


# -- Autolab ------------------------------------------------------------------------------------

@needs_root_namespaces
def test_autolab_make_in_its_layout(tmp_path):
    """As Tango runs it: autograde-Makefile (as Makefile), autograde.tar and the handin (a
    tar) in one directory, `make` there, the autoresult on stdout's last line."""
    out = exported("autolab", tmp_path / "export")
    wheel_dir = tmp_path / "unpacked"
    with tarfile.open(out / "autograde.tar") as tar:
        tar.extractall(wheel_dir)
    wheel = next((wheel_dir / "socket_grader").glob("*.whl"))
    binds = {VENV: image_venv(tmp_path, wheel)}
    scores, problems = {}, {}
    for name, handin in handins(tmp_path).items():
        job = tmp_path / f"job-{name}"
        job.mkdir()
        shutil.copy(out / "autograde-Makefile", job / "Makefile")
        shutil.copy(out / "autograde.tar", job / "autograde.tar")
        with tarfile.open(job / "handin.tar", "w") as tar:
            for f in sorted(handin.iterdir()):
                tar.add(f, arcname=f.name)
        done = in_namespace(job, str(job), f"cd {job} && make", binds)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert "not in the image" not in done.stdout
        lines = done.stdout.strip().splitlines()
        result = json.loads(lines[-1])
        feedback = json.loads(lines[-2])
        assert feedback["_presentation"] == "semantic"
        points = result["scores"]
        assert result["scoreboard"] == [sum(points.values()), *points.values()]
        scores[name] = sum(points.values())
        problems[name] = set(points)
        if name == "broken":
            assert feedback["Build"]["make"]["passed"] is False
    listed = (out / "README.txt").read_text()
    maxima = dict(re.findall(r"(\w+) \((\d+)\)", listed.split("scores:")[1]))
    assert problems["good"] == problems["broken"] == set(maxima)
    check_scores(scores, sum(int(v) for v in maxima.values()))


# -- GitHub Classroom -----------------------------------------------------------------------

def workflow_steps(text: str) -> list[dict[str, str]]:
    """The steps of the exported workflow: name, id, `run` script (ours, so its layout is known)."""
    steps = []
    for block in text.split("\n      - name: ")[1:]:
        step = {"name": block.splitlines()[0].strip('"')}
        m = re.search(r"^        id: (\S+)$", block, re.M)
        step["id"] = m.group(1) if m else ""
        m = re.search(r"^        run: \|\n((?:          .*\n?)+)", block, re.M)
        step["run"] = "".join(line[10:] + "\n" for line in m.group(1).splitlines()) if m else ""
        m = re.search(r"^          runners: (\S+)$", block, re.M)
        step["runners"] = m.group(1) if m else ""
        steps.append(step)
    return steps


def reporter_points(results: dict[str, str], runners: list[str]) -> tuple[float, float]:
    """What the reporter sends Classroom: each runner's base64 result, tests' scores summed."""
    score = maximum = 0.0
    for rid in runners:
        data = json.loads(base64.b64decode(results[rid]))
        assert data["version"] == 1 and data["status"] in ("pass", "fail", "error")
        earned = sum(t["score"] for t in data["tests"])
        passed = sum(t["status"] == "pass" for t in data["tests"])
        if data["max_score"]:
            # the reporter's table (passed tests over all, times max_score) agrees
            assert passed / len(data["tests"]) * data["max_score"] == earned
        score += earned
        maximum += data["max_score"]
    return score, maximum


def test_github_classroom_workflow_steps(tmp_path):
    """The workflow's Grade step and each check's step run as the runner runs them (sudo and
    the install step stood in for), their `result` outputs decoded as the reporter does."""
    out = exported("github-classroom", tmp_path / "export")
    text = (out / ".github" / "workflows" / "classroom.yml").read_text()
    steps = workflow_steps(text)
    grade = next(s for s in steps if s["id"] == "grade")
    reporter = next(s for s in steps if s["runners"])
    runners = reporter["runners"].split(",")
    assert {s["id"] for s in steps} >= set(runners)
    wheel = next((out / ".github" / "socket-grader").glob("*.whl"))
    venv = image_venv(tmp_path, wheel)
    scores, maxima = {}, set()
    for name, handin in handins(tmp_path).items():
        workspace = tmp_path / f"ws-{name}"
        shutil.copytree(handin, workspace)
        shutil.copytree(out / ".github", workspace / ".github")
        temp = tmp_path / f"runner-temp-{name}"
        temp.mkdir()
        env = dict(os.environ, GRADER_VENV=str(venv), GITHUB_WORKSPACE=str(workspace),
                   RUNNER_TEMP=str(temp), GITHUB_OUTPUT=str(temp / "grade.out"), NO_COLOR="1")
        script = grade["run"].replace("sudo --preserve-env=GITHUB_OUTPUT ", "")
        assert "sudo" not in script
        done = subprocess.run(["bash", "-e", "-c", script], cwd=workspace, env=env,
                              capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        grade_out = dict(line.split("=", 1) for line in
                         (temp / "grade.out").read_text().splitlines())
        results = {}
        for rid in runners:
            step = next(s for s in steps if s["id"] == rid)
            run = re.sub(r"\$\{\{ steps\.grade\.outputs\.(\w+) \}\}",
                         lambda m: grade_out.get(m.group(1), ""), step["run"])
            env["GITHUB_OUTPUT"] = str(temp / f"{rid}.out")
            subprocess.run(["bash", "-e", "-c", run], env=env, check=True, timeout=30)
            key, value = (temp / f"{rid}.out").read_text().strip().split("=", 1)
            assert key == "result"
            results[rid] = value
        scores[name], maximum = reporter_points(results, runners)
        maxima.add(maximum)
    assert len(maxima) == 1
    check_scores(scores, maxima.pop())


def test_github_classroom_step_without_a_result_costs_its_points(tmp_path):
    """A check's step whose grading never reported still counts its points, as an error."""
    out = exported("github-classroom", tmp_path / "export")
    steps = workflow_steps((out / ".github" / "workflows" / "classroom.yml").read_text())
    runners = next(s for s in steps if s["runners"])["runners"].split(",")
    results = {}
    for rid in runners:
        step = next(s for s in steps if s["id"] == rid)
        run = re.sub(r"\$\{\{ steps\.grade\.outputs\.\w+ \}\}", "", step["run"])
        output = tmp_path / f"{rid}.out"
        subprocess.run(["bash", "-e", "-c", run], env=dict(os.environ, GITHUB_OUTPUT=str(output)),
                       check=True, timeout=30)
        results[rid] = output.read_text().strip().split("=", 1)[1]
    assert reporter_points(results, runners) == (0, FULL)
    data = json.loads(base64.b64decode(results[runners[1]]))
    assert data["status"] == "error" and "did not run" in data["tests"][0]["message"]


# -- CodeGrade ----------------------------------------------------------------------------------

def junit_fraction(path: Path) -> float:
    """CodeGrade's JUnit step score: passed testcases over all testcases."""
    cases = ET.parse(path).getroot().iter("testcase")
    outcomes = [not any(child.tag in ("failure", "error", "skipped") for child in case)
                for case in cases]
    assert outcomes
    return sum(outcomes) / len(outcomes)


def test_codegrade_junit_step(tmp_path):
    """As the Tests stage's JUnit step runs it: run.sh from $UPLOADED_FILES, in the student's
    directory, writing $CG_JUNIT_XML_LOCATION (the set-up stage's venv stood in for)."""
    out = exported("codegrade", tmp_path / "uploaded")
    wheel = next((out / "socket_grader").glob("*.whl"))
    venv = image_venv(tmp_path, wheel)
    scores = {}
    for name, handin in handins(tmp_path).items():
        student = tmp_path / f"student-{name}"
        shutil.copytree(handin, student)
        xml = tmp_path / f"{name}.xml"
        env = dict(os.environ, UPLOADED_FILES=str(out), CG_JUNIT_XML_LOCATION=str(xml),
                   SOCKET_GRADER_VENV=str(venv), NO_COLOR="1")
        done = subprocess.run(["bash", str(out / "socket_grader" / "run.sh")], cwd=student,
                              env=env, capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        scores[name] = junit_fraction(xml) * FULL
        if name == "broken":
            assert "undefined_name" in xml.read_text()
    check_scores({k: round(v, 6) for k, v in scores.items()}, FULL)
