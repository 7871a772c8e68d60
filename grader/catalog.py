"""`grade list`: every assignment and its checks, as pytest collects them, with points."""
from __future__ import annotations

from typing import Optional

from . import assignments
from .checks import check_id, title_of
from .runner import collect_items


def collect(only: Optional[assignments.Assignment] = None) -> dict[str, list[tuple[str, str, float]]]:
    """assignment id -> [(check id, title, points)] in the order the checks run.

    Raises assignments.ManifestError when a check has no points in its manifest.
    """
    chosen = [only] if only else assignments.all_assignments()
    checks: dict[str, list[tuple[str, str, float]]] = {}
    for item in collect_items([a.path for a in chosen]):
        a = assignments.for_case_file(item.path)
        cid = check_id(item.name)
        checks.setdefault(a.id, []).append((cid, title_of(item.function, item.name),
                                            a.points.get(cid, 0)))
    return checks


def describe(only: Optional[assignments.Assignment] = None) -> str:
    checks = collect(only)
    out = []
    for a in [only] if only else assignments.all_assignments():
        alias = f" (alias: {', '.join(a.aliases)})" if a.aliases else ""
        out.append(f"{a.id}{alias} — {a.title}, {a.max_score:g} points")
        width = max((len(cid) for cid, _, _ in checks.get(a.id, [])), default=0)
        for cid, title, points in checks.get(a.id, []):
            hidden = a.visibility_of(cid)
            extra = f"  [{hidden}]" if hidden != "visible" else ""
            out.append(f"  {points:>3g}  {cid:<{width}}  {title}{extra}")
        out.append("")
    if only is None:
        out.append("Run some checks only: grade ASSIGNMENT TARGET -k ID (or -k \"ID or ID\").")
    return "\n".join(out) + "\n"
