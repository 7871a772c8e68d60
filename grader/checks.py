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


def check_id(function_name: str) -> str:
    return function_name[5:] if function_name.startswith("test_") else function_name


def title_of(fn: Callable) -> str:
    doc = (fn.__doc__ or "").strip()
    return doc.splitlines()[0].strip() if doc else check_id(fn.__name__).replace("_", " ")
