"""How a case module declares a check: a pytest function, its docstring as title, a hint.

`@check(hint=...)` applies the registered pytest marker `check` (see plugin.py), so pytest
knows it (`pytest --markers`, --strict-markers) and the hint travels with the item.
"""
from __future__ import annotations

import re
from typing import Callable, Optional, TypeVar

import pytest

from .keys import CHECK_MARKER

F = TypeVar("F", bound=Callable)

# A check run once per role is one parametrized function: test_x[client] -> client_x.
ROLES = ("client", "server")


def check(hint: str = "", both_modes: bool = False) -> Callable[[F], F]:
    """Attach the usual cause of a failure to a check, shown to the student when it fails.

        @check(hint="skip the sender in the broadcast loop")
        def test_no_echo(...): "A message never comes back to its sender."

    both_modes: the behaviour differs with the window (end of input, a partial line, the
    close message), so a check that passes under the debugging flag runs windowed too, and
    must pass there (grader/harness/plugin.py).
    """
    def mark(fn: F) -> F:
        return getattr(pytest.mark, CHECK_MARKER)(hint=hint, both_modes=both_modes)(fn)
    return mark


def in_both_modes(item: pytest.Item) -> bool:
    """Whether the check's @check asked for a run in both modes."""
    marker: Optional[pytest.Mark] = item.get_closest_marker(CHECK_MARKER)
    return bool(marker is not None and marker.kwargs.get("both_modes"))


def hint_of(item: pytest.Item) -> str:
    """The hint its @check gave a check item ("" without one)."""
    marker: Optional[pytest.Mark] = item.get_closest_marker(CHECK_MARKER)
    if marker is None:
        return ""
    return str(marker.kwargs.get("hint", marker.args[0] if marker.args else ""))


def _split(item_name: str) -> tuple[str, str, list[str]]:
    """test_x[client-a] -> ("x", "client", ["a"]): the base, the role ("" if none), the rest."""
    base, _, param = item_name.partition("[")
    base = base[5:] if base.startswith("test_") else base
    parts = [p for p in param.rstrip("]").split("-") if p] if param else []
    role = parts.pop(0) if parts and parts[0] in ROLES else ""
    return base, role, parts


def check_id(item_name: str) -> str:
    """test_x -> x; a check run once per role, test_x[client] -> client_x.

    Any other parameter is named after the check: test_x[long] -> x_long (test_x[client-long]
    -> client_x_long), so that every id is a word `grade -k` and the manifest can name.
    """
    base, role, rest = _split(item_name)
    cid = "_".join([role, base] if role else [base])
    for part in rest:
        cid += "_" + re.sub(r"\W+", "_", part).strip("_")
    return cid


def title_of(fn: Callable, item_name: str = "") -> str:
    doc = (fn.__doc__ or "").strip()
    title = doc.splitlines()[0].strip() if doc else check_id(fn.__name__).replace("_", " ")
    _, role, rest = _split(item_name)
    if role:
        title += f" (as {role})"
    if rest:
        title += f" ({', '.join(rest)})"
    return title
