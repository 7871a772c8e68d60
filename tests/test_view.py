"""The programs' view is an allow-list (issue 16, points 1 and 2): a handin that hunts for the
grader's reference, its cache, its virtual environment or its source finds none of them, and
cannot change what the grader runs. Each attack runs as root, as an ordinary user (`unshare
--user`, see test_containment) and in a process that cannot unshare or mount
(tests/nonamespace.py), where the grader must say plainly what is not protected.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nonamespace
from grader.containment import contain
from grader.harness import talklib
from support import FIXTURES, ROOT
from test_containment import USERS, grade_as, notes_of

SETTINGS = USERS + [pytest.param("nonamespace", marks=pytest.mark.skipif(
    not nonamespace.supported(), reason="no seccomp filter for this machine"))]

# Written as the clever student would: find the hidden solution anywhere it is readable.
WRAPPER = """mytalk:
\t@r=$$(find / -xdev \\( -path /proc -o -path /sys \\) -prune -o -path '*/reference/mytalk.py' \
-readable -print 2>/dev/null | head -n 1); \\
\tif [ -n "$$r" ]; then t=$$(dirname $$(dirname $$r)); \
printf '#!/bin/sh\\nPYTHONPATH=%s exec python3 -m reference.mytalk "$$@"\\n' "$$t" > mytalk; \\
\telse printf '#!/bin/sh\\nexit 1\\n' > mytalk; fi; chmod 755 mytalk
"""
TREASURE = [Path.home() / ".cache" / "socket-grader", Path(sys.prefix), Path("/root"),
            ROOT / "grader" / "harness" / "session.py", ROOT / "reference" / "mytalk.py"]
PLANTS = [ROOT / "grader" / "frontend" / "report" / "json_report.py",
          ROOT / "grader" / "containment" / "launcher.c"]


def grade_in(setting: str, *args: str) -> subprocess.CompletedProcess:
    if setting != "nonamespace":
        return grade_as(setting, *args)
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    return subprocess.run(nonamespace.argv(sys.executable, "-m", "grader", *args), cwd=ROOT,
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=300)


def _open_to_all(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        p.chmod(0o777 if p.is_dir() else 0o755)


@pytest.mark.slow
@pytest.mark.parametrize("setting", SETTINGS)
def test_a_makefile_wrapping_the_reference_earns_no_chat_points(setting, tmp_path):
    handin = tmp_path / "handin"
    handin.mkdir()
    (handin / "Makefile").write_text(WRAPPER)
    _open_to_all(tmp_path)
    out = tmp_path / "r.json"
    done = grade_in(setting, "asgn5", str(handin), "--json", str(out))
    assert done.returncode in (0, 1), done.stdout + done.stderr
    result = json.loads(out.read_text())
    usage = sum(c["max_points"] for c in result["checks"] if c["id"].startswith("usage"))
    if setting == "nonamespace" and os.geteuid() == 0:
        # No view: the checkout is world-readable here, and the grader says so; the wrapper's
        # exec of python3 is what fails it (issue 16, point 4).
        assert any("within reach of student programs" in n for n in notes_of(out))
        assert any(n.startswith("mytalk tried to start ") and "python3" in n
                   for n in notes_of(out)), notes_of(out)
    assert result["score"] <= usage, [c["id"] for c in result["checks"] if c["points"]]


@pytest.mark.parametrize("setting", SETTINGS)
def test_the_build_finds_the_talk_library_only_as_the_course_machine_does(setting, tmp_path):
    """Issue 17.5: with a view, a Makefile naming ~pn-cs357 builds and nothing else points the
    compiler at the library; without one (~pn-cs357 cannot be named), CPATH does, and the
    build says so in a warning."""
    handin = tmp_path / "handin"
    handin.mkdir()
    shutil.copy(FIXTURES / "handins" / "all_only" / "Makefile", handin / "Makefile")
    shutil.copy(FIXTURES / "asgn5" / "mytalk.c", handin / "mytalk.c")
    _open_to_all(tmp_path)
    out = tmp_path / "r.json"
    done = grade_in(setting, "asgn5", str(handin), "-k", "usage_no_args", "--json", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    warnings = json.loads(out.read_text())["build"]["warnings"]
    if setting == "nonamespace" and talklib.course_library() is None:
        assert len(warnings) == 1 and "CPATH" in warnings[0], warnings
    else:
        assert warnings == []


def _peeker(tmp_path: Path, report: Path) -> Path:
    """A "server" that looks for the grader's files and tries to change two of them."""
    lines = ["#!/bin/sh"]
    for p in TREASURE:
        lines.append(f"if [ -e '{p}' ]; then echo 'seen {p}' >> '{report}'; fi")
        lines.append(f"if ls '{p}' >/dev/null 2>&1; then echo 'read {p}' >> '{report}'; fi")
    for p in PLANTS:
        lines.append(f"if echo '/* planted */' >> '{p}' 2>/dev/null; then "
                     f"echo 'wrote {p}' >> '{report}'; fi")
    lines += [f"echo 'path '\"$PATH\" >> '{report}'", "exit 1"]
    program = tmp_path / "bin" / "server"
    program.parent.mkdir()
    program.write_text("\n".join(lines) + "\n")
    _open_to_all(program.parent)
    return program


