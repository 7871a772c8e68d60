"""The machine-readable run: what `--json` writes and what a batch reads back with Run.from_dict."""
from __future__ import annotations

import json
from typing import Any

from ..results import Run
from . import without_surrogates


def dumps(data: Any) -> bytes:
    """Indented UTF-8 JSON that always encodes, whatever the strings hold.

    Program output decoded with surrogateescape can leave lone surrogates, which UTF-8 cannot
    represent; they become U+FFFD so one odd byte never costs a student the whole result.
    """
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return without_surrogates(text).encode("utf-8") + b"\n"


def render(run: Run) -> bytes:
    """The run's to_dict() as JSON."""
    return dumps(run.to_dict())
