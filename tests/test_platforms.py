"""`grade export`: each platform's autograder run in that platform's own layout, on this machine.

A private mount namespace (`unshare -m`, as root) binds a scratch directory at /autograder
(Gradescope) or /grade (PrairieLearn), so the exported scripts run with the very paths the
platform gives them. Gradescope's setup.sh runs for real (apt stood in for); PrairieLearn's
image is stood in for by a venv with the exported wheel installed, bound at the path the
exported Dockerfile installs to.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Optional

import pytest

import nonamespace
from grader.frontend.export import VENV

from support import ROOT, catalog, run_grade

GOOD = ROOT / "examples" / "asgn5" / "good"
needs_root_namespaces = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="binding /autograder or /grade needs root and unshare -m")


def broken_handin(tmp_path: Path) -> Path:
    d = tmp_path / "broken"
    shutil.copytree(GOOD, d)
    with open(d / "chat.c", "a") as f:
        f.write("\nint broken(void) { return undefined_name }\n")
    return d


def image_venv(tmp_path: Path, wheel: Path) -> Path:
    """A virtual environment as the exported Dockerfile builds it at VENV: the wheel installed
    for real (without its dependencies: no network here), which come from this checkout's
    environment through a .pth file. Bind it at VENV to run an entrypoint as in the image."""
    import sysconfig
    venv = tmp_path / "image-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    found = sorted(venv.glob("lib/python*/site-packages"))
    assert found, "the venv has no site-packages"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--disable-pip-version-check", "--no-index", "--target", str(found[0]),
                    str(wheel)], check=True)
    (found[0] / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def image_etc(tmp_path: Path) -> dict[str, Path]:
    """Copies of /etc/passwd and /etc/group and an empty /home, to bind where an image's
    set-up runs: `grade prepare-image` changes them, and must not change this machine's."""
    etc = tmp_path / "image-etc"
    etc.mkdir()
    for name in ("passwd", "group"):
        shutil.copy(f"/etc/{name}", etc / name)
    (tmp_path / "image-home").mkdir(mode=0o755)
    return {"/etc/passwd": etc / "passwd", "/etc/group": etc / "group",
            "/home": tmp_path / "image-home"}


def in_namespace(scratch: Path, mountpoint: str, command: str,
                 binds: Optional[dict[str, Path]] = None) -> subprocess.CompletedProcess:
    """Run `command` with scratch bound at mountpoint (and each of binds: mountpoint -> dir),
    in a mount namespace of its own."""
    mounts = {mountpoint: scratch, **(binds or {})}
    created = [m for m in mounts if not os.path.exists(m)]
    for m in created:
        os.makedirs(m)
    try:
        script = "mount --make-rprivate / && " + "".join(
            f"mount --bind {source} {target} && " for target, source in mounts.items())
        return subprocess.run(["unshare", "-m", "sh", "-c", script + command],
                              capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL, env=dict(os.environ, NO_COLOR="1"))
    finally:
        for m in reversed(created):
            try:
                os.rmdir(m)
            except OSError:
                pass


def test_export_refuses_a_bad_out(tmp_path):
    done = run_grade("export", "gradescope", "asgn5", "--out", str(tmp_path / "x.tar"))
    assert done.returncode == 2 and ".zip" in done.stderr
    (tmp_path / "d.zip").mkdir()
    done = run_grade("export", "gradescope", "asgn5", "--out", str(tmp_path / "d.zip"))
    assert done.returncode == 2 and "directory" in done.stderr
    done = run_grade("export", "prairielearn", "asgn55", "--out", str(tmp_path / "pl"))
    assert done.returncode == 2 and "did you mean asgn5" in done.stderr