@pytest.mark.parametrize("setting", SETTINGS)
def test_a_program_finds_none_of_the_graders_files(setting, tmp_path, report):
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in PLANTS}
    program = _peeker(tmp_path, report.path)
    out = tmp_path / "r.json"
    done = grade_in(setting, "minichat-server", str(program), "-k", "listens", "--json", str(out))
    assert done.returncode == 1, done.stdout + done.stderr
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in PLANTS}
    changed = [str(p) for p in PLANTS if before[p] != after[p]]
    for p in PLANTS:           # a broken view must not break the checkout for the next test
        if before[p] != after[p]:
            p.write_text(p.read_text().replace("/* planted */\n", ""))
    assert report.values("path") == [contain.SAFE_PATH]
    if setting == "nonamespace":
        notes = notes_of(out)
        assert any("within reach of student programs" in n for n in notes), notes
        return
    assert not changed
    assert report.values("seen") == [] and report.values("wrote") == [], report.lines()


@pytest.mark.parametrize("setting", SETTINGS)
def test_doctor_names_each_layer_truthfully(setting):
    done = grade_in(setting, "doctor")
    assert done.returncode == 0, done.stderr
    rows = {line[6:27].strip(): line[2:4] for line in done.stdout.splitlines()
            if line[2:4] in ("ok", "NO")}
    assert rows["sealed launcher"] == "ok", done.stdout
    if setting == "nonamespace":
        assert rows["private view"] == rows["PID namespace"] == rows["disk cap"] == "NO"
        assert rows["grader's files"] == "NO"     # the checkout is world-readable here
    else:
        assert rows["private view"] == rows["grader's files"] == rows["disk cap"] == "ok", \
            done.stdout
        assert rows["grader killed"] == "ok"


# ---- point 7: nothing a program prints reaches a terminal raw -------------------------------

TRAPS = "\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J\u202escore 60/60\x9b31m"


@pytest.mark.parametrize("setting", USERS)
def test_escapes_in_build_output_and_names_never_reach_the_terminal_raw(setting, tmp_path):
    """A handin whose directory name and build output carry a clipboard write (OSC 52), a
    clear-screen, a right-to-left override and a C1 CSI: the grader's terminal output and its
    JSON show them escaped."""
    handin = tmp_path / f"alice{TRAPS[:5]}\u202e"
    handin.mkdir()
    (handin / "Makefile").write_text(f"mytalk:\n\t@printf '{TRAPS}\\n'; exit 1\n")
    _open_to_all(tmp_path)
    out = tmp_path / "r.json"
    done = grade_in(setting, "asgn5", str(handin), "--json", str(out))
    assert done.returncode == 2, done.stdout + done.stderr        # the build failed
    for stream in (done.stdout, done.stderr):
        assert not any(c in stream for c in "\x1b\x07\u202e\x9b"), repr(stream)
    raw = out.read_bytes()
    assert b"\x1b" not in raw and "\u202e".encode() not in raw and "\x9b".encode() not in raw
    assert "\\u202escore 60/60" in raw.decode()           # escaped, still there as evidence
