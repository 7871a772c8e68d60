"""ruff and mypy over the code, as configured in pyproject.toml (like vermin in
tests/test_python_versions.py): `ruff check grader reference cases tests bench`, `mypy grader`.
Any finding fails the test, with the tool's own words.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from support import ROOT


def _run(tool: str, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert f"No module named {tool}" not in done.stderr, \
        f"{tool} is missing: install the test extras, pip install \".[test]\""
    return done


def test_ruff():
    done = _run("ruff", "check", "--no-cache", "--output-format", "concise",
                "grader", "reference", "cases", "tests", "bench")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_mypy():
    done = _run("mypy", "--cache-dir", "/dev/null", "grader")
    assert done.returncode == 0, done.stdout + done.stderr
