"""The fast tier (`pytest -m "not slow"`) covers what a developer touches, and leaves the rest.

The tier is what pytest itself collects and marks, asked in a subprocess (one collection:
`-m "not slow"` keeps exactly the tests without a `slow` marker of their own, their class's
or their module's), so a test moved in or out of it changes the verdict here.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support import ROOT

PROBE = '''
import json, os

def pytest_collection_finish(session):
    with open(os.environ["TIER_PROBE_OUT"], "w") as out:
        json.dump({item.nodeid: {"fixtures": list(item.fixturenames),
                                 "marks": [m.name for m in item.iter_markers()]}
                   for item in session.items}, out)
'''

COVERED = ("test_cli.py", "test_reports.py", "test_endpoint.py", "test_wording.py")


def _collect(tmp_path: Path, *options: str) -> dict[str, dict[str, list[str]]]:
    """Node id -> {"fixtures": names, "marks": names} of every test pytest collects."""
    (tmp_path / "tier_probe.py").write_text(PROBE)
    out = tmp_path / f"collected{len(list(tmp_path.iterdir()))}.json"
    env = dict(os.environ, PYTHONPATH=str(tmp_path), TIER_PROBE_OUT=str(out))
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "tier_probe", *options], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(out.read_text())


def _file(nodeid: str) -> str:
    return nodeid.split("::")[0].rsplit("/", 1)[-1]


def test_fast_tier_covers_the_front_end_and_the_vocabulary_but_not_the_table(tmp_path):
    everything = _collect(tmp_path)
    fast = {nodeid: item for nodeid, item in everything.items() if "slow" not in item["marks"]}
    files = {_file(nodeid) for nodeid in fast}
    assert set(COVERED) <= files, set(COVERED) - files
    assert "test_verdicts.py" not in files
    assert set(fast) < set(everything)                 # the marker deselects something
    gradings = [nodeid for nodeid, item in fast.items() if "grade" in item["fixtures"]]
    assert gradings, "no end-to-end grading in the fast tier"
    asgn5 = {nodeid.split("::")[1] for nodeid in gradings if _file(nodeid) == "test_asgn5.py"}
    assert {"test_handin_naming_the_course_library_builds_with_ours",
            "test_buggy_example_loses_the_points_of_its_bugs"} <= asgn5


def test_a_misspelt_marker_is_an_error(tmp_path):
    """`@pytest.mark.slwo` would otherwise silently put a slow test in the fast tier."""
    (tmp_path / "test_misspelt.py").write_text(
        "import pytest\n\n@pytest.mark.slwo\ndef test_x():\n    pass\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"),
                           "--rootdir", str(tmp_path), "--collect-only", "-q",
                           str(tmp_path / "test_misspelt.py")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "'slwo' not found in `markers`" in done.stdout + done.stderr
