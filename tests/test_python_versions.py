"""The code runs on the oldest Python requires-python names (3.9), checked statically.

Only one Python is installable on the CI machine, so vermin reads every module instead: a
feature newer than 3.9 (tomllib unguarded, match statements, str.removeprefix is fine at 3.9,
`X | Y` outside annotations, ...) fails this test with the file and line.
"""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from support import ROOT

MINIMUM = "3.9"


@pytest.mark.slow
def test_requires_python_is_the_minimum_vermin_finds():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(rf'^requires-python = ">={MINIMUM}"$', pyproject, re.M)
    done = subprocess.run(
        [sys.executable, "-c",
         "import sys, vermin; sys.argv[0] = 'vermin'; sys.exit(vermin.main())",
         f"-t={MINIMUM}-", "--violations", "--eval-annotations",
         "--no-tips", "--no-parse-comments", "grader", "reference", "cases", "tests"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "No module named 'vermin'" not in done.stderr, \
        "vermin is missing: install the test extras, pip install \".[test]\""
    assert done.returncode == 0, done.stdout + done.stderr


def test_tomli_is_declared_for_old_pythons():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "'tomli>=1.1; python_version < \"3.11\"'" in pyproject
