"""`grade list`: every assignment and its checks, as pytest collects them, with points."""
from __future__ import annotations

import pytest

from . import assignments
from .checks import check_id, title_of
from .runner import own_plugins_only, pytest_args


class _Items:
    def __init__(self) -> None:
        self.items: list[pytest.Item] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.items = list(session.items)


def collect() -> dict[str, list[tuple[str, str, float]]]:
    """assignment id -> [(check id, title, points)] in the order the checks run."""
    found = _Items()
    args = pytest_args(assignments.all_assignments()[0], keyword=None, transcripts=False)
    paths = [str(a.path) for a in assignments.all_assignments()]
    with own_plugins_only():
        pytest.main(paths + args[1:] + ["--collect-only"], plugins=[found])
    checks: dict[str, list[tuple[str, str, float]]] = {}
    for item in found.items:
        a = assignments.for_case_file(item.path)
        cid = check_id(item.name)
        checks.setdefault(a.id, []).append((cid, title_of(item.function, item.name),
                                            a.points.get(cid, 0)))
    return checks


def describe() -> str:
    checks = collect()
    out = []
    for a in assignments.all_assignments():
        alias = f" (alias: {', '.join(a.aliases)})" if a.aliases else ""
        out.append(f"{a.id}{alias} — {a.title}, {a.max_score:g} points")
        for cid, title, points in checks.get(a.id, []):
            out.append(f"  {points:>3g}  {cid:<28} {title}")
        out.append("")
    return "\n".join(out)
