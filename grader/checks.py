"""How a case module declares a check: a pytest function, its docstring as title, a hint."""
from __future__ import annotations

from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)


def check(hint: str = "") -> Callable[[F], F]:
    """Attach the usual cause of a failure to a check, shown to the student when it fails.

        @check(hint="skip the sender in the broadcast loop")
        def test_no_echo(...): "A message never comes back to its sender."
    """
    def mark(fn: F) -> F:
        fn.grader_hint = hint
        return fn
    return mark


def check_id(item_name: str) -> str:
    """test_x -> x; a check run once per role, test_x[client] -> client_x."""
    base, _, param = item_name.partition("[")
    base = base[5:] if base.startswith("test_") else base
    return f"{param.rstrip(']')}_{base}" if param else base


def title_of(fn: Callable, item_name: str = "") -> str:
    doc = (fn.__doc__ or "").strip()
    title = doc.splitlines()[0].strip() if doc else check_id(fn.__name__).replace("_", " ")
    _, _, param = item_name.partition("[")
    return f"{title} (as {param.rstrip(']')})" if param else title
