"""`grade list`: every assignment and its checks, as pytest collects them, with points."""
from __future__ import annotations

from typing import Optional

from . import assignments
from .runner import collect


def describe(only: Optional[assignments.Assignment] = None) -> str:
    """Every assignment (or `only`) and its checks in run order, with points; ManifestError
    when a check has no points in its manifest."""
    checks = collect([only] if only else assignments.all_assignments())
    out = []
    for a in [only] if only else assignments.all_assignments():
        alias = f" (alias: {', '.join(a.aliases)})" if a.aliases else ""
        out.append(f"{a.id}{alias} — {a.title}, {a.max_score:g} points")
        width = max((len(c.id) for c in checks.get(a.id, [])), default=0)
        for c in checks.get(a.id, []):
            extra = f"  [{c.visibility}]" if c.visibility != "visible" else ""
            out.append(f"  {c.max_points:>3g}  {c.id:<{width}}  {c.title}{extra}")
        out.append("")
    if only is None:
        out.append("Run some checks only: grade ASSIGNMENT TARGET -k ID (or -k \"ID or ID\").")
    return "\n".join(out) + "\n"
