"""Run `python -m grader ARGS` and record every module first imported, and every Python file
read, after the first untrusted process started (the launcher's first start that runs a
program, not a probe).

    python tests/import_audit.py RECORD_FILE ARGS...

Each late import is a line "pid module" in RECORD_FILE (forked workers included). A module
imported after a student's program or make ran could have been changed by it on disk.
"""
from __future__ import annotations

import os
import runpy
import sys

_record = sys.argv[1]
_started = [False]
_flag = _record + ".started"     # shared by a batch's workers: one's program, another's import


def _hook(event: str, args: tuple) -> None:
    if event == "subprocess.Popen":
        argv = [str(a) for a in (args[1] or [])]
        if "--" in argv and "-P" in argv:         # the launcher starting an untrusted process
            _started[0] = True
            open(_flag, "a").close()
    elif event == "import" and _begun() and args[0] not in sys.modules:
        _note(args[0])
    elif event == "open" and str(args[0]).endswith((".py", ".pyc")) and _begun() \
            and str(args[0]) not in _loaded():
        _note(str(args[0]))        # a module's code read from disk (pytest's own imports too)


def _loaded() -> set[str]:
    """The files of the modules already imported (a traceback may read their source again)."""
    return {str(getattr(m, attr, "")) for m in list(sys.modules.values())
            for attr in ("__file__", "__cached__")}


def _begun() -> bool:
    if not _started[0] and os.path.exists(_flag):
        _started[0] = True
    return _started[0]


def _note(what: str) -> None:
    with open(_record, "a") as f:
        f.write(f"{os.getpid()} {what}\n")


sys.addaudithook(_hook)
sys.argv = ["grader", *sys.argv[2:]]
runpy.run_module("grader", run_name="__main__", alter_sys=True)
