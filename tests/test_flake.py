"""A short flake run: correct programs graded repeatedly under CPU load never fail.

`python3 bench/flake.py` is the long run (200 per assignment); this is the part CI runs.
"""
import pytest

from grader.harness import assignments
from support import cpu_load, false_failures

pytestmark = pytest.mark.slow

RUNS = 20


@pytest.mark.parametrize("assignment", [a.id for a in assignments.all_assignments()])
def test_no_false_failures_under_load(assignment):
    with cpu_load(1):
        found = false_failures(assignment, RUNS)
    assert not found, "\n".join(found)