@pytest.mark.slow
def test_gradescope_zip_contents_and_wheel_installs(tmp_path):
    zip_path = tmp_path / "autograder.zip"
    done = run_grade("export", "gradescope", "asgn5", "--out", str(zip_path))
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(zip_path) as z:
        names = set(z.namelist())
        setup = z.read("setup.sh").decode()
        run = z.read("run_autograder").decode()
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in z.infolist()}
        z.extractall(tmp_path / "source")
    wheel = next(n for n in names if n.endswith(".whl"))
    assert {"setup.sh", "run_autograder"} <= names
    assert modes["setup.sh"] & 0o100 and modes["run_autograder"] & 0o100
    for package in ("gcc", "make", "libncurses-dev", "iproute2", "python3-venv"):
        assert package in setup
    assert "python3 -m venv /autograder/venv" in setup and f"./{wheel}" in setup
    assert "/autograder/submission" in run and "/autograder/results/results.json" in run
    assert "--budget 510" in run             # below Gradescope's default 600 s limit
    for script in ("setup.sh", "run_autograder"):
        subprocess.run(["bash", "-n", str(tmp_path / "source" / script)], check=True)
    # The wheel installs (without its dependencies: no network here) and holds the cases.
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--disable-pip-version-check", "--target", str(target),
                    str(tmp_path / "source" / wheel)], check=True)
    assert (target / "cases" / "asgn5" / "manifest.toml").is_file()
    assert (target / "grader" / "containment" / "launcher.c").is_file()
    assert (target / "reference" / "talk" / "talk.c").is_file()
    assert (target / "grader" / "frontend" / "export" / "autograde.py").is_file()


@needs_root_namespaces
@pytest.mark.slow
def test_gradescope_autograder_in_its_layout(tmp_path):
    """As Gradescope runs it: the zip unpacked in /autograder/source, setup.sh run there (apt
    stood in for: its packages are recorded; the venv and the wheel's install are real), then
    run_autograder copied to /autograder and run from there, for a good and a broken handin."""
    zip_path = tmp_path / "autograder.zip"
    assert run_grade("export", "gradescope", "asgn5", "--out", str(zip_path)).returncode == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(root / "source")
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/apt.log\n')
    (fake / "apt-get").chmod(0o755)
    image = image_etc(tmp_path)      # setup.sh writes the image's /etc and /home, not ours
    done = in_namespace(root, "/autograder",
                        f"cd /autograder/source && PATH={fake}:$PATH bash ./setup.sh", image)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    apt = (tmp_path / "apt.log").read_text()
    for package in ("gcc", "make", "libncurses-dev", "iproute2", "python3-venv"):
        assert package in apt
    assert "grade (socket-grader)" in done.stdout
    # `grade prepare-image` ran: the course account and its talk library are in the image.
    assert "\npn-cs357:x:" in image["/etc/passwd"].read_text()
    assert (image["/home"] / "pn-cs357" / "Given" / "Talk" / "lib64" / "libtalk.a").is_file()
    results = {}
    for name, handin in (("good", GOOD), ("broken", broken_handin(tmp_path))):
        for d in ("submission", "results"):
            shutil.rmtree(root / d, ignore_errors=True)
        shutil.copytree(handin, root / "submission")
        (root / "results").mkdir()
        shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
        (root / "run_autograder").chmod(0o755)
        done = in_namespace(root, "/autograder", "cd /autograder && ./run_autograder")
        assert done.returncode == 0, done.stderr
        results[name] = json.loads((root / "results" / "results.json").read_text())
    good, broken = results["good"], results["broken"]
    planned = catalog("asgn5")
    assert good["score"] == planned.points and len(good["tests"]) == len(planned), good["output"]
    assert all(t["status"] == "passed" for t in good["tests"])
    assert broken["score"] == 0
    assert broken["tests"][0]["name"] == "Build"
    assert "undefined_name" in broken["tests"][0]["output"]
    assert "nobody" not in broken["output"] and "cgroup" not in good["output"]


@needs_root_namespaces
def test_gradescope_results_even_when_the_grader_cannot_start(tmp_path):
    root = tmp_path / "ag"
    zip_path = tmp_path / "autograder.zip"
    assert run_grade("export", "gradescope", "asgn5", "--out", str(zip_path)).returncode == 0
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(root / "source")
    shutil.copytree(GOOD, root / "submission")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)          # no venv: setup.sh "failed"
    done = in_namespace(root, "/autograder", "cd /autograder && ./run_autograder")
    assert done.returncode == 0
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["score"] == 0 and "autograder itself failed" in data["output"]


