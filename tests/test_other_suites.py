"""Installing the grader (its pytest11 entry point) must not change any other pytest suite."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from support import ROOT


def _collect(tmp_path, *args: str, plugin: bool) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    # The installed entry point loads the plugin (this checkout's, first on PYTHONPATH).
    extra = [] if plugin else ["-p", "no:grader"]
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", *extra, *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


@pytest.mark.slow
def test_another_suite_keeps_its_order(tmp_path):
    for d in ("zeta", "alpha"):
        (tmp_path / d).mkdir()
        (tmp_path / d / f"test_{d}.py").write_text(
            "def test_b():\n    pass\n\ndef test_a():\n    pass\n")
    without = _collect(tmp_path, "zeta", "alpha", plugin=False)
    with_plugin = _collect(tmp_path, "zeta", "alpha", plugin=True)
    assert without[0].startswith("zeta/") and without[1].endswith("test_a")
    assert with_plugin == without


@pytest.mark.slow
def test_tests_mixed_with_cases_keep_their_places(tmp_path):
    (tmp_path / "zeta").mkdir()
    (tmp_path / "zeta" / "test_z.py").write_text("def test_b():\n    pass\n")
    cases = str(ROOT / "cases" / "udp-server")
    args = (cases, "zeta", "--student", "/bin/true")      # the cases first, as given
    with_plugin = _collect(tmp_path, *args, plugin=True)
    assert "test_z.py::test_b" in with_plugin[-1] and len(with_plugin) > 1
