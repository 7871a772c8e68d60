"""ruff and mypy over the code, as configured in pyproject.toml (like vermin in
tests/test_python_versions.py): `ruff check grader reference cases tests bench`, `mypy grader`.

A finding in any file fails the test, except in the files of PENDING: modules still being
reworked when the gate was added, whose findings are listed (the test is marked xfail with
the list) until they are fixed. A pending file that has become clean fails the test too, so
that it leaves the list and stays clean.
"""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from support import ROOT

PENDING_RUFF = {
    "bench/speed.py",
    "cases/asgn5/test_server.py",
    "cases/minichat-client/test_minichat_client.py",
    "cases/minichat-server/test_minichat_server.py",
    "grader/__init__.py",
    "grader/keys.py",
    "grader/plugin.py",
    "grader/program.py",
    "grader/streams.py",
    "grader/transcript.py",
    "grader/wording.py",
    "tests/test_containment.py",
    "tests/test_fail_fast.py",
    "tests/test_python_versions.py",
}
PENDING_MYPY = {
    "grader/build.py",
    "grader/contain.py",
    "grader/doctor.py",
    "grader/plugin.py",
    "grader/program.py",
    "grader/sandbox.py",
    "grader/session.py",
    "grader/targets.py",
    "grader/transcript.py",
    "grader/waiting.py",
    "grader/wording.py",
    "grader/worker.py",
}
# path:line[:col]: what, in the concise output of both tools
FINDING = re.compile(r"^((?:grader|reference|cases|tests|bench)/[^:\s]+\.py):\d+:(?:\d+:)? (.*)$")


def _run(tool: str, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert f"No module named {tool}" not in done.stderr, \
        f"{tool} is missing: install the test extras, pip install \".[test]\""
    return done


def _judge(tool: str, done: subprocess.CompletedProcess, pending: set[str]) -> None:
    found: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        m = FINDING.match(line)
        if m and not m.group(2).startswith("note:"):
            found.setdefault(m.group(1), []).append(line)
    assert found or done.returncode == 0, done.stdout + done.stderr   # a crash, not findings
    new = {path: lines for path, lines in found.items() if path not in pending}
    assert not new, f"{tool} findings:\n" + "\n".join(line for lines in new.values()
                                                       for line in lines)
    clean = sorted(pending - set(found))
    assert not clean, f"clean under {tool} now: take {', '.join(clean)} off PENDING in " \
                      f"{__file__}"
    if found:
        count = sum(len(lines) for lines in found.values())
        pytest.xfail(f"{count} {tool} findings left in {len(found)} files being reworked:\n"
                     + "\n".join(line for path in sorted(found) for line in found[path]))


def test_ruff():
    done = _run("ruff", "check", "--no-cache", "--output-format", "concise",
                "grader", "reference", "cases", "tests", "bench")
    _judge("ruff", done, PENDING_RUFF)


def test_mypy():
    done = _run("mypy", "--cache-dir", "/dev/null", "--no-error-summary", "grader")
    _judge("mypy", done, PENDING_MYPY)
