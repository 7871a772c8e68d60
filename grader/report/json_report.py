"""The machine-readable run: what `--json` writes and what a batch reads back with Run.from_dict;
and interop.json, a batch's interop matrix with names exactly as they are (writer and reader)."""
from __future__ import annotations

import json
from typing import Any

from ..results import Batch, Run
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


def render_interop(batch: Batch) -> bytes:
    """interop.json: [client, server, outcome] for every pair, sorted."""
    return dumps([[c, s, outcome] for (c, s), outcome in sorted(batch.interop.items())])


def read_interop(data: bytes) -> dict[tuple[str, str], str]:
    """interop.json back into the matrix; ValueError or TypeError when it is not one."""
    return {(c, s): outcome for c, s, outcome in json.loads(data)}