@needs_root_namespaces
@pytest.mark.slow
def test_prairielearn_entrypoint_in_its_layout(tmp_path):
    export = tmp_path / "export"
    done = run_grade("export", "prairielearn", "asgn5", "--out", str(export))
    assert done.returncode == 0, done.stderr
    info = json.loads((export / "info.json").read_text())
    options = info["externalGradingOptions"]
    assert options["enabled"] is True and options["timeout"] == 30
    assert options["serverFilesCourse"] == ["socket_grader/"]
    assert options["entrypoint"] == "/grade/serverFilesCourse/socket_grader/run.sh"
    assert info["gradingMethod"] == "External" and options["image"]
    results = {}
    root = tmp_path / "grade"
    shutil.copytree(export, root)
    wheel = next((export / "serverFilesCourse" / "socket_grader").glob("*.whl"))
    # The image built from the exported Dockerfile has the grader in VENV; run.sh finds it
    # there and installs nothing (which would cost most of the 30 s limit).
    binds = {VENV: image_venv(tmp_path, wheel)}
    for name, handin in (("good", GOOD), ("broken", broken_handin(tmp_path))):
        for d in ("student", "results"):
            shutil.rmtree(root / d, ignore_errors=True)
        shutil.copytree(handin, root / "student")
        (root / "results").mkdir()
        done = in_namespace(root, "/grade", options["entrypoint"], binds)
        assert done.returncode == 0, done.stderr
        assert "not in the image" not in done.stdout, done.stdout[-2000:]
        results[name] = json.loads((root / "results" / "results.json").read_text())
    good, broken = results["good"], results["broken"]
    assert good["gradable"] is True and good["score"] == 1
    assert good["points"] == catalog("asgn5").points
    assert broken["gradable"] is False and "undefined_name" in broken["output"]


def test_wheel_dependencies_match_pyproject():
    """An installed grader (no pyproject.toml beside it) exports the same requirements."""
    from grader.frontend import export
    assert sorted(export._requirements()) == sorted(export.DEPENDENCIES)


def test_budget_is_below_the_time_limit():
    from grader.frontend.export import budget_for
    for limit in (30, 60, 600, 2400):
        assert 0 < budget_for(limit) <= limit - 9


# ---- issue 16, points 1 and 8: PrairieLearn's grader files root-only, nothing imported ------

# A clever student's Makefile: the hidden solution from anywhere under /grade or the image's
# venv, as a file or out of the wheel; it says what it found in the build log.
HUNTER = """mytalk:
\t@r=$$(find /grade /opt/socket-grader -path '*/reference/mytalk.py' -readable 2>/dev/null \\
\t    | head -n 1); w=$$(find /grade /opt/socket-grader -name '*.whl' -readable 2>/dev/null \\
\t    | head -n 1); \\
\tif [ -n "$$r" ]; then t=$$(dirname $$(dirname $$r)); echo "found $$r"; \\
\telif [ -n "$$w" ] && python3 -m zipfile -e "$$w" s; then t=$$(pwd)/s; echo "found $$w"; \\
\telse echo "found nothing"; fi; \\
\tif [ -n "$$t" ]; then \\
\tprintf '#!/bin/sh\\nPYTHONPATH=%s exec python3 -m reference.mytalk "$$@"\\n' "$$t" >mytalk; \\
\telse printf '#!/bin/sh\\nexit 1\\n' > mytalk; fi; chmod 755 mytalk
"""
# Modules a submission plants for the entrypoint's Python to import instead of ours.
PLANTED = ("json.py", "sitecustomize.py", "usercustomize.py", "grader/__init__.py",
           "grader/frontend/export/__init__.py", "grader/frontend/export/autograde.py")


