"""The grader's own suite, run as a new user would, again and again while the CPU is busy.

    python3 bench/suite.py [--runs N] [--load K] [--reuse-venv]

Each run starts from nothing, as CI does: a fresh `git clone` of this repository's committed
HEAD into a temporary directory (with the project's `shared` directory beside it), a fresh
virtual environment with `pip install ".[test]"`, then the README's test command
(`.venv/bin/python -m pytest -q -n 4`), while K busy processes compete for the CPU (default 4).
Prints passed/failed per run and the failed tests' names; exits 1 if any run was not green.
--reuse-venv runs every clone's suite with this interpreter instead (no install: faster, but
not quite a new user's machine).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT
from support import cpu_load

TEST_COMMAND = ["-m", "pytest", "-q", "-n", "4", "-rfE"]   # the README's, failures listed
RUN_TIMEOUT = 3 * 3600       # one whole suite under load: far above any run seen (about 25 min)


def clean_clone(into: Path) -> Path:
    """A clone of the committed HEAD, with the project's shared directory beside it."""
    repo = into / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    shared = ROOT.parent / "shared"
    if shared.is_dir():
        (into / "shared").symlink_to(shared)
    return repo


def fresh_venv(repo: Path) -> Path:
    """The README's install in the clone; returns its interpreter."""
    subprocess.run([sys.executable, "-m", "venv", str(repo / ".venv")], check=True)
    python = repo / ".venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    ".[test]"], cwd=repo, check=True)
    return python


def counts(summary: str) -> dict[str, int]:
    """pytest's last line ("3 failed, 689 passed, 2 errors in ...") as numbers."""
    return {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|errors?|skipped)",
                                                   summary)}


def one_run(i: int, reuse_venv: bool, out=sys.stdout) -> bool:
    """One clean clone's suite; prints one line (and the failures); True when all passed."""
    with tempfile.TemporaryDirectory(prefix="suite-run-") as tmp:
        repo = clean_clone(Path(tmp))
        python = Path(sys.executable) if reuse_venv else fresh_venv(repo)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        start = time.monotonic()
        done = subprocess.run([str(python), *TEST_COMMAND], cwd=repo, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT)
        took = time.monotonic() - start
    lines = done.stdout.strip().splitlines()
    summary = lines[-1] if lines else "(no output)"
    n = counts(summary)
    failed = n.get("failed", 0) + n.get("error", 0) + n.get("errors", 0)
    green = done.returncode == 0 and failed == 0 and n.get("passed", 0) > 0
    print(f"run {i}: {n.get('passed', 0)} passed, {failed} failed, {took / 60:.1f} min"
          f"{'' if green else f'  (exit {done.returncode})'}", file=out, flush=True)
    for line in lines:
        if line.startswith(("FAILED ", "ERROR ")):
            print(f"    {line}", file=out)
    if not green and not failed:
        print("    " + "\n    ".join((done.stdout + done.stderr).strip().splitlines()[-15:]),
              file=out)
    return green


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5, help="clean-clone runs in a row")
    p.add_argument("--load", type=int, default=4, help="busy processes competing for the CPU")
    p.add_argument("--reuse-venv", action="store_true",
                   help="use this interpreter's packages instead of a fresh venv per clone")
    args = p.parse_args()
    if shutil.which("git") is None:
        sys.exit("bench/suite.py needs git")
    with cpu_load(args.load):
        green = [one_run(i + 1, args.reuse_venv) for i in range(args.runs)]
    print(f"{sum(green)} of {args.runs} clean-clone runs green under {args.load} busy "
          f"processes on {os.cpu_count()} cores")
    sys.exit(0 if all(green) else 1)


if __name__ == "__main__":
    main()
