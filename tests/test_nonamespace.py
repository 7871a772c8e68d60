"""Full fidelity without namespaces (issue 18, point 1): the same handins get the same verdicts
in a container as on the full machine.

The container is tests/nonamespace.py: Docker's default capabilities and seccomp filter (no
unshare, mount or namespace), /sys/fs/cgroup read-only, and the /etc/passwd and /etc/group of
an image that `grade prepare-image` prepared (the course account with our talk library, names
for the leased uids), as the Gradescope and PrairieLearn bundles build theirs. The handins are
the three that used to lose points there: a client that takes its name from getlogin(), a
Makefile with ~pn-cs357 paths as prerequisites, and the lecture's tcp-server without
SO_REUSEADDR graded twice in a row (then tcp-client on the same fixed port).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator, Optional

import pytest

import nonamespace
from grader.frontend import image
from grader import settings
from support import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    os.geteuid() != 0 or not nonamespace.supported(),
    reason="needs root (an image's files are bound in) and a seccomp filter for this machine")]

# Written as a student in a hurry would: the course's paths, the recipe on one line.
GETLOGIN_MAKEFILE = ("mytalk: mytalk.c\n\tgcc -Wall -g -I ~pn-cs357/Given/Talk/include -o "
                     "mytalk mytalk.c -L ~pn-cs357/Given/Talk/lib64 -ltalk -lncurses\n")


@pytest.fixture(scope="module")
def prepared() -> Iterator[dict[str, Path]]:
    """An image's /etc/passwd and /etc/group after `grade prepare-image` (files to bind)."""
    base = Path(tempfile.mkdtemp(prefix="image-", dir="/var/tmp"))
    base.chmod(0o755)                # the course account's home must be open to every uid
    etc = base / "etc"
    etc.mkdir(mode=0o755)
    for name in ("passwd", "group"):
        shutil.copy(f"/etc/{name}", etc / name)
    done = image.prepare(settings.load(), etc=etc, home=base / "home" / "pn-cs357")
    assert any("course account" in line for line in done), done
    yield {"/etc/passwd": etc / "passwd", "/etc/group": etc / "group"}
    shutil.rmtree(base, ignore_errors=True)


def graded(where: str, assignment: str, target: Path, out: Path,
           binds: Optional[dict[str, Path]] = None) -> dict:
    """`grade ASSIGNMENT TARGET --json OUT` on the full machine or in the container."""
    command = [sys.executable, "-m", "grader", assignment, str(target), "--json", str(out)]
    if where == "container":
        command = nonamespace.argv(*command, binds=binds, readonly_cgroup=True)
    done = subprocess.run(command, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT),
                                                      NO_COLOR="1"),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert out.is_file(), done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(out.read_text())


def verdicts(result: dict) -> dict[str, str]:
    return {c["id"]: c["status"] for c in result["checks"]}


def handin(tmp_path: Path, name: str, source: Path, makefile: str) -> Path:
    d = tmp_path / name
    d.mkdir()
    shutil.copy(source, d / "mytalk.c")
    (d / "Makefile").write_text(makefile)
    return d


def assert_same_full_marks(full: dict, contained: dict) -> None:
    assert contained["build"]["status"] == "ok", contained["build"]["log"][-2000:]
    assert verdicts(contained) == verdicts(full)
    assert contained["score"] == full["score"] == full["max_score"], [
        (c["id"], c["message"][:300]) for c in contained["checks"] if c["status"] != "passed"]
    # The container really had no namespace, and the leased uid had the image's name.
    notes = contained["notes"]
    assert any(n.startswith("no private file-system view") for n in notes), notes
    assert f"student programs run as {settings.load().sandbox_login} (uid" in " ".join(notes)


def test_getlogin_and_course_paths_get_the_same_verdicts(tmp_path, prepared):
    cases = {
        "getlogin": handin(tmp_path, "getlogin", FIXTURES / "students" / "mytalk_getlogin.c",
                           GETLOGIN_MAKEFILE),
        "tilde_prereq": handin(tmp_path, "tilde_prereq", FIXTURES / "asgn5" / "mytalk.c",
                               (FIXTURES / "handins" / "tilde_prereq" / "Makefile").read_text()),
    }
    for name, d in cases.items():
        full = graded("full", "asgn5", d, tmp_path / f"{name}-full.json")
        contained = graded("container", "asgn5", d, tmp_path / f"{name}-container.json",
                           prepared)
        assert_same_full_marks(full, contained)
    # The prepared image is what makes ~pn-cs357 a directory: without it, make cannot expand
    # the prerequisite's path, and the same handin does not build.
    bare = graded("container", "asgn5", cases["tilde_prereq"], tmp_path / "bare.json")
    assert bare["build"]["status"] == "failed"
    assert "pn-cs357" in bare["build"]["log"]


def test_fixed_port_programs_graded_again_and_again(tmp_path, build_c, prepared):
    """Figure 91's tcp-server binds port 10000 without SO_REUSEADDR: graded twice in a row,
    then tcp-client (whose reference server binds the same port), in a container that shares
    the machine's network, every grading has full marks, as on the full machine."""
    server = build_c(["lecture/tcp_server.c"], defines=("NO_REUSEADDR",))
    client = build_c(["lecture/tcp_client.c"])
    runs = [("tcp-server", server), ("tcp-server", server), ("tcp-client", client)]
    results: dict[str, list[dict]] = {"full": [], "container": []}
    for where in results:
        for i, (assignment, program) in enumerate(runs):
            results[where].append(graded(where, assignment, program,
                                         tmp_path / f"{where}-{i}.json", prepared))
    for full, contained in zip(results["full"], results["container"]):
        assert verdicts(contained) == verdicts(full)
        assert contained["score"] == full["score"] == full["max_score"], [
            (c["id"], c["message"][:300]) for c in contained["checks"]
            if c["status"] != "passed"]
        assert not contained["error"]
