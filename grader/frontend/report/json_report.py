"""The machine-readable run: what `--json` writes and what a batch reads back with Run.from_dict;
and interop.json, a batch's interop matrix with names exactly as they are (writer and reader)."""
from __future__ import annotations

import json
import re
from typing import Any

from ...harness.results import Batch, Run
from . import without_surrogates

# What json.dumps leaves raw but must not reach a reader raw: DEL and C1 controls, bidirectional
# overrides and isolates, line separators, noncharacters. Only strings can hold them, so a
# \uXXXX escape in their place keeps the JSON the same data.
_RAW_UNSAFE = re.compile("[\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                         "\ufffe\uffff]")


def dumps(data: Any) -> bytes:
    """Indented UTF-8 JSON that always encodes, whatever the strings hold.

    Program output decoded with surrogateescape can leave lone surrogates, which UTF-8 cannot
    represent; they become U+FFFD so one odd byte never costs a student the whole result.
    """
    text = without_surrogates(json.dumps(data, indent=2, ensure_ascii=False))
    text = _RAW_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text.encode("utf-8") + b"\n"


def render(run: Run) -> bytes:
    """The run's to_dict() as JSON."""
    return dumps(run.to_dict())


def render_interop(batch: Batch) -> bytes:
    """interop.json: [client, server, outcome] for every pair, sorted."""
    return dumps([[c, s, outcome] for (c, s), outcome in sorted(batch.interop.items())])


def read_interop(data: bytes) -> dict[tuple[str, str], str]:
    """interop.json back into the matrix; ValueError or TypeError when it is not one."""
    return {(c, s): outcome for c, s, outcome in json.loads(data)}
