"""The reference programs, graded as if they were students, pass every check.

This keeps cases and references honest: a case that fails the reference is a wrong case.
"""
import pytest

from grader.harness import assignments

IDS = [a.id for a in assignments.all_assignments()]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", IDS)
def test_reference_passes_everything(grade, assignment):
    g = grade(assignment, "", "--reference")
    assert g.code == 0, g.stdout[-3000:] + g.stderr[-2000:]
    assert g.failed == set()
    assert len(g.verdicts) == len(assignments.find(assignment).points)


@pytest.mark.slow
def test_reference_as_a_command(grade):
    g = grade("minichat-server", "python3 -m reference.minichat --io select server")
    assert g.code == 0, g.stdout[-3000:]