@needs_root_namespaces
@pytest.mark.slow
@pytest.mark.skipif(not nonamespace.supported(), reason="no seccomp filter for this machine")
def test_prairielearn_in_a_container_keeps_its_files_and_imports_nothing(tmp_path):
    """run.sh as PrairieLearn runs it, in a process that cannot unshare or mount (Docker's
    default profile): the grader's files under /grade and the image's venv become root-only,
    so a Makefile hunting the solution finds nothing and earns the usage points at most; and
    modules planted in /grade/student (PYTHONPATH pointing there too) are never imported."""
    export = tmp_path / "export"       # a limit far above the grading: this is not about time
    assert run_grade("export", "prairielearn", "asgn5", "--out", str(export),
                     "--time-limit", "300").returncode == 0
    entrypoint = json.loads((export / "info.json").read_text())["externalGradingOptions"][
        "entrypoint"]
    root = tmp_path / "grade"
    shutil.copytree(export, root)
    for d in ("tests", "data"):
        (root / d).mkdir()
        (root / d / "answer.txt").write_text("the course's own files\n")
    for d in [root, *root.rglob("*")]:
        d.chmod(0o755 if d.is_dir() else 0o644)
    (root / "serverFilesCourse" / "socket_grader" / "run.sh").chmod(0o755)
    wheel = next((export / "serverFilesCourse" / "socket_grader").glob("*.whl"))
    venv = image_venv(tmp_path, wheel)
    venv.chmod(0o755)
    marker = tmp_path / "imported"
    results = {}
    for name in ("hunter", "planted"):
        for d in ("student", "results"):
            shutil.rmtree(root / d, ignore_errors=True)
        (root / "results").mkdir()
        if name == "hunter":
            (root / "student").mkdir()
            (root / "student" / "Makefile").write_text(HUNTER)
        else:
            shutil.copytree(GOOD, root / "student")
            for rel in PLANTED:
                path = root / "student" / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(f"open({str(marker)!r}, 'a').write({rel!r} + '\\n')\n")
        command = " ".join(nonamespace.argv(entrypoint))
        done = in_namespace(root, "/grade", f"PYTHONPATH=/grade/student {command}",
                            {VENV: venv})
        assert done.returncode == 0, done.stderr[-3000:]
        results[name] = json.loads((root / "results" / "results.json").read_text())
    hunter = results["hunter"]
    usage = sum(t["max_points"] for t in hunter["tests"] if t["description"].startswith("usage"))
    assert hunter["points"] <= usage, [t["description"] for t in hunter["tests"] if t["points"]]
    for path in (root / "serverFilesCourse", root / "tests", root / "data", venv):
        assert path.stat().st_mode & 0o077 == 0, path
    assert not marker.exists(), marker.read_text()
    planted = results["planted"]
    assert planted["gradable"] is True and planted["points"] == 60, planted["output"]


@needs_root_namespaces
def test_prepare_image_writes_the_image_once(tmp_path):
    """`grade prepare-image` as an image's set-up runs it, with /etc/passwd and /etc/group
    bound in (files that cannot be renamed over): the course account, its talk library and a
    name for every leased uid; a second run finds nothing to do."""
    from grader.settings import Settings
    image = image_etc(tmp_path)
    before = image["/etc/passwd"].read_text()
    grade = f"{sys.executable} -I -m grader prepare-image"
    done = in_namespace(image["/home"], "/home", f"cd / && {grade} && {grade}",
                        {k: v for k, v in image.items() if k != "/home"})
    assert done.returncode == 0, done.stdout + done.stderr
    first, _, second = done.stdout.partition("named ")
    assert "added the course account pn-cs357" in first
    assert second.count("nothing to do") == 1, done.stdout
    passwd = image["/etc/passwd"].read_text()
    assert passwd.startswith(before)                  # the image's own accounts untouched
    settings = Settings()
    named = [line for line in passwd.splitlines()
             if line.startswith(f"{settings.sandbox_login}:x:")]
    assert len(named) == settings.sandbox_uid_count
    assert (image["/home"] / "pn-cs357" / "Given" / "Talk" / "include" / "talk.h").is_file()
