"""`grade list`: every assignment and its checks, as pytest collects them, with points."""
from __future__ import annotations

import textwrap
from typing import Optional

from ..harness import assignments
from ..harness.runner import collect


def describe(only: Optional[assignments.Assignment] = None, width: int = 100) -> str:
    """Every assignment (or `only`) and its checks in run order, with points, each line at
    most `width` columns (a long title goes on under itself); ManifestError when a check has
    no points in its manifest."""
    checks = collect([only] if only else assignments.all_assignments())
    out = []
    for a in [only] if only else assignments.all_assignments():
        alias = f" (alias: {', '.join(a.aliases)})" if a.aliases else ""
        out.append(_fill(f"{a.id}{alias} — {a.title}, {a.max_score:g} points", width, 4))
        column = max((len(c.id) for c in checks.get(a.id, [])), default=0)
        for c in checks.get(a.id, []):
            extra = f"  [{c.visibility}]" if c.visibility != "visible" else ""
            out.append(_fill(f"  {c.max_points:>3g}  {c.id:<{column}}  {c.title}{extra}",
                             width, 2 + 3 + 2 + column + 2))
        out.append("")
    if only is None:
        out.append(_fill("Run some checks only: grade ASSIGNMENT TARGET -k ID "
                         "(or -k \"ID or ID\").", width, 4))
    return "\n".join(out) + "\n"


def _fill(line: str, width: int, indent: int) -> str:
    """The line wrapped at `width`, what follows the first line indented by `indent`; a
    column too narrow for the words keeps them whole rather than splitting an id."""
    return textwrap.fill(line, max(width, indent + 20), subsequent_indent=" " * indent,
                         break_long_words=False, break_on_hyphens=False)
